import { describe, expect, it } from 'vitest';
import { denyAllNetworkPolicy, quarantineName, type QuarantineTarget } from '../../../src/containment/objects.js';
import { canonicalJson, sameIntent } from '../../../src/containment/readback.js';

type Input = { incidentId: string; namespace: string; keepDnsEgress: boolean; dnsNamespace: string; dnsPodLabels: Record<string, string>; approvers: string[]; labelSelector?: QuarantineTarget['labelSelector']; appliedAt?: string };
const buildQuarantinePolicy = (i: Input) =>
  denyAllNetworkPolicy({ incidentId: i.incidentId, namespace: i.namespace, labelSelector: i.labelSelector, dns: { keep: i.keepDnsEgress, namespace: i.dnsNamespace, podLabels: i.dnsPodLabels }, approvers: i.approvers, appliedAt: i.appliedAt });
const enforcesSameRules = (desired: object, live: object | undefined) => sameIntent('NetworkPolicy', desired as never, live as never);

const base = { incidentId: '20261123-abc123', namespace: 'db', keepDnsEgress: true, dnsNamespace: 'kube-system', dnsPodLabels: { 'k8s-app': 'kube-dns' }, approvers: [] };

describe('the emergency deny-all NetworkPolicy', () => {
  it('denies all ingress and egress for the whole namespace, keeping DNS', () => {
    const policy = buildQuarantinePolicy(base);
    expect(policy.metadata.name).toBe('netpol-responder-quarantine-20261123-abc123');
    expect(policy.spec.podSelector).toEqual({});
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([]);
    expect(policy.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
    expect(policy.metadata.labels['app.kubernetes.io/managed-by']).toBe('netpol-responder');
    expect(policy.metadata.annotations['netpol-responder.io/incident']).toBe('20261123-abc123');
    expect(policy.metadata.annotations['netpol-responder.io/approved-by']).toBeUndefined();
  });

  it('selects only the scope’s pods and records approvers and time', () => {
    const policy = buildQuarantinePolicy({
      ...base,
      keepDnsEgress: false,
      labelSelector: { matchLabels: { app: 'pg' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] },
      approvers: ['U1', 'U2'],
      appliedAt: '2026-11-23T10:00:00.000Z',
    });
    expect(policy.spec.podSelector).toEqual({ matchLabels: { app: 'pg' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] });
    expect(policy.spec.egress).toEqual([]);
    expect(policy.metadata.annotations['netpol-responder.io/approved-by']).toBe('U1,U2');
    expect(policy.metadata.annotations['netpol-responder.io/applied-at']).toBe('2026-11-23T10:00:00.000Z');
  });

  it('drops empty selector parts so an empty selector means every pod', () => {
    expect(buildQuarantinePolicy({ ...base, labelSelector: { matchLabels: {}, matchExpressions: [] } }).spec.podSelector).toEqual({});
  });

  it('names fit a DNS-1123 subdomain', () => {
    expect(quarantineName('20261123-abc123')).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('compares live rules regardless of key order, defaults and metadata', () => {
    const desired = buildQuarantinePolicy(base).spec;
    const reordered = JSON.parse(JSON.stringify({ egress: desired.egress, policyTypes: ['Egress', 'Ingress'], podSelector: {} }));
    expect(enforcesSameRules(desired, reordered)).toBe(true);
    expect(enforcesSameRules(desired, { ...reordered, ingress: [{}] })).toBe(false);
    expect(enforcesSameRules(desired, { ...reordered, policyTypes: ['Ingress'] })).toBe(false);
    expect(enforcesSameRules(desired, { ...reordered, podSelector: { matchLabels: { a: 'b' } } })).toBe(false);
    expect(enforcesSameRules(desired, undefined)).toBe(false);
  });

  it('canonical JSON sorts keys at every depth and drops undefined, null and empty lists', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined, e: [], f: null } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});
