// A recorded incident for the postmortem renderers, built by the real transitions (open, approve,
// start, complete) with step results shaped as the steps record them: contain's proof, validate's
// flows, tests and diffs, a restore run with its events and, optionally, the harden step's
// connectivity. `hostile` puts markup and Mermaid-significant text in every field a person or the
// cluster controls.
import { completeStep, openIncident, recordApproval, requestApproval, startStep } from '../../src/incident/transitions.js';
import type { Incident } from '../../src/incident/model.js';
import type { PostmortemInput } from '../../src/timeline/render.js';
import type { StoredTimelineEvent, TimelineEvent } from '../../src/timeline/types.js';
import { testPlaybook } from './playbook.js';

type Obj = Record<string, unknown>;

const STEPS = `  - id: trace
    title: Trace & Audit
    action: trace
    approval: { rule: none, timeout: 1h }
  - id: validate
    title: Validate Rules
    action: validate
    approval: { rule: none, timeout: 1h }
  - id: restore
    title: Restore Safe State
    action: restore
    approval: { rule: one, timeout: 1h }
`;

export const FIXTURE_START = Date.parse('2026-11-23T10:00:00Z');
export const atS = (s: number): Date => new Date(FIXTURE_START + s * 1000);

export interface FixtureOptions {
  /** Markup, quotes and Mermaid-significant characters in names, reasons and summaries. */
  hostile?: boolean;
  /** The harden step's connectivity in the last result. */
  harden?: boolean;
  /** false: containment NOT proven (an open connection stays). */
  contained?: boolean;
  /** Stop after containment: no trace, validate or restore. */
  containOnly?: boolean;
}

export const HOSTILE = {
  pod: 'postgres-0"><img src=x onerror=alert(1)>',
  reason: '</style><script>alert("x")</script> reason: with; colons # and\nnewlines ``` fence',
  user: '<script>alert(1)</script>',
  subject: 'fix: "quoted" </title><svg onload=alert(1)>',
  huge: 'A'.repeat(200_000),
};

export function recordedIncident(options: FixtureOptions = {}): PostmortemInput {
  const h = options.hostile === true;
  const playbook = testPlaybook('one', STEPS);
  const events: TimelineEvent[] = [];
  const step = <T extends { events: TimelineEvent[]; incident: Incident }>(t: T): Incident => {
    events.push(...t.events);
    return t.incident;
  };
  const pod = h ? HOSTILE.pod : 'postgres-0';
  let incident = step(openIncident({ id: '20261123-pm0html', scope: { namespace: 'db', selector: 'app=postgres', labelSelector: { matchLabels: { app: 'postgres' } } }, requestedBy: 'UREQ', channel: 'C1', reason: h ? HOSTILE.reason : 'exfiltration to 203.0.113.66' }, playbook, atS(0)));
  const contain = playbook.steps[0]!.approval;
  const anomalies = [{ severity: 'high', title: h ? `${HOSTILE.reason}${HOSTILE.huge}` : 'db/postgres reached 203.0.113.66', probes: [{ src: `db/${pod}`, dst: '203.0.113.66', port: 443, protocol: 'TCP' }], sampleFlows: [] }];
  incident = step(requestApproval(incident, 'contain', contain, { summary: 's', pods: [{ name: pod, labels: { app: h ? '<b>postgres</b>' : 'postgres' } }], policies: [{ name: 'allow-all-egress' }], anomalies }, atS(2)));
  const approved = recordApproval(incident, 'contain', contain, 'UAPP', atS(30));
  events.push(...approved.events);
  incident = approved.incident;
  incident = step(startStep(incident, 'contain', atS(31)));
  const contained = options.contained !== false;
  const proof = {
    contained,
    pods: [`db/${pod}`],
    open: contained ? [] : ['egress -> api/orders-7c5d9b8f4c[ReplicaSet] : TCP 5432 [egress: NetworkPolicy db/allow-all-egress egress[0]]'],
    openCount: contained ? 0 : 1,
    dns: ['egress -> kube-system/kube-dns-5d78c9869d[ReplicaSet] : TCP 53,UDP 53 [egress: NetworkPolicy db/q egress[0]]'],
    issues: [],
  };
  const proven: TimelineEvent = { at: atS(33).toISOString(), type: contained ? 'containment.proven' : 'containment.not-contained', actor: 'bot', step: 'contain', summary: contained ? 'Proven by the engine: contained' : '*NOT contained: these connections stay open (1)*\n• egress -> api/orders', data: { proof } };
  const applied: TimelineEvent = { at: atS(32).toISOString(), type: 'policy.applied', actor: 'bot', step: 'contain', summary: h ? HOSTILE.user : 'Applied the quarantine', data: { objects: [{ kind: 'NetworkPolicy', metadata: { name: 'q', namespace: 'db', annotations: { note: h ? HOSTILE.subject : 'x' } } }] } };
  incident = step(completeStep(incident, 'contain', { summary: 'Contained', strategy: 'networkpolicy-exclusive', contained, proof }, [applied, proven], atS(34)));
  if (options.containOnly) return finish(incident, events, h, playbook.steps);

  const trace = { summary: 'Cause found', window: { since: atS(-86400).toISOString(), until: atS(0).toISOString() }, cause: { key: 'NetworkPolicy/db/allow-all-egress', at: atS(-60).toISOString(), confidence: 'high', why: h ? HOSTILE.subject : 'it allows the flow' }, changes: [{ key: 'NetworkPolicy/db/allow-all-egress', at: atS(-60).toISOString(), verb: 'create', actor: h ? HOSTILE.user : 'carol@shop.example', via: 'kubectl', evidence: 'audit', auditIDs: ['a1'], git: { kind: 'in-git', commit: { sha: 'abcdef1234567890', author: h ? HOSTILE.user : 'carol', subject: h ? HOSTILE.subject : 'open egress' } }, opened: ['-> x'], closed: [], opensAnomaly: true }], limits: [] };
  incident = step(requestApproval(incident, 'trace', playbook.steps[1]!.approval, { summary: 'Tracing' }, atS(39)));
  incident = step(startStep(incident, 'trace', atS(40)));
  incident = step(completeStep(incident, 'trace', trace, [{ at: atS(41).toISOString(), type: 'trace.cause', actor: 'bot', step: 'trace', summary: h ? HOSTILE.subject : 'Cause: carol created allow-all-egress' }], atS(42)));

  const tests = [
    { name: null, from: `db/${pod}`, to: '203.0.113.66', port: '443', protocol: 'TCP', expect: 'deny', origin: 'anomaly', live: 'fail', intended: 'pass', reason: '' },
    { name: null, from: 'api/orders', to: 'db/postgres', port: '5432', protocol: 'TCP', expect: 'allow', origin: 'learned', live: 'pass', intended: 'pass', reason: '' },
    { name: null, from: 'db/postgres', to: 'kube-system/kube-dns', port: '53', protocol: 'UDP', expect: 'allow', origin: 'learned', live: 'pass', intended: 'pass', reason: '' },
    { name: null, from: 'frontend/web', to: 'db/postgres', port: '5432', protocol: 'TCP', expect: 'allow', origin: 'learned', live: 'fail', intended: 'pass', reason: '' },
  ];
  const validation = {
    summary: 'drift', kind: 'validation', commits: ['shop@abc'], drift: { missing: [], extra: ['NetworkPolicy db/allow-all-egress'], modified: [{ key: 'NetworkPolicy db/allow-db-from-api', diff: 3 }], containment: [], ignored: 0, compared: 3 },
    diffs: [{ key: 'NetworkPolicy db/allow-db-from-api', lines: ['- spec.ingress[0].ports[1]: {protocol: TCP, port: 6379}', '+ spec.ingress[0].from[0]: {namespaceSelector: {}}', `~ spec.podSelector: {app: db} → {app: ${h ? '<script>x</script>' : 'postgres'}}`] }],
    exposure: [], breakage: [], severity: 'high', why: 'open', flows: [{ flow: `db/${pod} → 203.0.113.66 443/TCP`, live: true, intended: false }], tests, lint: [], limits: [],
  };
  incident = step(requestApproval(incident, 'validate', playbook.steps[2]!.approval, { summary: 'Comparing with Git' }, atS(44)));
  incident = step(startStep(incident, 'validate', atS(45)));
  incident = step(completeStep(incident, 'validate', validation, [{ at: atS(46).toISOString(), type: 'validate.summary', actor: 'bot', step: 'validate', summary: 'Drift from Git: 1 modified' }], atS(47)));

  const restore = playbook.steps[3]!.approval;
  incident = step(requestApproval(incident, 'restore', restore, { kind: 'restore-proposal', summary: 'Restore from Git' }, atS(50)));
  const restoreApproved = recordApproval(incident, 'restore', restore, 'UAPP', atS(120));
  events.push(...restoreApproved.events);
  incident = restoreApproved.incident;
  incident = step(startStep(incident, 'restore', atS(121)));
  const r = (s: number, type: TimelineEvent['type'], summary: string, data?: Obj): TimelineEvent => ({ at: atS(s).toISOString(), type, actor: 'bot', step: 'restore', summary, ...(data ? { data } : {}) });
  const restoreEvents: TimelineEvent[] = [
    r(122, 'restore.plan', 'Restore plan', { planId: 'p1', source: 'Git shop@abc', mode: 'plan', safe: true, steps: [{ n: 1, action: 'delete', key: 'NetworkPolicy db/allow-all-egress', diff: ['- spec: {egress: [{}]}'], opened: [], closed: ['db/postgres => 0.0.0.0/0'] }] }),
    r(130, 'restore.step', 'Step 1 deleted', { planId: 'p1', n: 1, action: 'delete', key: 'NetworkPolicy db/allow-all-egress', applied: 'deleted', diff: ['- spec: {egress: [{}]}', '+ nothing'], approvedBy: ['UAPP'], verification: { object: { ok: true, detail: 'gone' }, engine: { ok: true, detail: 'as planned' }, traffic: { status: 'skipped' } } }),
    r(140, 'restore.lift', 'Lifting containment'),
    { at: atS(141).toISOString(), type: 'containment.lifted', actor: 'bot', summary: 'Containment lifted' },
    r(150, 'restore.completed', 'Restored', { steps: 1 }),
  ];
  const hardenResult = options.harden ? { kind: 'hardening', delivery: { kind: 'pull-request', provider: 'github', url: h ? 'https://x.example/"><script>alert(1)</script>' : 'https://github.example/shop/policies/pull/7', number: 7, branch: 'netpol/harden', commit: 'abc', base: 'main' }, namespaces: [{ namespace: 'db', proof: { ok: true, summary: 'every learned edge allowed, nothing unobserved, anomalies denied' } }], connectivity: [
    { src: 'db/postgres', dst: '203.0.113.66', port: 443, protocol: 'TCP', kind: 'anomaly', live: false, baseline: false },
    { src: 'api/orders', dst: 'db/postgres', port: 5432, protocol: 'TCP', kind: 'learned', live: true, baseline: true },
    { src: 'frontend/web', dst: 'db/postgres', port: 5432, protocol: 'TCP', kind: 'learned', live: false, baseline: true },
  ] } : {};
  incident = step(completeStep(incident, 'restore', { summary: 'Restored from Git', ...hardenResult }, restoreEvents, atS(151)));
  events.push({ at: atS(152).toISOString(), type: 'incident.completed', actor: 'bot', summary: 'Incident completed' });
  return finish(incident, events, h, playbook.steps);
}

function finish(incident: Incident, events: TimelineEvent[], hostile: boolean, steps: ReadonlyArray<{ id: string; title: string }>): PostmortemInput {
  const timeline: StoredTimelineEvent[] = events.map((e, i) => ({ ...e, id: `${i + 1}-0` }));
  return {
    incident,
    timeline,
    stepTitles: Object.fromEntries(steps.map((s) => [s.id, hostile && s.id === 'validate' ? `Validate <i>${HOSTILE.huge.slice(0, 500)}` : s.title])),
    userNames: hostile ? { UREQ: HOSTILE.user, UAPP: 'bob"><img src=x onerror=alert(1)>' } : { UREQ: 'alice', UAPP: 'bob' },
    generatedAt: atS(200),
  };
}
