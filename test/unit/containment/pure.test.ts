// The pure parts of containment: the exclusion requirement, the objects each strategy creates,
// the strategy choice, GitOps owners and the footprint plan.
import { describe, expect, it } from 'vitest';
import { EXCLUSION_REQUIREMENT, hasExclusion, QUARANTINE_LABEL, withExclusion, withoutExclusion } from '../../../src/containment/exclusion.js';
import { FLUX_RECONCILE_ANNOTATION, gitOpsOwners, gitOpsWarning } from '../../../src/containment/gitops.js';
import { adminNetworkPolicy, ciliumNetworkPolicy, denyAllNetworkPolicy, type QuarantineTarget } from '../../../src/containment/objects.js';
import { planFootprint, type PodView, type PolicyView } from '../../../src/containment/plan.js';
import { chooseStrategy, strongerStrategies } from '../../../src/containment/strategy.js';

const target = (over: Partial<QuarantineTarget> = {}): QuarantineTarget => ({
  incidentId: '20261201-abcdef',
  namespace: 'db',
  labelSelector: { matchLabels: { app: 'postgres' } },
  dns: { keep: true, namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } },
  approvers: [],
  ...over,
});

describe('exclusion requirement', () => {
  it.each([
    ['an empty selector', {}],
    ['a null selector', null],
    ['matchLabels only', { matchLabels: { app: 'x' } }],
    ['existing expressions', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] }],
  ])('is added to %s, once, and removed leaving the rest as it was', (_name, selector) => {
    const excluded = withExclusion(selector);
    expect(hasExclusion(excluded)).toBe(true);
    expect(withExclusion(excluded)).toEqual(excluded);
    expect(excluded.matchExpressions?.filter((e) => e.key === QUARANTINE_LABEL)).toEqual([EXCLUSION_REQUIREMENT]);
    expect(withoutExclusion(excluded)).toEqual(selector ?? {});
  });

  it("keeps the owner's later edits when removed", () => {
    const excluded = withExclusion({ matchLabels: { app: 'x' } });
    const edited = { matchLabels: { app: 'x', tier: 'db' }, matchExpressions: [{ key: 'zone', operator: 'Exists' as const }, ...(excluded.matchExpressions ?? [])] };
    expect(withoutExclusion(edited)).toEqual({ matchLabels: { app: 'x', tier: 'db' }, matchExpressions: [{ key: 'zone', operator: 'Exists' }] });
  });

  it('does not mistake look-alike requirements for ours', () => {
    for (const other of [
      { key: QUARANTINE_LABEL, operator: 'Exists' },
      { key: QUARANTINE_LABEL, operator: 'DoesNotExist', values: ['x'] },
      { key: 'netpol-responder.io/quarantine-x', operator: 'DoesNotExist' },
      'garbage',
      null,
    ]) {
      const selector = { matchExpressions: [other] } as never;
      expect(hasExclusion(selector)).toBe(false);
      expect(withoutExclusion(selector)).toEqual(selector);
    }
  });
});

describe('quarantine objects', () => {
  it('deny-all NetworkPolicy: both directions, DNS only when kept', () => {
    const kept = denyAllNetworkPolicy(target());
    expect(kept.spec.podSelector).toEqual({ matchLabels: { app: 'postgres' } });
    expect(kept.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(kept.spec.ingress).toEqual([]);
    expect(kept.spec.egress).toHaveLength(1);
    expect(denyAllNetworkPolicy(target({ dns: { keep: false, namespace: 'kube-system', podLabels: {} } })).spec.egress).toEqual([]);
    expect(denyAllNetworkPolicy(target({ labelSelector: undefined })).spec.podSelector).toEqual({});
  });

  it('AdminNetworkPolicy: subject by pods or by namespace, DNS allow before the denies, every network', () => {
    const anp = adminNetworkPolicy(target(), 7);
    expect(anp.metadata).not.toHaveProperty('namespace');
    expect(anp.spec.priority).toBe(7);
    expect(anp.spec.subject).toEqual({ pods: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } }, podSelector: { matchLabels: { app: 'postgres' } } } });
    expect(anp.spec.egress.map((r) => r.action)).toEqual(['Allow', 'Deny']);
    expect(JSON.stringify(anp.spec.egress[1])).toContain('"networks":["0.0.0.0/0","::/0"]');
    expect(anp.spec.ingress).toEqual([{ name: 'netpol-responder-deny-all-ingress', action: 'Deny', from: [{ namespaces: {} }] }]);
    const wholeNamespace = adminNetworkPolicy(target({ labelSelector: undefined, dns: { keep: false, namespace: 'kube-system', podLabels: {} } }), 0);
    expect(wholeNamespace.spec.subject).toEqual({ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } } });
    expect(wholeNamespace.spec.egress.map((r) => r.action)).toEqual(['Deny']);
  });

  it('CiliumNetworkPolicy: deny all ingress; egress deny everything but kube-dns:53 when kept', () => {
    const cnp = ciliumNetworkPolicy(target());
    expect(cnp.spec.endpointSelector).toEqual({ matchLabels: { app: 'postgres' } });
    expect(cnp.spec.ingressDeny).toEqual([{ fromEntities: ['all'] }]);
    expect(cnp.spec.egress).toEqual([{ toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }, { port: '53', protocol: 'TCP' }] }] }]);
    expect(JSON.stringify(cnp.spec.egressDeny)).toContain('"endPort":52');
    const strict = ciliumNetworkPolicy(target({ dns: { keep: false, namespace: 'kube-system', podLabels: {} } }));
    expect(strict.spec.egressDeny).toEqual([{ toEntities: ['all'] }]);
    expect(strict.spec).not.toHaveProperty('egress');
  });
});

describe('strategy choice', () => {
  const none = { adminNetworkPolicy: false, ciliumNetworkPolicy: false };
  it.each([
    [{ adminNetworkPolicy: true, ciliumNetworkPolicy: true }, 'admin-network-policy'],
    [{ adminNetworkPolicy: false, ciliumNetworkPolicy: true }, 'cilium'],
    [none, 'networkpolicy-exclusive'],
  ] as const)('auto picks the first served (%j → %s) and says why', (served, expected) => {
    const decision = chooseStrategy('auto', served);
    expect(decision).toMatchObject({ ok: true, strategy: expected });
    expect(decision.ok && decision.reason).toMatch(/^auto: /);
  });

  it('refuses a strategy the cluster does not serve, with a suggestion', () => {
    expect(chooseStrategy('admin-network-policy', none)).toMatchObject({ ok: false, suggestion: 'networkpolicy-exclusive' });
    expect(chooseStrategy('cilium', { adminNetworkPolicy: true, ciliumNetworkPolicy: false })).toMatchObject({ ok: false, suggestion: 'admin-network-policy' });
    expect(chooseStrategy('networkpolicy-additive', none)).toMatchObject({ ok: true, strategy: 'networkpolicy-additive' });
  });

  it('offers stronger strategies the cluster serves', () => {
    expect(strongerStrategies('networkpolicy-additive', none)).toEqual(['networkpolicy-exclusive']);
    expect(strongerStrategies('networkpolicy-exclusive', { adminNetworkPolicy: true, ciliumNetworkPolicy: false })).toEqual(['admin-network-policy']);
  });
});

describe('GitOps owners', () => {
  it.each([
    [{ labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } }, 'flux', 'Kustomization flux-system/apps'],
    [{ labels: { 'helm.toolkit.fluxcd.io/name': 'db', 'helm.toolkit.fluxcd.io/namespace': 'db' } }, 'flux', 'HelmRelease db/db'],
    [{ managedFields: [{ manager: 'kustomize-controller' }] }, 'flux', 'Flux kustomize-controller'],
    [{ annotations: { 'argocd.argoproj.io/tracking-id': 'shop:networking.k8s.io/NetworkPolicy:db/allow' } }, 'argocd', 'Application shop'],
    [{ annotations: { 'argocd.argoproj.io/tracking-id': 'team-a_shop:networking.k8s.io/NetworkPolicy:db/allow' } }, 'argocd', 'Application team-a/shop'],
    [{ labels: { 'app.kubernetes.io/instance': 'shop' }, managedFields: [{ manager: 'argocd-controller' }] }, 'argocd', 'Application shop'],
    [{ labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'db', 'meta.helm.sh/release-namespace': 'db' } }, 'helm', 'Helm release db/db'],
  ])('recognises %j', (metadata, tool, owner) => {
    const owners = gitOpsOwners({ metadata });
    expect(owners[0]).toMatchObject({ tool, owner });
    expect(gitOpsWarning(owners[0]!, true)).toContain(owner);
  });

  it('does not call app.kubernetes.io/instance alone Argo CD, and ignores hostile metadata', () => {
    expect(gitOpsOwners({ metadata: { labels: { 'app.kubernetes.io/instance': 'x' } } })).toEqual([]);
    expect(gitOpsOwners({ metadata: null })).toEqual([]);
    expect(gitOpsOwners({ metadata: { labels: null, annotations: null, managedFields: null } })).toEqual([]);
    expect(gitOpsOwners({ metadata: { annotations: { 'argocd.argoproj.io/tracking-id': ':' } } })).toEqual([]);
  });

  it('the Flux warning names the annotation that suspends reconciliation', () => {
    expect(gitOpsWarning({ tool: 'flux', owner: 'Kustomization a/b', evidence: '' }, false)).toContain(FLUX_RECONCILE_ANNOTATION);
  });
});

describe('footprint plan', () => {
  const pod = (name: string, labels: Record<string, string>, extra: Partial<PodView> = {}): PodView => ({ metadata: { name, labels }, status: { phase: 'Running' }, ...extra });
  const policy = (name: string, spec: PolicyView['spec'], metadata: Partial<NonNullable<PolicyView['metadata']>> = {}): PolicyView => ({ metadata: { name, resourceVersion: '7', ...metadata }, spec });
  const pods = [
    pod('postgres-0', { app: 'postgres' }),
    pod('postgres-1', { app: 'postgres', [QUARANTINE_LABEL]: '20261201-abcdef' }),
    pod('cache-0', { app: 'cache' }),
    pod('postgres-old', { app: 'postgres' }, { status: { phase: 'Succeeded' } }),
    pod('postgres-host', { app: 'postgres' }, { spec: { hostNetwork: true } }),
  ];
  const policies = [
    policy('allow-all-egress', { podSelector: {}, egress: [{}], policyTypes: ['Egress'] }, { labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } }),
    policy('allow-api', { podSelector: { matchLabels: { app: 'postgres' } }, ingress: [{ from: [{ podSelector: {} }] }] }),
    policy('allow-world', { podSelector: { matchLabels: { app: 'postgres' } }, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }),
    policy('cache-only', { podSelector: { matchLabels: { app: 'cache' } }, ingress: [{}] }),
    policy('already-excluded', { podSelector: withExclusion({}) }),
    policy('netpol-responder-quarantine-x', { podSelector: {} }, { labels: { 'app.kubernetes.io/managed-by': 'netpol-responder', 'netpol-responder.io/incident': 'x' } }),
  ];

  it('exclusive: every other policy that selects a pod in scope, with its GitOps owner', () => {
    const plan = planFootprint({ incidentId: '20261201-abcdef', labelSelector: { matchLabels: { app: 'postgres' } }, pods, policies, mode: 'all-selecting' });
    expect(plan.scopePods).toEqual(['postgres-0', 'postgres-1', 'postgres-host']);
    expect(plan.podsToLabel).toEqual(['postgres-0', 'postgres-host']);
    expect(plan.hostNetworkPods).toEqual(['postgres-host']);
    expect(plan.patches.map((p) => p.name)).toEqual(['allow-all-egress', 'allow-api', 'allow-world']);
    expect(plan.patches[0]).toMatchObject({ resourceVersion: '7', gitops: [{ tool: 'flux' }] });
  });

  it('admin-network-policy: only the policies that let traffic from outside in', () => {
    const plan = planFootprint({ incidentId: '20261201-abcdef', labelSelector: { matchLabels: { app: 'postgres' } }, pods, policies, mode: 'external-ingress' });
    expect(plan.patches.map((p) => p.name)).toEqual(['allow-world']);
  });

  it('a pod held by another incident keeps its label and is reported', () => {
    const held = [pod('postgres-0', { app: 'postgres', [QUARANTINE_LABEL]: 'other' })];
    const plan = planFootprint({ incidentId: 'mine', pods: held, policies: [], mode: 'all-selecting' });
    expect(plan.podsToLabel).toEqual([]);
    expect(plan.heldByOtherIncident).toEqual([{ pod: 'postgres-0', incident: 'other' }]);
  });

  it('survives malformed objects', () => {
    const plan = planFootprint({ incidentId: 'x', pods: [{}, { metadata: null }, { metadata: { labels: null } }], policies: [{}, { spec: null }, { metadata: null, spec: { podSelector: null } }], mode: 'all-selecting' });
    expect(plan.scopePods).toHaveLength(3);
    expect(plan.patches).toHaveLength(3);
  });
});
