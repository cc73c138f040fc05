// Malformed, hostile and oversized AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// CiliumNetworkPolicy and Node objects: each gets an error with its field path, the object is
// left out whole, and the rest of the input is loaded unchanged.
import { describe, expect, it } from 'vitest';
import { allowed, buildIndex, loadLiveObjects, loadObjects } from '../../src/policy/index.js';
import { anp, banp, cnp, netpol, node, ns, nsNamed, pod } from '../helpers/policy.js';

const good = [ns('a'), ns('b'), pod('a', 'web', { app: 'web' }), pod('b', 'client', { app: 'client' }), netpol('a', 'ok', { podSelector: {}, ingress: [{}] })];

function expectRejected(bad: unknown, message: string | RegExp): void {
  const out = loadObjects([...good, bad].map((object, i) => ({ object, source: `doc#${i}` })));
  const errors = out.issues.filter((i) => i.severity === 'error');
  const text = errors.map((e) => e.message).join('\n');
  if (typeof message === 'string') expect(text).toContain(message);
  else expect(text).toMatch(message);
  expect(errors.every((e) => e.source === 'doc#5')).toBe(true);
  expect(out.pods.map((p) => p.name)).toEqual(['web', 'client']);
  expect(out.policies.map((p) => p.name)).toEqual(['ok']);
  expect(out.adminPolicies).toEqual([]);
  expect(out.ciliumPolicies).toEqual([]);
  expect(out.nodes).toEqual([]);
}

const subject = { namespaces: nsNamed('a') };
const rule = (r: Record<string, unknown>): unknown => anp('bad', 1, { subject, ingress: [{ action: 'Allow', from: [{ namespaces: {} }], ...r }] });
const egress = (r: Record<string, unknown>): unknown => anp('bad', 1, { subject, egress: [{ action: 'Allow', to: [{ namespaces: {} }], ...r }] });

describe('AdminNetworkPolicy and BaselineAdminNetworkPolicy', () => {
  it('priority: required, integer 0-1000', () => {
    expectRejected(anp('bad', 1001, { subject }), 'spec.priority: priority 1001 must be an integer 0-1000');
    expectRejected(anp('bad', -1, { subject }), 'spec.priority: priority -1');
    expectRejected(anp('bad', 1.5, { subject }), 'spec.priority: priority 1.5');
    expectRejected({ kind: 'AdminNetworkPolicy', metadata: { name: 'bad' }, spec: { subject } }, 'spec.priority: priority null');
    expectRejected(anp('bad', '10' as unknown as number, { subject }), 'spec.priority: priority "10"');
  });

  it('subject: exactly one of namespaces, pods', () => {
    expectRejected(anp('bad', 1, {}), 'spec.subject: subject is required');
    expectRejected(anp('bad', 1, { subject: { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } } }), 'spec.subject: subject must set exactly one of namespaces, pods (has namespaces, pods)');
    expectRejected(anp('bad', 1, { subject: { nodes: {} } }), 'spec.subject.nodes: unknown subject type "nodes"');
    expectRejected(anp('bad', 1, { subject: { namespaces: { matchLabels: { 'bad key!': 'x' } } } }), /spec\.subject\.namespaces: matchLabels: label key "bad key!"/);
  });

  it('actions: Allow, Deny, Pass; Pass only in an ANP', () => {
    expectRejected(rule({ action: 'Reject' }), 'spec.ingress[0].action: action "Reject" is not one of Allow, Deny, Pass');
    expectRejected(rule({ action: undefined }), 'spec.ingress[0].action: action null');
    expectRejected(banp({ subject, ingress: [{ action: 'Pass', from: [{ namespaces: {} }] }] }), 'spec.ingress[0].action: action "Pass" is not one of Allow, Deny (Pass exists only in AdminNetworkPolicy)');
  });

  it('a BaselineAdminNetworkPolicy must be named default', () => {
    expectRejected(banp({ subject }, 'baseline'), 'metadata.name: a BaselineAdminNetworkPolicy must be named "default" (it is a singleton), not "baseline"');
  });

  it('peers: required, one type each, egress-only types only in egress', () => {
    expectRejected(rule({ from: [] }), 'spec.ingress[0].from: from must be a list of 1-100 peers');
    expectRejected(rule({ from: undefined }), 'spec.ingress[0].from: from must be a list');
    expectRejected(rule({ from: [{}] }), 'spec.ingress[0].from[0]: peer must set exactly one of namespaces, pods');
    expectRejected(rule({ from: [{ networks: ['10.0.0.0/8'] }] }), 'spec.ingress[0].from[0].networks: unknown peer type "networks" (one of namespaces, pods)');
    expectRejected(egress({ to: [{ services: {} }] }), 'spec.egress[0].to[0].services: unknown peer type "services"');
    expectRejected(egress({ to: [{ domainNames: ['example.com'] }] }), 'spec.egress[0].to[0].domainNames: domainNames peers are not supported');
    expectRejected(rule({ from: Array.from({ length: 101 }, () => ({ namespaces: {} })) }), 'from must be a list of 1-100 peers');
  });

  it('networks: valid CIDRs, at most 25', () => {
    expectRejected(egress({ to: [{ networks: ['10.0.0.0/33'] }] }), 'spec.egress[0].to[0].networks[0]: "10.0.0.0/33" has an invalid prefix length');
    expectRejected(egress({ to: [{ networks: ['not-a-cidr'] }] }), 'spec.egress[0].to[0].networks[0]: "not-a-cidr" is not a CIDR');
    expectRejected(egress({ to: [{ networks: [] }] }), 'networks must be a list of 1-25 CIDRs');
    expectRejected(egress({ to: [{ networks: Array.from({ length: 26 }, (_, i) => `10.${i}.0.0/16`) }] }), 'networks must be a list of 1-25 CIDRs');
    expectRejected(egress({ to: [{ networks: ['10.0.0.0/8'] }], ports: [{ namedPort: 'http' }] }), 'networks/nodes peers cannot be combined with namedPort');
  });

  it('ports: one of portNumber, portRange, namedPort; ranges ordered; protocols known', () => {
    expectRejected(rule({ ports: [{ portNumber: { protocol: 'TCP', port: 0 } }] }), 'spec.ingress[0].ports[0].portNumber.port: port 0 must be a number 1-65535');
    expectRejected(rule({ ports: [{ portNumber: { protocol: 'ICMP', port: 1 } }] }), 'spec.ingress[0].ports[0].portNumber.protocol: protocol "ICMP" is not one of TCP, UDP, SCTP');
    expectRejected(rule({ ports: [{ portRange: { start: 90, end: 80 } }] }), 'spec.ingress[0].ports[0].portRange: start 90 must be less than end 80');
    expectRejected(rule({ ports: [{ portRange: { start: 80, end: 70000 } }] }), 'spec.ingress[0].ports[0].portRange.end: end 70000 must be a number 1-65535');
    expectRejected(rule({ ports: [{ portNumber: { port: 80 }, namedPort: 'x' }] }), 'spec.ingress[0].ports[0]: port must set exactly one of portNumber, portRange, namedPort (has portNumber, namedPort)');
    expectRejected(rule({ ports: [{ namedPort: 'Not_A_Name' }] }), 'spec.ingress[0].ports[0].namedPort: "Not_A_Name" is not a valid port name');
    expectRejected(rule({ ports: [] }), 'spec.ingress[0].ports: ports must be a list of 1-100 entries');
  });

  it('hostile shapes: wrong types everywhere, prototype keys, huge rule lists', () => {
    expectRejected({ kind: 'AdminNetworkPolicy', metadata: { name: 'bad' }, spec: 'x' }, 'spec: is required and must be an object');
    expectRejected(anp('bad', 1, { subject, ingress: 'all' }), 'spec.ingress: must be a list of at most 100 rules');
    expectRejected(anp('bad', 1, { subject, ingress: Array.from({ length: 101 }, () => ({ action: 'Allow', from: [{ namespaces: {} }] })) }), 'spec.ingress: must be a list of at most 100 rules');
    expectRejected(anp('bad', 1, { subject, ingress: [null] }), 'spec.ingress[0]: rule must be an object');
    expectRejected(rule({ name: 'x'.repeat(101) }), 'spec.ingress[0].name: name must be a string of at most 100 characters');
    expectRejected(JSON.parse('{"kind":"AdminNetworkPolicy","metadata":{"name":"bad"},"spec":{"priority":1,"subject":{"__proto__":{"x":1}}}}'), /spec\.subject/);
    expectRejected({ kind: 'AdminNetworkPolicy', metadata: {}, spec: { priority: 1, subject } }, 'AdminNetworkPolicy without metadata.name');
  });

  it('duplicates keep the first definition', () => {
    const out = loadObjects([anp('x', 1, { subject }), anp('x', 2, { subject })].map((object) => ({ object })));
    expect(out.adminPolicies?.map((p) => p.priority)).toEqual([1]);
    expect(out.issues[0]?.message).toBe('duplicate object; the first definition is kept');
  });
});

describe('CiliumNetworkPolicy', () => {
  const on = (spec: Record<string, unknown>): unknown => cnp('a', 'bad', { endpointSelector: {}, ...spec });
  it('rejects malformed fields with their paths', () => {
    expectRejected(cnp('a', 'bad', { ingress: [{}] }), 'spec.endpointSelector: endpointSelector is required');
    expectRejected(on({}), 'spec: must have at least one of ingress, ingressDeny, egress, egressDeny');
    expectRejected(on({ nodeSelector: {}, ingress: [{}] }), 'spec.nodeSelector: nodeSelector is only valid in a CiliumClusterwideNetworkPolicy');
    expectRejected(on({ ingress: [{ fromCIDR: ['300.0.0.0/8'] }] }), 'spec.ingress[0].fromCIDR[0]: "300.0.0.0/8" has an invalid address');
    expectRejected(on({ egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: 'x' }] }] }), 'spec.egress[0].toCIDRSet[0].except: except must be a list of CIDRs');
    expectRejected(on({ ingress: [{ fromEntities: ['everything'] }] }), 'spec.ingress[0].fromEntities[0]: unknown entity "everything"');
    expectRejected(on({ ingress: [{ toPorts: [{ ports: [{ port: '70000' }] }] }] }), 'spec.ingress[0].toPorts[0].ports[0].port: port 70000 is out of range');
    expectRejected(on({ ingress: [{ toPorts: [{ ports: [{ port: '90', endPort: 80 }] }] }] }), 'spec.ingress[0].toPorts[0].ports[0].endPort: endPort 80 must be a port number not below port 90');
    expectRejected(on({ ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'QUIC' }] }] }] }), 'spec.ingress[0].toPorts[0].ports[0].protocol: protocol "QUIC" is not one of TCP, UDP, SCTP, ANY');
    expectRejected(on({ ingressDeny: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] }), 'spec.ingressDeny[0].toPorts[0].rules: deny rules cannot have L7 rules');
    expectRejected(on({ ingress: [{ fromEndpoint: [{}] }] }), 'spec.ingress[0].fromEndpoint: unknown field "fromEndpoint" in a ingress rule');
    expectRejected(on({ egress: [{ fromEndpoints: [{}] }] }), 'spec.egress[0].fromEndpoints: unknown field');
    expectRejected(on({ enableDefaultDeny: { ingress: 'yes' }, ingress: [{}] }), 'spec.enableDefaultDeny.ingress: must be true or false');
    expectRejected(cnp('a', 'bad', { endpointSelector: { matchLabels: { app: 7 } }, ingress: [{}] }), /spec\.endpointSelector: matchLabels: label value 7/);
    expectRejected({ kind: 'CiliumNetworkPolicy', metadata: { name: 'bad', namespace: 'a' }, specs: 'x' }, 'specs: must be a list of at most 100 rule sets');
    expectRejected({ kind: 'CiliumNetworkPolicy', metadata: { name: 'bad', namespace: 'a' } }, 'spec: spec (or specs) is required');
  });

  it('specs: every rule set applies', () => {
    const p = { kind: 'CiliumNetworkPolicy', metadata: { name: 'two', namespace: 'b' }, specs: [{ endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] }, { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] }] };
    const { index } = buildIndex([...good, p].map((object) => ({ object })));
    expect(allowed(index, '1.2.3.4', 'b/client', 80).allowed).toBe(true);
    expect(allowed(index, 'a/web', 'b/client', 80).allowed).toBe(false); // fromEndpoints [{}]: namespace b only
  });
});

describe('Node objects', () => {
  it('addresses: a bounded list of {type, address}; names that are not IPs select nothing', () => {
    expectRejected({ kind: 'Node', metadata: { name: 'n' }, status: { addresses: 'x' } }, 'status.addresses: must be a list of at most 64 entries');
    expectRejected({ kind: 'Node', metadata: { name: 'n' }, status: { addresses: Array.from({ length: 65 }, () => ({ type: 'InternalIP', address: '10.0.0.1' })) } }, 'at most 64 entries');
    expectRejected({ kind: 'Node', metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP' }] } }, 'status.addresses[0]: must be an object with type and address');
    const out = loadObjects([{ object: node('n', {}, ['n.example', '10.0.0.1']) }]);
    expect(out.nodes?.[0]?.addresses.has({ family: 4, value: 0x0a000001n })).toBe(true);
  });
});

describe('live objects', () => {
  it('buildIndex takes ANP, BANP, CNP and Node lists as the API returns them (items without kind)', () => {
    const strip = (o: unknown): unknown => {
      const { kind: _kind, ...rest } = o as Record<string, unknown>;
      return rest;
    };
    const live = {
      namespaces: [ns('a'), ns('b')].map(strip),
      pods: [pod('a', 'web', { app: 'web' }), pod('b', 'client', { app: 'client' })].map(strip),
      adminNetworkPolicies: [strip(anp('deny-b', 5, { subject, ingress: [{ action: 'Deny', from: [{ namespaces: nsNamed('b') }] }] }))],
      baselineAdminNetworkPolicies: [strip(banp({ subject: { namespaces: nsNamed('b') }, egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }] }))],
      ciliumNetworkPolicies: [strip(cnp('a', 'c', { endpointSelector: {}, egress: [{ toEntities: ['world'] }] }))],
      nodes: [strip(node('n1', {}, ['10.0.0.1']))],
    };
    const { index, issues } = buildIndex(live);
    expect(issues).toEqual([]);
    expect(allowed(index, 'b/client', 'a/web', 80).allowed).toBe(false);
    expect(allowed(index, 'b/client', '8.8.8.8', 53, 'UDP').allowed).toBe(false);
    expect(allowed(index, 'a/web', '8.8.8.8', 53, 'UDP').allowed).toBe(true);
    expect(loadLiveObjects({ adminNetworkPolicies: ['nope'] }).issues[0]?.message).toBe('document is not a Kubernetes object (expected a mapping)');
  });
});
