// The validate step's computation over the whole cluster, apart from its I/O: the drift report
// against Git, the connectivity delta, both policy indexes, the network tests on each side, the
// anomalous flows' verdicts and the lint findings. Pure and synchronous: on a large cluster it
// takes seconds, so the step runs it on a worker thread (src/compute).
import { compareState, type CompareMemo, type DriftReport, type IgnoreRule } from '../../drift/compare.js';
import { withoutUnsureExtras } from '../../drift/coverage.js';
import { connectivityDeltaIndexed, intendedObjects, type ConnectivityDelta } from '../../drift/delta.js';
import { livePolicies } from '../../drift/live.js';
import type { DesiredObject } from '../../git/render.js';
import type { NetTestCase } from '../../nettest/cases.js';
import { runCases, type CaseResult } from '../../nettest/run.js';
import { allowed, buildIndex, lint, type CompileMemo, type LintFinding, type LiveObjects, type PolicyIndex } from '../../policy/index.js';

export interface FlowProbe {
  src: string;
  dst: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface ValidationInput {
  live: LiveObjects;
  /** Git's desired state; absent: nothing to compare with (the live side alone is tested and linted). */
  desired?: { objects: readonly DesiredObject[]; renderProblems: number; kinds: string[]; ignore: IgnoreRule[] };
  /** The incident's anomalous connections, each asked once. */
  probes: Array<{ flow: string; probe: FlowProbe }>;
  cases: NetTestCase[];
  /** Lint findings are kept for this namespace (and cluster-wide ones). */
  namespace: string;
}

export interface ValidationComputed {
  report: DriftReport;
  note?: string;
  delta?: ConnectivityDelta;
  flows: Array<{ flow: string; live: boolean | 'unknown'; intended: boolean | 'unknown' }>;
  live: CaseResult[];
  /** The same cases against Git's policies (the live results again without Git). */
  intended: CaseResult[];
  findings: LintFinding[];
}

function verdict(index: PolicyIndex, probe: FlowProbe): boolean | 'unknown' {
  try {
    return allowed(index, probe.src, probe.dst, probe.port, probe.protocol).allowed;
  } catch {
    return 'unknown';
  }
}

const EMPTY_REPORT: DriftReport = { items: [], containment: [], ignored: 0, compared: 0, skipped: [] };

/** What a caller keeps from one validation for the next (a compute thread's, for its frozen shared objects). */
export interface ValidationMemo {
  compile?: CompileMemo;
  compare?: CompareMemo;
  /** The live objects' index (a compute thread refreshes its last one in place); it must not be changed. */
  index?: (live: LiveObjects) => PolicyIndex;
}

export function computeValidation(input: ValidationInput, memo: ValidationMemo = {}): ValidationComputed {
  let report = EMPTY_REPORT;
  let note: string | undefined;
  let intended: LiveObjects | undefined;
  let current: LiveObjects = input.live;
  if (input.desired) {
    const { objects, renderProblems, kinds, ignore } = input.desired;
    const sure = withoutUnsureExtras(compareState(livePolicies(input.live), objects, { ignore, kinds, memo: memo.compare }), renderProblems);
    report = sure.report;
    note = sure.note;
    ({ live: current, intended } = intendedObjects(input.live, objects, report));
  }
  const liveIndex = memo.index ? memo.index(current) : buildIndex(current, memo.compile).index;
  let delta: ConnectivityDelta | undefined;
  let intendedIndex: PolicyIndex | undefined;
  if (intended) {
    // The delta's work ends with the intended policies' index; none when they are live's own.
    const indexed = connectivityDeltaIndexed(current, intended, { memo: memo.compile });
    delta = indexed.delta;
    intendedIndex = indexed.intendedIndex ?? liveIndex;
  }
  const flows = input.probes.map(({ flow, probe }) => ({ flow, live: verdict(liveIndex, probe), intended: intendedIndex ? verdict(intendedIndex, probe) : ('unknown' as const) }));
  const live = runCases(liveIndex, input.cases);
  const findings = lint(liveIndex, { namespaces: [input.namespace] }).filter((f) => !f.suppressed);
  return { report, ...(note ? { note } : {}), ...(delta ? { delta } : {}), flows, live, intended: intendedIndex && intendedIndex !== liveIndex ? runCases(intendedIndex, input.cases) : live, findings };
}
