// Access reviews answered from the simulation's deny rules, and the pod status its "kubelet" writes.
import { describe, expect, it } from 'vitest';
import type { DenyRule } from '../../../src/sim/kube/access.js';
import { qosClass, simulatedPodStatus } from '../../../src/sim/kube/kubelet.js';
import { REVIEWS } from '../../../src/sim/kube/resources.js';
import { answerReview } from '../../../src/sim/kube/reviews.js';
import { StatusError } from '../../../src/sim/kube/status.js';

const [ACCESS, RULES, WHOAMI] = REVIEWS as [(typeof REVIEWS)[number], (typeof REVIEWS)[number], (typeof REVIEWS)[number]];
const deny: DenyRule[] = [
  { user: 'oncall', verb: 'delete', resource: 'networkpolicies', namespace: 'db' },
  { verb: 'deletecollection', resource: 'pods' },
];
const can = (attrs: Record<string, string>, rules = deny) =>
  (answerReview(ACCESS, 'oncall', rules, { spec: { resourceAttributes: attrs } }).body as { status: { allowed: boolean; denied?: boolean; reason: string } }).status;

describe('SelfSubjectAccessReview', () => {
  it('says yes when no deny rule applies and no, with the rule, when one does', () => {
    expect(can({ verb: 'create', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'db' }).allowed).toBe(true);
    const no = can({ verb: 'delete', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'db' });
    expect(no).toMatchObject({ allowed: false, denied: true });
    expect(no.reason).toContain('delete networkpolicies.networking.k8s.io in namespace "db"');
    expect(can({ verb: 'delete', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'api' }).allowed).toBe(true);
    // "" is every namespace: one denied namespace is enough for a no
    expect(can({ verb: 'delete', group: 'networking.k8s.io', resource: 'networkpolicies' }).allowed).toBe(false);
    expect(can({ verb: 'deletecollection', resource: 'pods', namespace: 'api' }).allowed).toBe(false);
  });

  it('handles wildcards, unserved kinds, subresources and unknown verbs honestly', () => {
    expect(can({ verb: '*', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'api' }).allowed).toBe(true);
    expect(can({ verb: '*', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'db' }).allowed).toBe(false);
    expect(can({ verb: 'get', group: '*', resource: '*', namespace: 'db' }).allowed).toBe(true);
    const deployments = can({ verb: 'create', group: 'apps', resource: 'deployments', namespace: 'db' });
    expect(deployments).toMatchObject({ allowed: false });
    expect(deployments.denied).toBeUndefined();
    expect(deployments.reason).toContain('does not serve deployments.apps');
    expect(can({ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'db' }).reason).toContain('no subresources');
    expect(can({ verb: 'escalate', resource: 'pods', namespace: 'db' }).reason).toContain('no verb "escalate"');
    expect(can({ verb: '', resource: 'pods' }).allowed).toBe(false);
    expect(can({ verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' }).allowed).toBe(true);
    expect(can({ verb: 'delete', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' }).allowed).toBe(false);
  });

  it('answers non-resource paths from what the server serves', () => {
    const nonResource = (path: string, verb = 'get') =>
      (answerReview(ACCESS, 'u', [], { spec: { nonResourceAttributes: { path, verb } } }).body as { status: { allowed: boolean } }).status.allowed;
    expect(nonResource('/healthz')).toBe(true);
    expect(nonResource('/apis/*')).toBe(true);
    expect(nonResource('/metrics')).toBe(false);
    expect(nonResource('/healthz', 'post')).toBe(false);
    expect(nonResource('healthz')).toBe(false);
  });

  it('refuses a review with neither or both attributes (422), a wrong kind (400) and a non-object (400)', () => {
    const code = (body: unknown): number => {
      try {
        answerReview(ACCESS, 'u', [], body);
      } catch (error) {
        if (error instanceof StatusError) return error.code;
        throw error;
      }
      return 201;
    };
    expect(code({ spec: {} })).toBe(422);
    expect(code({ spec: { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/', verb: 'get' } } })).toBe(422);
    expect(code({ kind: 'Namespace', spec: { resourceAttributes: { verb: 'get' } } })).toBe(400);
    expect(code({ apiVersion: 'authorization.k8s.io/v1beta1', spec: { resourceAttributes: { verb: 'get' } } })).toBe(400);
    expect(code([])).toBe(400);
    expect(code('x')).toBe(400);
  });
});

describe('SelfSubjectRulesReview and SelfSubjectReview', () => {
  it('lists the verbs left after the deny rules in the namespace asked about', () => {
    const rules = (ns: string) =>
      (answerReview(RULES, 'oncall', deny, { spec: { namespace: ns } }).body as { status: { resourceRules: Array<{ resources: string[]; verbs: string[] }>; incomplete: boolean } }).status;
    const netpolVerbs = (ns: string) => rules(ns).resourceRules.find((r) => r.resources[0] === 'networkpolicies')?.verbs;
    expect(netpolVerbs('db')).not.toContain('delete');
    expect(netpolVerbs('api')).toContain('delete');
    expect(rules('db').resourceRules.find((r) => r.resources[0] === 'pods')?.verbs).not.toContain('deletecollection');
    expect(rules('db').incomplete).toBe(false);
  });

  it('tells who the caller is', () => {
    expect(answerReview(WHOAMI, 'oncall', [], {}).body).toMatchObject({ kind: 'SelfSubjectReview', status: { userInfo: { username: 'oncall', groups: ['system:authenticated'] } } });
  });
});

describe('the simulated kubelet', () => {
  const pod = (spec: Record<string, unknown>, status?: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec, ...(status ? { status } : {}) });
  const at = '2026-01-01T00:00:00Z';

  it('runs a pod bound to a node: started, ready, with the usual conditions, keeping what was given', () => {
    const status = simulatedPodStatus(pod({ nodeName: 'n1', containers: [{ name: 'c', image: 'img:1' }] }, { podIP: '10.0.0.1', containerStatuses: [{ name: 'c', restartCount: 2 }] }), at);
    expect(status).toMatchObject({ phase: 'Running', podIP: '10.0.0.1', startTime: at, qosClass: 'BestEffort' });
    expect(status.containerStatuses).toEqual([{ name: 'c', image: 'img:1', imageID: '', ready: true, restartCount: 2, started: true, state: { running: { startedAt: at } }, lastState: {} }]);
    expect((status.conditions as Array<{ type: string; status: string }>).map((c) => `${c.type}=${c.status}`)).toEqual([
      'PodReadyToStartContainers=True',
      'Initialized=True',
      'Ready=True',
      'ContainersReady=True',
      'PodScheduled=True',
    ]);
  });

  it('leaves a pod without a node Pending and says why', () => {
    const status = simulatedPodStatus(pod({ containers: [{ name: 'c' }] }), at);
    expect(status.phase).toBe('Pending');
    expect(JSON.stringify(status.conditions)).toContain('no scheduler');
  });

  it('keeps a caller-given terminal phase or waiting container, and copes with junk', () => {
    expect(simulatedPodStatus(pod({ nodeName: 'n' }, { phase: 'Failed', reason: 'Evicted' }), at)).toMatchObject({ phase: 'Failed', reason: 'Evicted' });
    const waiting = simulatedPodStatus(pod({ nodeName: 'n', containers: [{ name: 'c' }] }, { containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ImagePullBackOff' } } }] }), at);
    expect(waiting.containerStatuses).toMatchObject([{ ready: false, started: false, state: { waiting: { reason: 'ImagePullBackOff' } } }]);
    expect(JSON.stringify(waiting.conditions)).toContain('"type":"Ready","status":"False"');
    expect(simulatedPodStatus({ spec: 'x', status: 7 } as never, at).phase).toBe('Pending');
    expect(simulatedPodStatus(pod({ nodeName: 'n', containers: [null, 'x', { name: 'c' }] }), at).containerStatuses).toHaveLength(1);
  });

  it('derives the QoS class from requests and limits', () => {
    expect(qosClass([{}])).toBe('BestEffort');
    expect(qosClass([{ resources: { requests: { cpu: '100m' } } }])).toBe('Burstable');
    expect(qosClass([{ resources: { limits: { cpu: '1', memory: '1Gi' } } }])).toBe('Guaranteed');
    expect(qosClass([{ resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } } }])).toBe('Burstable');
  });
});
