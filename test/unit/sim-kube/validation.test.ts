import { describe, expect, it } from 'vitest';
import { resourceByName, type ResourceType } from '../../../src/sim/kube/resources.js';
import { invalid, renderFieldError } from '../../../src/sim/kube/status.js';
import { portNameErrors, validateObject } from '../../../src/sim/kube/validation.js';

const NETPOL = resourceByName('networkpolicies', 'networking.k8s.io') as ResourceType;
const NAMESPACE = resourceByName('namespaces', '') as ResourceType;
const POD = resourceByName('pods', '') as ResourceType;

function netpol(spec: unknown, name = 'p'): object {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'db' }, spec };
}

function messages(obj: unknown, rt = NETPOL): string[] {
  return validateObject(rt, obj).map(renderFieldError);
}

describe('NetworkPolicy validation', () => {
  it('accepts a realistic policy', () => {
    expect(
      messages(
        netpol({
          podSelector: { matchLabels: { app: 'postgres' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            {
              from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } }, podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
              ports: [{ protocol: 'TCP', port: 5432 }, { port: 'postgres' }, { protocol: 'UDP', port: 30000, endPort: 32767 }],
            },
          ],
          egress: [{ to: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }] }],
        }),
      ),
    ).toEqual([]);
  });

  it('accepts an empty spec (select all, defaults fill the rest)', () => {
    expect(messages(netpol(undefined))).toEqual([]);
    expect(messages(netpol({ podSelector: {} }))).toEqual([]);
  });

  const cases: Array<[string, unknown, string]> = [
    ['port above range', { ingress: [{ ports: [{ port: 70000 }] }] }, 'spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive'],
    ['port zero', { egress: [{ ports: [{ port: 0 }] }] }, 'spec.egress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive'],
    ['fractional port', { ingress: [{ ports: [{ port: 80.5 }] }] }, 'spec.ingress[0].ports[0].port: Invalid value: 80.5: must be between 1 and 65535, inclusive'],
    ['port of wrong type', { ingress: [{ ports: [{ port: true }] }] }, 'spec.ingress[0].ports[0].port: Invalid value: true: must be a port number or a port name'],
    ['named port with capitals', { ingress: [{ ports: [{ port: 'HTTP' }] }] }, 'spec.ingress[0].ports[0].port: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    ['named port too long', { ingress: [{ ports: [{ port: 'a-very-long-port-name' }] }] }, 'spec.ingress[0].ports[0].port: Invalid value: "a-very-long-port-name": must be no more than 15 characters'],
    ['named port digits only', { ingress: [{ ports: [{ port: '8080x'.slice(0, 4) }] }] }, 'spec.ingress[0].ports[0].port: Invalid value: "8080": must contain at least one letter (a-z)'],
    ['endPort below port', { ingress: [{ ports: [{ port: 9000, endPort: 8000 }] }] }, 'spec.ingress[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to `port`'],
    ['endPort without port', { ingress: [{ ports: [{ endPort: 8000 }] }] }, 'spec.ingress[0].ports[0].endPort: Required value: may not be specified when `port` is not specified'],
    ['endPort with named port', { ingress: [{ ports: [{ port: 'http', endPort: 8000 }] }] }, 'spec.ingress[0].ports[0].endPort: Forbidden: may not be specified when `port` is non-numeric'],
    ['endPort out of range', { ingress: [{ ports: [{ port: 1, endPort: 65536 }] }] }, 'spec.ingress[0].ports[0].endPort: Invalid value: 65536: must be between 1 and 65535, inclusive'],
    ['bad protocol', { ingress: [{ ports: [{ protocol: 'ICMP', port: 1 }] }] }, 'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
    ['bad selector operator', { podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } }, 'spec.podSelector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator'],
    ['values with Exists', { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } }, "spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"],
    ['In without values', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } }, "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
    ['bad matchLabels key', { podSelector: { matchLabels: { 'bad key': 'x' } } }, 'spec.podSelector.matchLabels: Invalid value: "bad key": name part must consist of alphanumeric characters'],
    ['bad CIDR', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.300/8' } }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.300/8": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ['CIDR without prefix', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1' } }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.1": must be a valid CIDR'],
    ['missing CIDR', { ingress: [{ from: [{ ipBlock: {} }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr: Required value'],
    ['missing CIDR renders without a trailing detail', { ingress: [{ from: [{ ipBlock: { cidr: '' } }] }] }, 'ipBlock.cidr: Required value'],
    ['except outside cidr', { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['192.168.0.0/24'] } }] }] }, 'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "192.168.0.0/24": must be a strict subset of `cidr`'],
    ['except equal to cidr', { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }] }] }, 'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`'],
    ['except of another family', { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['2001:db8::/64'] } }] }] }, 'must be a strict subset of `cidr`'],
    ['malformed except', { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['nope'] } }] }] }, 'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "nope": must be a valid CIDR'],
    ['empty peer', { ingress: [{ from: [{}] }] }, 'spec.ingress[0].from[0]: Required value: must specify a peer'],
    ['ipBlock with selector', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, 'spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer'],
    ['bad policy type', { policyTypes: ['Inbound'] }, 'spec.policyTypes[0]: Unsupported value: "Inbound": supported values: "Egress", "Ingress"'],
    ['too many policy types', { policyTypes: ['Ingress', 'Egress', 'Ingress'] }, 'spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes'],
    ['spec of the wrong shape', 'allow-all', 'spec: Invalid value: "allow-all": must be an object'],
    ['rules of the wrong shape', { ingress: { from: [] } }, 'spec.ingress: Invalid value: {"from":[]}: must be a list of rules'],
  ];
  it.each(cases)('rejects %s', (_label, spec, expected) => {
    const found = messages(netpol(spec));
    expect(found.some((m) => m.includes(expected)), `got ${JSON.stringify(found)}`).toBe(true);
  });

  it('checks the name as a DNS-1123 subdomain', () => {
    expect(messages(netpol({}, 'Bad_Name'))[0]).toMatch(/^metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    expect(messages(netpol({}, 'a'.repeat(254)))[0]).toMatch(/must be no more than 253 characters/);
    expect(messages(netpol({}, 'ok.name-1'))).toEqual([]);
    expect(messages({ kind: 'NetworkPolicy', metadata: {} })[0]).toBe('metadata.name: Required value: name or generateName is required');
    expect(messages({ kind: 'NetworkPolicy' })[0]).toBe('metadata: Required value: metadata is required');
  });

  it('checks labels and annotations', () => {
    const obj = { metadata: { name: 'p', labels: { app: 'x y' }, annotations: { 'bad key!': 'v' } } };
    const found = messages(obj);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^metadata.labels: Invalid value: "x y"/);
    expect(found[1]).toMatch(/^metadata.annotations: Invalid value: "bad key!"/);
    expect(messages({ metadata: { name: 'p', annotations: { a: 'x'.repeat(300 * 1024) } } })[0]).toMatch(/Too long/);
  });

  it('builds the apiserver message, bracketing several errors', () => {
    const one = invalid({ group: 'networking.k8s.io', kind: 'NetworkPolicy' }, 'p', validateObject(NETPOL, netpol({ ingress: [{ ports: [{ port: 0 }] }] })));
    expect(one.status.message).toBe('NetworkPolicy.networking.k8s.io "p" is invalid: spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive');
    expect(one.status.code).toBe(422);
    expect(one.status.details?.causes?.[0]).toEqual({ reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be between 1 and 65535, inclusive', field: 'spec.ingress[0].ports[0].port' });
    const two = invalid({ group: 'networking.k8s.io', kind: 'NetworkPolicy' }, 'p', validateObject(NETPOL, netpol({ ingress: [{ ports: [{ port: 0 }, { port: 70000 }] }] })));
    expect(two.status.message).toMatch(/is invalid: \[spec.ingress\[0\].ports\[0\].port: .*, spec.ingress\[0\].ports\[1\].port: .*\]$/);
  });

  it('never throws on arbitrary JSON', () => {
    for (const junk of [null, 1, 'x', [], { metadata: 'x' }, { metadata: { name: 5 } }, { metadata: { name: 'a' }, spec: { ingress: [null, 1, { ports: 'x', from: 'y' }] } }]) {
      expect(() => validateObject(NETPOL, junk)).not.toThrow();
      expect(validateObject(NETPOL, junk).length).toBeGreaterThan(0);
    }
  });
});

describe('namespace and pod validation', () => {
  it('requires namespace names to be DNS-1123 labels', () => {
    expect(messages({ metadata: { name: 'db' } }, NAMESPACE)).toEqual([]);
    expect(messages({ metadata: { name: 'a.b' } }, NAMESPACE)[0]).toMatch(/a lowercase RFC 1123 label/);
    expect(messages({ metadata: { name: 'x'.repeat(64) } }, NAMESPACE)[0]).toMatch(/no more than 63 characters/);
  });
  it('checks pod container ports', () => {
    expect(messages({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080, name: 'http' }] }] } }, POD)).toEqual([]);
    expect(messages({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 0 }] }] } }, POD)[0]).toMatch(/containerPort: Invalid value: 0/);
  });
});

describe('portNameErrors', () => {
  it('lists each broken rule', () => {
    expect(portNameErrors('http')).toEqual([]);
    expect(portNameErrors('-a--b-')).toEqual(['must not contain consecutive hyphens', 'must not begin or end with a hyphen']);
    expect(portNameErrors('')).toContain('must contain at least one letter (a-z)');
  });
});
