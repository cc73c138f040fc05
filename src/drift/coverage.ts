// What a drift comparison covers: the policy kinds Git declares that the cluster serves and the bot
// reads (a kind the cluster does not serve is one problem, said once), and nothing Git may declare
// in a part that could not be read.
import type { ServedKinds } from '../containment/strategy.js';
import type { DriftReport } from './compare.js';

const ALWAYS = ['NetworkPolicy'];

/** The kinds read from the cluster for the comparison (readLiveObjects reads these). */
export function readableKinds(served: ServedKinds): string[] {
  return [...ALWAYS, ...(served.adminNetworkPolicy ? ['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy'] : []), ...(served.ciliumNetworkPolicy ? ['CiliumNetworkPolicy'] : [])];
}

export function comparedKinds(desired: ReadonlyArray<{ kind: string }>, served: ServedKinds): { kinds: string[]; problems: string[] } {
  const readable = new Set(readableKinds(served));
  const declared = new Map<string, number>();
  for (const d of desired) declared.set(d.kind, (declared.get(d.kind) ?? 0) + 1);
  const kinds = [...declared.keys()].filter((k) => readable.has(k)).sort();
  const problems = [...declared]
    .filter(([k]) => !readable.has(k))
    .map(([k, n]) => `Git declares ${n} ${k}${n === 1 ? '' : ' objects'}, a kind ${k === 'CiliumClusterwideNetworkPolicy' ? 'the drift comparison does not cover yet' : 'the cluster does not serve (is its CRD installed?)'}: not compared`);
  return { kinds, problems };
}

/**
 * When Git could not be read whole (a file that does not parse, a kustomization that does not
 * build, a missing tool), an object found only in the cluster may be declared in the part that
 * failed: it is not reported as extra (a Revert would delete it) until Git reads cleanly again.
 */
export function withoutUnsureExtras(report: DriftReport, problems: number): { report: DriftReport; withheld: number; note?: string } {
  if (problems === 0) return { report, withheld: 0 };
  const items = report.items.filter((i) => i.status !== 'extra');
  const withheld = report.items.length - items.length;
  const note = withheld > 0 ? `Git could not be read whole (${problems} problem${problems === 1 ? '' : 's'}): ${withheld} object${withheld === 1 ? '' : 's'} found only in the cluster ${withheld === 1 ? 'is' : 'are'} not reported as extra until it can` : undefined;
  return { report: { ...report, items }, withheld, ...(note ? { note } : {}) };
}
