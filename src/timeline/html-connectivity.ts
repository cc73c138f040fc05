// The scope's connectivity before, during and after the incident, as three small SVG graphs with
// the same nodes in the same places: sources on the left, the scope in the middle, destinations on
// the right. Edges are the learned connections and the anomaly's flows, each open, closed or
// unknown in a phase, from what the incident recorded:
// - before: as observed before containment (flowing), refined by validate's verdicts on the live
//   policies without containment;
// - during: contain's proof (contained: everything closed but the DNS the quarantine keeps; not
//   contained: the connections the proof lists stay open);
// - after: the harden step's connectivity (the baseline's verdicts) when there is one, else
//   validate's verdicts on Git's policies once a restore completed.
// A phase without data says so. Pure: incident and timeline in, model out, model to SVG.
import type { Incident } from '../incident/model.js';
import { num, txt } from './html-text.js';
import type { TimelineEvent } from './types.js';

type Obj = Record<string, unknown>;
export type Phase = 'before' | 'during' | 'after';
export type EdgeKind = 'learned' | 'anomaly' | 'dns' | 'other';
export type EdgeState = 'open' | 'closed' | 'unknown';

export interface GraphEdge { src: string; dst: string; port: string; protocol: string; kind: EdgeKind }
export interface PhaseEdge extends GraphEdge { state: EdgeState; why: string }
export interface PhaseView {
  phase: Phase;
  heading: string;
  /** Where the phase's verdicts come from; undefined edges: no data for this phase. */
  source: string;
  edges?: PhaseEdge[];
}
export interface GraphNode { id: string; column: 0 | 1 | 2; row: number; title: string }
export interface ConnectivityModel { nodes: GraphNode[]; phases: PhaseView[]; moreNodes: number; moreEdges: number }

export const GRAPH = { width: 560, box: 150, boxH: 22, row: 30, top: 34, maxRows: 20, maxEdges: 150, columns: [10, 205, 400] } as const;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 && x.length <= 300 ? x : typeof x === 'number' ? String(x) : undefined);
// Kubernetes' generated name suffixes (pod-template-hash, then a pod's own 5 characters).
const HASH = '[bcdfghjklmnpqrstvwxz2-9]';
const REPLICA_SET = new RegExp(`-${HASH}{6,10}\\[ReplicaSet\\]$`);
const DEPLOYMENT_POD = new RegExp(`^([^/\\s]+/[^\\s]+)-${HASH}{6,10}-${HASH}{5}$`);
/** `db/x-6d4cf56db6[ReplicaSet]` and the pod `db/x-6d4cf56db6-2xk9p` → `db/x`; other kinds lose the `[Kind]`. */
const bare = (id: string): string => id.trim().replace(REPLICA_SET, '').replace(/\[[^\]]*\]$/, '').replace(DEPLOYMENT_POD, '$1');

function results(incident: Incident): Obj[] {
  const order = Array.isArray(incident.stepOrder) ? incident.stepOrder : [];
  return order.map((id) => incident.steps?.[id]?.result as unknown).filter(isObj);
}

interface Verdicts { live?: boolean; intended?: boolean }
interface Collected { edge: GraphEdge; verdicts: Verdicts; harden?: { live: boolean | null; baseline: boolean | null } }

/** `db/postgres-0 → 203.0.113.66 443/TCP` (validate's flows). */
function parseFlow(text: string): GraphEdge | undefined {
  const m = /^(\S+) → (\S+) (\d+)\/(\w+)$/.exec(text);
  return m ? { src: m[1] as string, dst: m[2] as string, port: m[3] as string, protocol: m[4] as string, kind: 'anomaly' } : undefined;
}

/** `egress -> kube-system/kube-dns-5d[ReplicaSet] : TCP 53,UDP 53 [...]` (contain's proof). */
function parseProofLine(text: string): { direction: 'egress' | 'ingress'; peer: string; conns: string } | undefined {
  const m = /^(egress|ingress) (?:->|<-) (\S+) : ([^[]+)/.exec(text);
  return m ? { direction: m[1] as 'egress' | 'ingress', peer: bare(m[2] as string), conns: (m[3] as string).trim() } : undefined;
}

function passToOpen(expect: unknown, verdict: unknown): boolean | undefined {
  if (verdict !== 'pass' && verdict !== 'fail') return undefined;
  if (expect === 'allow') return verdict === 'pass';
  if (expect === 'deny') return verdict === 'fail';
  return undefined;
}

export function connectivityModel(incident: Incident, timeline: readonly TimelineEvent[]): ConnectivityModel {
  const all = results(incident);
  const collected = new Map<string, Collected>();
  const keyOf = (e: GraphEdge): string => `${e.src}|${e.dst}|${e.port}|${e.protocol.toUpperCase()}`;
  const add = (edge: GraphEdge, verdicts: Verdicts = {}, harden?: Collected['harden']): void => {
    const key = keyOf(edge);
    const found = collected.get(key);
    if (found) {
      found.verdicts = { ...verdicts, ...found.verdicts };
      if (harden) found.harden = harden;
      if (edge.kind === 'anomaly') found.edge.kind = 'anomaly';
      return;
    }
    collected.set(key, { edge: { ...edge, protocol: edge.protocol.toUpperCase() }, verdicts, ...(harden ? { harden } : {}) });
  };

  const harden = all.find((r) => Array.isArray(r.connectivity));
  for (const c of (harden?.connectivity as unknown[] | undefined) ?? []) {
    if (!isObj(c)) continue;
    const src = str(c.src), dst = str(c.dst), port = str(c.port), protocol = str(c.protocol);
    if (!src || !dst || !port || !protocol) continue;
    add({ src, dst, port, protocol, kind: c.kind === 'anomaly' ? 'anomaly' : 'learned' }, {}, { live: typeof c.live === 'boolean' ? c.live : null, baseline: typeof c.baseline === 'boolean' ? c.baseline : null });
  }
  const validation = all.find((r) => r.kind === 'validation');
  for (const t of Array.isArray(validation?.tests) ? validation.tests : []) {
    if (!isObj(t) || (t.origin !== 'learned' && t.origin !== 'anomaly')) continue;
    const src = str(t.from), dst = str(t.to), port = str(t.port), protocol = str(t.protocol);
    if (!src || !dst || !port || !protocol) continue;
    add({ src, dst, port, protocol, kind: t.origin }, { live: passToOpen(t.expect, t.live), intended: passToOpen(t.expect, t.intended) });
  }
  for (const f of Array.isArray(validation?.flows) ? validation.flows : []) {
    const edge = isObj(f) && typeof f.flow === 'string' ? parseFlow(f.flow) : undefined;
    if (edge && isObj(f)) add(edge, { ...(typeof f.live === 'boolean' ? { live: f.live } : {}), ...(typeof f.intended === 'boolean' ? { intended: f.intended } : {}) });
  }
  const order = Array.isArray(incident.stepOrder) ? incident.stepOrder : [];
  const evidences = order.map((id) => incident.steps?.[id]?.evidence as unknown).filter(isObj);
  for (const ev of evidences) {
    for (const a of Array.isArray(ev.anomalies) ? ev.anomalies : []) {
      for (const p of isObj(a) && Array.isArray(a.probes) ? a.probes : []) {
        if (!isObj(p)) continue;
        const src = str(p.src), dst = str(p.dst), port = str(p.port), protocol = str(p.protocol);
        if (src && dst && port && protocol) add({ src, dst, port, protocol, kind: 'anomaly' });
      }
    }
  }
  const contain = all.find((r) => isObj(r.proof));
  const proof = contain?.proof as Obj | undefined;
  const dnsLines = (Array.isArray(proof?.dns) ? proof.dns : []).filter((l): l is string => typeof l === 'string').map(parseProofLine).filter((l) => l !== undefined);
  const openLines = (Array.isArray(proof?.open) ? proof.open : []).filter((l): l is string => typeof l === 'string').map(parseProofLine).filter((l) => l !== undefined);

  // The scope: its pods as the proof and the evidence name them.
  const scopePods = new Set<string>();
  for (const p of Array.isArray(proof?.pods) ? proof.pods : []) if (typeof p === 'string') scopePods.add(p);
  const namespace = typeof incident.scope?.namespace === 'string' ? incident.scope.namespace : '';
  for (const ev of evidences) for (const p of Array.isArray(ev.pods) ? ev.pods : []) if (isObj(p) && typeof p.name === 'string') scopePods.add(`${namespace}/${p.name}`);
  const scopeId = [...scopePods].sort()[0] ?? (namespace ? `${namespace}/${incident.scope?.selector ?? '*'}` : 'scope');
  for (const line of [...dnsLines.map((l) => ({ ...l, kind: 'dns' as const })), ...openLines.map((l) => ({ ...l, kind: 'other' as const }))]) {
    const port = /(?:TCP|UDP|SCTP) (\d+)/.exec(line.conns)?.[1] ?? '*';
    const protocol = /(TCP|UDP|SCTP)/.exec(line.conns)?.[1] ?? 'ANY';
    const edge = line.direction === 'egress' ? { src: scopeId, dst: line.peer, port, protocol, kind: line.kind } : { src: line.peer, dst: scopeId, port, protocol, kind: line.kind };
    // Added only when no learned or anomalous edge already stands for it (matched below by peer).
    const peerMatches = [...collected.values()].some((c) => (line.direction === 'egress' ? sameWorkload(c.edge.dst, line.peer) : sameWorkload(c.edge.src, line.peer)) && (line.kind !== 'dns' || c.edge.port === '53'));
    if (!peerMatches) add(edge);
  }

  // One node per workload: a pod name folds into a known workload name it extends (`db/x-0` → `db/x`).
  const raw = new Set<string>([...scopePods]);
  for (const c of collected.values()) raw.add(bare(c.edge.src)).add(bare(c.edge.dst));
  const names = [...raw].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const canon = new Map<string, string>();
  for (const n of names) canon.set(n, names.find((w) => w !== n && n.startsWith(`${w}-`)) ?? n);
  const node = (id: string): string => canon.get(bare(id)) ?? bare(id);
  const scopeNodes = new Set([...scopePods].map(node));
  const inScope = (id: string): boolean => scopeNodes.has(id) || (scopeNodes.size === 0 && !incident.scope?.selector && id.startsWith(`${namespace}/`));

  // The scope's connections only (a learned edge between two other workloads is not about it).
  // A connection recorded by pod (validate) and by workload (harden) is one edge once folded.
  const merged = new Map<string, Collected>();
  for (const c of collected.values()) {
    const edge = { ...c.edge, src: node(c.edge.src), dst: node(c.edge.dst) };
    const key = keyOf(edge);
    const found = merged.get(key);
    if (!found) merged.set(key, { ...c, edge });
    else {
      found.verdicts = { ...c.verdicts, ...found.verdicts };
      if (c.harden && !found.harden) found.harden = c.harden;
      if (edge.kind === 'anomaly') found.edge.kind = 'anomaly';
    }
  }
  const edges = [...merged.values()].filter((c) => scopeNodes.size === 0 || inScope(c.edge.src) || inScope(c.edge.dst));
  const kept = edges.slice(0, GRAPH.maxEdges);

  // Columns: the scope in the middle; others left when they send into the scope, else right.
  const column = new Map<string, 0 | 1 | 2>();
  for (const s of scopeNodes) column.set(s, 1);
  for (const { edge } of kept) {
    for (const id of [edge.src, edge.dst]) if (inScope(id)) column.set(id, 1);
  }
  for (const { edge } of kept) if (!column.has(edge.src) && (inScope(edge.dst) || !inScope(edge.src))) column.set(edge.src, 0);
  for (const { edge } of kept) for (const id of [edge.src, edge.dst]) if (!column.has(id)) column.set(id, 2);
  const nodes: GraphNode[] = [];
  let moreNodes = 0;
  for (const col of [0, 1, 2] as const) {
    const ids = [...column].filter(([, c]) => c === col).map(([id]) => id).sort();
    ids.slice(0, GRAPH.maxRows).forEach((id, row) => nodes.push({ id, column: col, row, title: `${id}${col === 1 ? ' (scope)' : ''}` }));
    moreNodes += Math.max(0, ids.length - GRAPH.maxRows);
  }
  const shown = new Set(nodes.map((n) => n.id));
  const drawable = kept.filter((c) => shown.has(c.edge.src) && shown.has(c.edge.dst));

  const restoreDone = timeline.some((e) => e.type === 'restore.completed') || (isObj(incident.restore) && (incident.restore as Obj).status === 'done');
  const phases: PhaseView[] = [];
  const anyEdges = drawable.length > 0;
  phases.push({
    phase: 'before',
    heading: 'Before containment',
    source: anyEdges ? 'observed flows (learned and anomalous), with validate’s verdicts on the live policies without containment' : 'no connections were recorded before containment',
    ...(anyEdges ? { edges: drawable.map((c) => {
      const live = c.verdicts.live;
      if (live !== undefined) return { ...c.edge, state: live ? 'open' : 'closed', why: `live policies (without containment): ${live ? 'allowed' : 'denied'}` } as PhaseEdge;
      if (c.edge.kind === 'dns' || c.edge.kind === 'other') return { ...c.edge, state: 'unknown', why: 'only recorded under containment' } as PhaseEdge;
      return { ...c.edge, state: 'open', why: c.edge.kind === 'anomaly' ? 'seen by the flow collector' : 'learned: seen flowing' } as PhaseEdge;
    }) } : {}),
  });
  if (!proof || typeof proof.contained !== 'boolean') {
    phases.push({ phase: 'during', heading: 'Under containment', source: 'no containment proof recorded' });
  } else if (proof.contained) {
    phases.push({ phase: 'during', heading: 'Under containment', source: 'contain’s proof: contained, nothing but DNS to kube-dns open', edges: drawable.map((c) => {
      const dns = c.edge.kind === 'dns' || (c.edge.port === '53' && dnsLines.some((l) => sameWorkload(c.edge.dst, l.peer)));
      return { ...c.edge, state: dns ? 'open' : 'closed', why: dns ? 'DNS kept by the quarantine' : 'closed by containment (proven by the engine)' } as PhaseEdge;
    }) });
  } else {
    const complete = typeof proof.openCount !== 'number' || proof.openCount <= openLines.length;
    phases.push({ phase: 'during', heading: 'Under containment', source: `contain’s proof: NOT contained, ${typeof proof.openCount === 'number' ? proof.openCount : openLines.length} connection(s) stay open`, edges: drawable.map((c) => {
      const kept = c.edge.kind === 'other' || [...openLines, ...dnsLines].some((l) => (l.direction === 'egress' ? sameWorkload(c.edge.dst, l.peer) && inScope(c.edge.src) : sameWorkload(c.edge.src, l.peer) && inScope(c.edge.dst)));
      return { ...c.edge, state: kept ? 'open' : complete ? 'closed' : 'unknown', why: kept ? 'left open (the proof lists it)' : complete ? 'closed by containment' : 'not in the proof’s shortened list' } as PhaseEdge;
    }) });
  }
  const hardened = drawable.filter((c) => c.harden);
  if (harden && hardened.length > 0) {
    phases.push({ phase: 'after', heading: 'After hardening', source: 'the harden step’s baseline (its verdict per connection)', edges: drawable.map((c) => {
      const b = c.harden?.baseline;
      const liveNote = c.harden?.live === true ? '; live after restore: allowed' : c.harden?.live === false ? '; live after restore: denied' : '';
      return { ...c.edge, state: b === true ? 'open' : b === false ? 'closed' : 'unknown', why: `${b === true ? 'allowed' : b === false ? 'denied' : 'not judged'} by the hardened baseline${liveNote}` } as PhaseEdge;
    }) });
  } else if (restoreDone && drawable.some((c) => c.verdicts.intended !== undefined)) {
    phases.push({ phase: 'after', heading: 'After restore', source: 'validate’s verdicts on the policies in Git, which the restore put back', edges: drawable.map((c) => {
      const i = c.verdicts.intended;
      return { ...c.edge, state: i === undefined ? 'unknown' : i ? 'open' : 'closed', why: i === undefined ? 'no verdict recorded' : `Git’s policies: ${i ? 'allowed' : 'denied'}` } as PhaseEdge;
    }) });
  } else {
    phases.push({ phase: 'after', heading: 'After restore', source: restoreDone ? 'the restore completed, but no verdict per connection was recorded' : 'no restore or hardening completed: nothing recorded after' });
  }
  return { nodes, phases, moreNodes, moreEdges: edges.length - kept.length + (kept.length - drawable.length) };
}

/** `db/postgres` and `db/postgres-0` (or `…-6d4cf56db6[ReplicaSet]`) name the same workload. */
export function sameWorkload(a: string, b: string): boolean {
  const x = bare(a), y = bare(b);
  return x === y || x.startsWith(`${y}-`) || y.startsWith(`${x}-`);
}

const STROKE = { unknown: '#a855f7' } as const;
const KIND_COLOUR: Record<EdgeKind, string> = { learned: '#1a7f37', anomaly: '#cf222e', dns: '#0969da', other: '#bf8700' };

function path(a: GraphNode, b: GraphNode): string {
  const [ax, bx] = [GRAPH.columns[a.column], GRAPH.columns[b.column]];
  const ay = GRAPH.top + a.row * GRAPH.row + GRAPH.boxH / 2;
  const by = GRAPH.top + b.row * GRAPH.row + GRAPH.boxH / 2;
  if (a.column === b.column) {
    // Same column: an arc outside it (left of the left column, right of the others).
    const side = a.column === 0 ? ax : ax + GRAPH.box;
    const bulge = a.column === 0 ? -28 : 28;
    const dy = a.id === b.id ? 14 : 0;
    return `M${num(side)},${num(ay - dy / 2)} C${num(side + bulge)},${num(ay - dy)} ${num(side + bulge)},${num(by + dy)} ${num(side)},${num(by + dy / 2)}`;
  }
  const forward = a.column < b.column;
  const x1 = forward ? ax + GRAPH.box : ax;
  const x2 = forward ? bx : bx + GRAPH.box;
  const mid = (x1 + x2) / 2;
  return `M${num(x1)},${num(ay)} C${num(mid)},${num(ay)} ${num(mid)},${num(by)} ${num(x2)},${num(by)}`;
}

export function graphSvg(model: ConnectivityModel, view: PhaseView): string {
  const rows = Math.max(1, ...model.nodes.map((n) => n.row + 1));
  const height = GRAPH.top + rows * GRAPH.row + 14;
  const id = `g-${view.phase}`;
  const out: string[] = [`<svg class="graph" id="${id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${GRAPH.width} ${height}" width="${GRAPH.width}" height="${height}" role="img" aria-label="${txt(view.heading)}">`];
  out.push(`<title>${txt(`${view.heading}: ${view.source}`)}</title>`);
  out.push('<defs>', ...(['open-learned', 'open-anomaly', 'open-dns', 'open-other', 'unknown'] as const).map((k) => {
    const fill = k === 'unknown' ? STROKE.unknown : KIND_COLOUR[k.slice(5) as EdgeKind];
    return `<marker id="${id}-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${fill}"/></marker>`;
  }), '</defs>');
  ['sources', 'scope', 'destinations'].forEach((label, i) => out.push(`<text x="${GRAPH.columns[i]! + GRAPH.box / 2}" y="16" text-anchor="middle" class="col">${label}</text>`));
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  if (view.edges) {
    // Closed edges first, open ones drawn over them.
    const order: Record<EdgeState, number> = { closed: 0, unknown: 1, open: 2 };
    for (const e of [...view.edges].sort((a, b) => order[a.state] - order[b.state])) {
      const a = byId.get(e.src), b = byId.get(e.dst);
      if (!a || !b) continue;
      const colour = e.state === 'unknown' ? STROKE.unknown : KIND_COLOUR[e.kind];
      const marker = e.state === 'unknown' ? 'unknown' : `open-${e.kind}`;
      const dash = e.state === 'closed' ? ' stroke-dasharray="5 4"' : e.state === 'unknown' ? ' stroke-dasharray="1 4"' : '';
      const width = e.state === 'open' && e.kind === 'anomaly' ? 2.5 : 1.5;
      const faint = e.state === 'closed' ? ' stroke-opacity="0.45"' : '';
      out.push(`<path class="edge e-${e.state} k-${e.kind}" d="${path(a, b)}" fill="none" stroke="${colour}" stroke-width="${width}"${dash}${faint} marker-end="url(#${id}-${marker})"><title>${txt(`${e.src} → ${e.dst} ${e.port}/${e.protocol} (${e.kind}): ${e.state}, ${e.why}`, 700)}</title></path>`);
    }
  }
  for (const n of model.nodes) {
    const x = GRAPH.columns[n.column];
    const y = GRAPH.top + n.row * GRAPH.row;
    const fill = n.column === 1 ? '#fff8c5' : '#ffffff';
    out.push(`<g class="node"><title>${txt(n.title, 400)}</title><rect x="${x}" y="${y}" width="${GRAPH.box}" height="${GRAPH.boxH}" rx="4" fill="${fill}" stroke="#57606a"/><text x="${x + 6}" y="${y + 15}" class="nl">${txt(n.id, 22)}</text></g>`);
  }
  if (!view.edges) out.push(`<text x="${GRAPH.width / 2}" y="${num(height / 2)}" text-anchor="middle" class="nodata">No data: ${txt(view.source, 90)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

export const GRAPH_CSS = `
.graphs{display:flex;flex-wrap:wrap;gap:1rem}.graphs figure{margin:0;flex:1 1 400px;max-width:580px}
.graph{width:100%;height:auto;font:12px system-ui,sans-serif;border:1px solid #d0d7de;border-radius:6px;background:#fff}
.graph .col{fill:#57606a;font-weight:600;text-transform:uppercase;font-size:10px}.graph .nl{fill:#24292f}
.graph .nodata{fill:#cf222e;font-size:13px;font-weight:600}
.graphs figcaption{font-size:.85rem;color:#57606a;margin-top:.3rem}`;
