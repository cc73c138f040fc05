// Which policy kinds a comparison covers: those Git declares that the cluster serves and the bot
// reads. A kind Git declares but the cluster does not serve (its CRD is not installed) cannot
// drift object by object: it is one problem, said once, not one "missing" per object.
import type { ServedKinds } from '../containment/strategy.js';

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
