// The contain step's preview: one index of the objects after containment serves the predicted
// proof and the blast radius, with the same results as each computed on its own.
import { describe, expect, it } from 'vitest';
import { denyAllNetworkPolicy } from '../../src/containment/objects.js';
import { containmentPreview } from '../../src/containment/preview.js';
import { proveContainment } from '../../src/containment/proof.js';
import { blastRadius } from '../../src/playbook/steps/blast-radius.js';

const ns = (name: string) => ({ metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
const pod = (namespace: string, name: string, labels: Record<string, string>) => ({ metadata: { namespace, name, labels }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Running' } });
const dns = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
const allowFromApi = {
  metadata: { namespace: 'db', name: 'allow-api' },
  spec: { podSelector: { matchLabels: { app: 'pg' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } } }], ports: [{ port: 5432 }] }] },
};

function scenario(policies: unknown[]) {
  const live = { namespaces: [ns('db'), ns('api'), ns('kube-system')], pods: [pod('db', 'pg', { app: 'pg' }), pod('api', 'orders', { app: 'orders' }), pod('kube-system', 'dns', { 'k8s-app': 'kube-dns' })], networkPolicies: policies };
  const created = denyAllNetworkPolicy({ incidentId: '20261202-preview', namespace: 'db', dns: { keep: true, ...dns }, approvers: [] });
  const after = { ...live, networkPolicies: [...policies, created] };
  return { before: live, after, created: [created], scopePods: [{ namespace: 'db', name: 'pg' }], scope: { namespace: 'db' }, dns };
}

describe('containmentPreview', () => {
  it('gives what proveContainment and blastRadius give on their own (an allow rule kept open by the additive deny-all)', () => {
    const input = scenario([allowFromApi]);
    const preview = containmentPreview(input);
    expect(preview.predicted).toEqual(proveContainment(input.after, input.scope, dns));
    expect(preview.radius).toEqual(blastRadius(input));
    expect(preview.predicted.contained).toBe(false);
    expect(preview.radius).toMatchObject({ stillAllowedCount: 1 });
  });

  it('nothing else selects the scope: contained, every connection of the scope cut but DNS', () => {
    const input = scenario([]);
    const preview = containmentPreview(input);
    expect(preview.predicted.contained).toBe(true);
    expect(preview.radius).toMatchObject({ stillAllowedCount: 0 });
    expect((preview.radius as { cutCount: number }).cutCount).toBeGreaterThan(0);
  });

  it('a blast radius that cannot be computed leaves the proof, and says why', () => {
    const input = { ...scenario([]), scopePods: null as never };
    const preview = containmentPreview(input);
    expect(preview.predicted.contained).toBe(true);
    expect(preview.radius).toEqual({ error: expect.stringMatching(/not iterable|null/) });
  });
});
