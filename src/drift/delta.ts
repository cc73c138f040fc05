// What a drift does to connectivity: the policy engine evaluates the live policies and the
// intended ones (live with every compared policy as Git declares it) over the same live pods.
// Exposure: connections open now that the intent does not allow. Breakage: connections the
// intent allows that are closed now. Both sides leave out the bot's containment, so a quarantine
// in force is neither. Pure.
import { hasExclusion, withoutExclusion } from '../containment/exclusion.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../containment/objects.js';
import { buildIndex, ClassConnectivity, diffConnectivity, loadLiveObjects, POLICY_LIST_OF_KIND as LIST_OF_KIND, type ClusterObjects, type CompileMemo, type ConnectionChange, type ConnectivityDiff, type LiveObjects, type PolicyIndex } from '../policy/index.js';
import { formatIpRange, parseIp, type IpFamily } from '../policy/ip-set.js';
import { globMatches, keyString, objectKeyOf, type DesiredInput, type DriftReport } from './compare.js';
import type { DeltaSummary } from './episode.js';

type Obj = Record<string, unknown>;

export interface DeltaLine {
  src: string;
  dst: string;
  /** The connections concerned, e.g. `TCP 5432` or `All Connections`. */
  conns: string;
  /** One end is an address range outside the cluster. */
  external: boolean;
  /** Both ends are workloads, in different namespaces. */
  crossNamespace: boolean;
}

export interface ConnectivityDelta {
  exposure: DeltaLine[];
  breakage: DeltaLine[];
  severity: 'high' | 'medium' | 'low';
  why: string;
}

type PolicyKind = keyof typeof LIST_OF_KIND;
type PolicyList = (typeof LIST_OF_KIND)[PolicyKind];

function isRecord(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isPolicyKind(kind: string): kind is PolicyKind {
  return Object.prototype.hasOwnProperty.call(LIST_OF_KIND, kind);
}

function isOurs(obj: unknown): boolean {
  const labels = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata.labels : undefined;
  return isRecord(labels) && labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** The policy without the bot's exclusion (the same object when it has none). */
function withoutOurExclusion(kind: PolicyKind, obj: unknown): unknown {
  if (kind !== 'NetworkPolicy' || !isRecord(obj) || !isRecord(obj.spec) || !hasExclusion(obj.spec.podSelector)) return obj;
  return { ...obj, spec: { ...obj.spec, podSelector: withoutExclusion(obj.spec.podSelector) } };
}

/**
 * The live policies without the bot's containment, and the intended ones: those with every
 * drifted policy of the report as Git declares it (missing ones added, extra ones removed,
 * modified ones replaced). Objects the report does not name (in sync, ignored, of kinds Git does
 * not manage) stay as live. Both share the live namespaces, pods and nodes.
 */
export function intendedObjects(live: LiveObjects, desired: readonly DesiredInput[], report: DriftReport): { live: LiveObjects; intended: LiveObjects } {
  const desiredByKey = new Map<string, Obj>();
  for (const d of desired) {
    const key = isRecord(d) ? objectKeyOf(d.object, d.namespace) : undefined;
    if (key) desiredByKey.set(keyString(key), d.object);
  }
  const current: LiveObjects = { ...live };
  const intended: LiveObjects = { ...live };
  const lists = new Map<PolicyList, Map<string, unknown>>();
  for (const [kind, list] of Object.entries(LIST_OF_KIND) as Array<[PolicyKind, PolicyList]>) {
    const clean = (live[list] ?? []).filter((o) => !isOurs(o)).map((o) => withoutOurExclusion(kind, o));
    current[list] = clean;
    const byKey = new Map<string, unknown>();
    clean.forEach((o, i) => {
      const key = objectKeyOf(isRecord(o) ? { ...o, kind } : o);
      byKey.set(key ? keyString(key) : `#${i}`, o);
    });
    lists.set(list, byKey);
  }
  for (const item of report.items) {
    if (!isPolicyKind(item.key.kind)) continue; // not modelled by the engine (CiliumClusterwideNetworkPolicy)
    const byKey = lists.get(LIST_OF_KIND[item.key.kind]) as Map<string, unknown>;
    const id = keyString(item.key);
    if (item.status === 'extra') byKey.delete(id);
    else byKey.set(id, withoutOurExclusion(item.key.kind, desiredByKey.get(id) ?? item.desired));
  }
  for (const [list, byKey] of lists) intended[list] = [...byKey.values()];
  return { live: current, intended };
}

const EXTERNAL = '[External]';
/** Adjacent address blocks with the same connections are one line: an alert lists what changed, not every ipBlock boundary. */
const CONNECTIVITY = { externalRanges: 'merged' } as const;

function namespaceOf(endpoint: string): string | undefined {
  if (endpoint.endsWith(EXTERNAL)) return undefined;
  const slash = endpoint.indexOf('/');
  return slash > 0 ? endpoint.slice(0, slash) : undefined;
}

function lineOf(change: ConnectionChange, conns: string): DeltaLine {
  const src = namespaceOf(change.src);
  const dst = namespaceOf(change.dst);
  return {
    src: change.src,
    dst: change.dst,
    conns,
    external: change.src.endsWith(EXTERNAL) || change.dst.endsWith(EXTERNAL),
    crossNamespace: src !== undefined && dst !== undefined && src !== dst,
  };
}

interface Range {
  family: number;
  start: bigint;
  end: bigint;
}

function rangeOf(endpoint: string): Range | undefined {
  if (!endpoint.endsWith(EXTERNAL)) return undefined;
  const text = endpoint.slice(0, -EXTERNAL.length);
  const dash = text.indexOf('-');
  const start = parseIp(text.slice(0, dash));
  const end = parseIp(text.slice(dash + 1));
  return start && end && start.family === end.family ? { family: start.family, start: start.value, end: end.value } : undefined;
}

/**
 * Joins lines that differ only by adjacent address ranges (the engine cuts the outside world at
 * every ipBlock boundary of both sides, which for an alert is noise): one line per workload,
 * direction, connections and contiguous range.
 */
function coalesce(lines: DeltaLine[]): DeltaLine[] {
  const out: DeltaLine[] = [];
  const open = new Map<string, { line: DeltaLine; range: Range; index: number }>();
  for (const line of lines) {
    const externalSrc = rangeOf(line.src);
    const range = externalSrc ?? rangeOf(line.dst);
    if (!range) {
      out.push(line);
      continue;
    }
    const group = `${externalSrc ? `> ${line.dst}` : `< ${line.src}`} ${line.conns} ${range.family}`;
    const prev = open.get(group);
    if (prev && prev.range.end + 1n === range.start) {
      prev.range.end = range.end;
      const joined = `${formatIpRange(range.family as IpFamily, prev.range.start, range.end)}${EXTERNAL}`;
      prev.line = externalSrc ? { ...prev.line, src: joined } : { ...prev.line, dst: joined };
      out[prev.index] = prev.line;
      continue;
    }
    open.set(group, { line, range: { ...range }, index: out.length });
    out.push(line);
  }
  return out;
}

function samePolicies(a: LiveObjects, b: LiveObjects): boolean {
  return Object.values(LIST_OF_KIND).every((list) => {
    const x = a[list] ?? [];
    const y = b[list] ?? [];
    return x.length === y.length && x.every((o, i) => o === y[i]);
  });
}

/** Up to this many changed NetworkPolicies are applied to the live index one by one; more, and a second index is built. */
const INCREMENTAL_LIMIT = 20;

function splitByIdentity(a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): { common: unknown[]; onlyA: unknown[]; onlyB: unknown[] } {
  const inA = new Set(a ?? []);
  const inB = new Set(b ?? []);
  return { common: (a ?? []).filter((o) => inB.has(o)), onlyA: (a ?? []).filter((o) => !inB.has(o)), onlyB: (b ?? []).filter((o) => !inA.has(o)) };
}

function withPolicies(base: ClusterObjects, extra: ClusterObjects): ClusterObjects {
  return {
    ...base,
    policies: [...base.policies, ...extra.policies],
    adminPolicies: [...(base.adminPolicies ?? []), ...(extra.adminPolicies ?? [])],
    ciliumPolicies: [...(base.ciliumPolicies ?? []), ...(extra.ciliumPolicies ?? [])],
    issues: [...base.issues, ...extra.issues],
  };
}

/** What the intent changes, and the intended policies' index the work ended with. */
interface Change {
  diff: ConnectivityDiff;
  intendedIndex: PolicyIndex;
}

/**
 * Connections the intent does not have (opened) and the intent's that are gone (closed). Both
 * sides usually share their pods and all but a few policies (the same objects): those are
 * compiled once, and a handful of changed NetworkPolicies is applied to the live index
 * incrementally (which then is the intended one). With 10k policies, compiling and indexing
 * everything twice is most of the cost.
 */
function connectivityChange(live: LiveObjects, intended: LiveObjects, memo?: CompileMemo): Change {
  const both = (intendedIndex: PolicyIndex, liveIndex: PolicyIndex): Change => ({ diff: diffConnectivity(intendedIndex, liveIndex, CONNECTIVITY), intendedIndex });
  const sameWorld = live.namespaces === intended.namespaces && live.pods === intended.pods && live.nodes === intended.nodes;
  if (!sameWorld) return both(buildIndex(intended, memo).index, buildIndex(live, memo).index);
  const lists = Object.values(LIST_OF_KIND);
  const split = new Map(lists.map((list) => [list, splitByIdentity(live[list], intended[list])]));
  const part = (which: 'common' | 'onlyA' | 'onlyB'): LiveObjects => Object.fromEntries(lists.map((list) => [list, split.get(list)?.[which] ?? []]));
  const base = loadLiveObjects({ namespaces: live.namespaces, pods: live.pods, nodes: live.nodes, ...part('common') }, memo);
  const onlyLive = loadLiveObjects(part('onlyA'), memo);
  const onlyIntended = loadLiveObjects(part('onlyB'), memo);
  const networkPoliciesOnly = lists.every((list) => list === 'networkPolicies' || (live[list] ?? []).length + (intended[list] ?? []).length === 0);
  const liveObjects = withPolicies(base, onlyLive);
  if (!networkPoliciesOnly || onlyLive.policies.length + onlyIntended.policies.length > INCREMENTAL_LIMIT) {
    return both(buildIndex(withPolicies(base, onlyIntended)).index, buildIndex(liveObjects).index);
  }
  const { index } = buildIndex(liveObjects);
  const classes = new ClassConnectivity(index, CONNECTIVITY);
  const liveConnections = classes.toConnections();
  const replaced = new Set(onlyIntended.policies.map((p) => `${p.namespace}/${p.name}`));
  for (const p of onlyLive.policies) if (!replaced.has(`${p.namespace}/${p.name}`)) classes.applyChange(index.removePolicy(p.namespace, p.name));
  for (const p of onlyIntended.policies) classes.applyChange(index.upsertPolicy(p));
  return { diff: diffConnectivity(classes.toConnections(), liveConnections), intendedIndex: index };
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function explain(exposure: DeltaLine[], breakage: DeltaLine[]): Pick<ConnectivityDelta, 'severity' | 'why'> {
  const external = exposure.filter((l) => l.external).length;
  const cross = exposure.filter((l) => l.crossNamespace).length;
  const broken = breakage.length > 0 ? `; ${count(breakage.length, 'connection')} Git allows ${breakage.length === 1 ? 'is' : 'are'} closed` : '';
  if (external > 0 || cross > 0) {
    const reach = [external > 0 ? `${external} with an address outside the cluster` : '', cross > 0 ? `${cross} across namespaces` : ''].filter(Boolean).join(' and ');
    return { severity: 'high', why: `${count(exposure.length, 'connection')} Git does not allow ${exposure.length === 1 ? 'is' : 'are'} open (${reach})${broken}.` };
  }
  if (exposure.length > 0) return { severity: 'medium', why: `${count(exposure.length, 'connection')} Git does not allow ${exposure.length === 1 ? 'is' : 'are'} open, within ${exposure.length === 1 ? 'its' : 'their'} namespace${broken}.` };
  if (breakage.length > 0) return { severity: 'medium', why: `${count(breakage.length, 'connection')} Git allows ${breakage.length === 1 ? 'is' : 'are'} closed; nothing Git forbids is open.` };
  return { severity: 'low', why: 'The drift changes no connection between the live pods.' };
}

/**
 * Exposure and breakage of the live policies against the intended ones, over the same pods.
 * `namespaces` (globs) keeps the lines with an end in one of them. `memo`: see CompileMemo (a
 * compute thread's, for its frozen objects).
 */
export function connectivityDelta(live: LiveObjects, intended: LiveObjects, options: DeltaOptions = {}): ConnectivityDelta {
  return connectivityDeltaIndexed(live, intended, options).delta;
}

interface DeltaOptions {
  namespaces?: readonly string[];
  memo?: CompileMemo;
}

/**
 * connectivityDelta, with the intended policies' index its work ended with: undefined when they
 * are the very same objects as live's (the live index answers for both).
 */
export function connectivityDeltaIndexed(live: LiveObjects, intended: LiveObjects, options: DeltaOptions = {}): { delta: ConnectivityDelta; intendedIndex?: PolicyIndex } {
  let exposure: DeltaLine[] = [];
  let breakage: DeltaLine[] = [];
  let intendedIndex: PolicyIndex | undefined;
  if (!samePolicies(live, intended)) {
    // before = intended, after = live: what the drift opened and what it closed.
    const change = connectivityChange(live, intended, options.memo);
    intendedIndex = change.intendedIndex;
    exposure = coalesce(change.diff.opened.map((c) => lineOf(c, c.opened.toString())));
    breakage = coalesce(change.diff.closed.map((c) => lineOf(c, c.closed.toString())));
  }
  const globs = options.namespaces;
  if (globs) {
    const touches = (l: DeltaLine): boolean => [l.src, l.dst].some((e) => {
      const ns = namespaceOf(e);
      return ns !== undefined && globs.some((g) => globMatches(g, ns));
    });
    exposure = exposure.filter(touches);
    breakage = breakage.filter(touches);
  }
  return { delta: { exposure, breakage, ...explain(exposure, breakage) }, ...(intendedIndex ? { intendedIndex } : {}) };
}

/**
 * An episode's delta as it is stored and shown: the report's drifted objects put back as Git
 * declares them, against live. Two whole-cluster connectivities on a large cluster: the monitor
 * runs it on a compute thread (the `driftDelta` task).
 */
export function driftDelta(input: { live: LiveObjects; desired: readonly DesiredInput[]; report: DriftReport }, memo?: CompileMemo): DeltaSummary {
  const { live: current, intended } = intendedObjects(input.live, input.desired, input.report);
  const namespaces = [...new Set(input.report.items.map((i) => i.key.namespace).filter((n): n is string => n !== undefined))];
  const delta = connectivityDelta(current, intended, { memo, ...(namespaces.length > 0 && input.report.items.every((i) => i.key.namespace) ? { namespaces } : {}) });
  const line = (l: DeltaLine): string => `${l.src} → ${l.dst} ${l.conns}`;
  return { exposure: delta.exposure.map(line), breakage: delta.breakage.map(line), severity: delta.severity, why: delta.why };
}
