// The contain step's preview (pure): the proof predicted on the objects as containment will leave
// them, and the blast radius. Both read the index of those objects: built once here, and the
// policies the states share compiled once (on a large cluster, building indexes is most of the cost).
import { blastRadius, type BlastRadiusInput, type BlastRadiusResult } from '../playbook/steps/blast-radius.js';
import { buildIndex, type CompileMemo } from '../policy/index.js';
import { proveContainmentOf, type EngineProof, type ScopeView } from './proof.js';

export interface PreviewInput extends BlastRadiusInput {
  scope: ScopeView;
  dns: { namespace: string; podLabels: Record<string, string> };
}

export interface ContainmentPreview {
  predicted: EngineProof;
  /** The blast radius, or why it could not be computed (the preview goes out without it). */
  radius: BlastRadiusResult | { error: string };
}

/** `memo`: one kept across previews, for objects that cannot change (see CompileMemo). */
export function containmentPreview(input: PreviewInput, memo: CompileMemo = new WeakMap()): ContainmentPreview {
  const after = buildIndex(input.after, memo);
  const predicted = proveContainmentOf(after, input.scope, input.dns);
  let radius: ContainmentPreview['radius'];
  try {
    radius = blastRadius(input, undefined, { after, memo });
  } catch (error) {
    radius = { error: error instanceof Error ? error.message : String(error) };
  }
  return { predicted, radius };
}
