// How a restore step is verified once written and read back. Pure.
// - object: the read-back equals what the step meant to leave (drift's normalisation: server
//   defaults and bookkeeping aside), and the bot's containment is where the step meant it to be
//   (the planner keeps it on the objects it updates until the lift).
// - engine: the connectivity the write changed, measured on the live objects (the state with the
//   object as read back against the same state with the object as it was before the step), equals
//   the step's predicted `opened` / `closed` lines. The measure runs the planner's own engine
//   (./engine.ts) on the state as the planner sees it (containment aside), so lines compare as text.
import type { ObjectKey } from '../drift/compare.js';
import { normalizeDetailed } from '../drift/normalize.js';
import type { LiveObjects } from '../policy/index.js';
import type { EngineKind } from './engine.js';
import { EngineSession } from './engine-session.js';
import { MAX_LINES } from './plan.js';
import type { Measured } from './record.js';
import { isRecord } from './scope.js';

export { withObject } from './engine-session.js';

type Obj = Record<string, unknown>;

export interface Check {
  ok: boolean;
  detail: string;
}

/** Lines shown per difference in a failed check. */
const SHOWN = 5;

function shown(lines: readonly string[]): string {
  return lines.length <= SHOWN ? lines.join('; ') : `${lines.slice(0, SHOWN).join('; ')}; … ${lines.length - SHOWN} more`;
}

/** The read-back against the object expected (null: the object must be gone). */
export function objectCheck(expected: Obj | null, readBack: Obj | null, namespace?: string): Check {
  if (expected === null) return readBack === null ? { ok: true, detail: 'object: gone, as intended' } : { ok: false, detail: `object: still there (resourceVersion ${resourceVersionOf(readBack) ?? 'unknown'})` };
  if (readBack === null) return { ok: false, detail: 'object: not found on read-back' };
  const opts = namespace !== undefined ? { namespace } : {};
  const want = normalizeDetailed(expected, opts);
  const got = normalizeDetailed(readBack, opts);
  if (!want.ok) return { ok: false, detail: `object: the intended object cannot be normalised (${want.reason})` };
  if (!got.ok) return { ok: false, detail: `object: the read-back cannot be normalised (${got.reason})` };
  if (want.text !== got.text) return { ok: false, detail: `object: the read-back differs from the intent: ${differingFields(want.object, got.object)}` };
  if (want.containment.exclusion !== got.containment.exclusion || want.containment.fluxSuspended !== got.containment.fluxSuspended) {
    return { ok: false, detail: `object: equal to the intent, but the bot's containment is ${got.containment.exclusion ? 'still on it' : 'gone from it'} (the plan ${want.containment.exclusion ? 'keeps it until the lift' : 'does not keep it'})` };
  }
  return { ok: true, detail: `object: equal to the intent after normalisation${want.containment.exclusion ? ' (containment kept until the lift)' : ''}` };
}

/** Top-level fields whose canonical form differs (enough to say where to look). */
function differingFields(want: Obj, got: Obj): string {
  const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
  const out: string[] = [];
  for (const k of keys) {
    if (k === 'metadata') {
      for (const m of ['labels', 'annotations']) {
        if (JSON.stringify((want.metadata as Obj)[m]) !== JSON.stringify((got.metadata as Obj)[m])) out.push(`metadata.${m}`);
      }
    } else if (JSON.stringify(want[k]) !== JSON.stringify(got[k])) out.push(k);
  }
  return out.length > 0 ? out.join(', ') : 'list order or duplicates';
}

export function resourceVersionOf(obj: unknown): string | undefined {
  const rv = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata.resourceVersion : undefined;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

/**
 * The engine lines a step changed: on `live` with the object as it was before the step
 * (`before`), then as it is now (`now`); the bot's containment aside, as the planner predicts.
 * A run keeps one EngineSession across its steps (./engine-session.ts); this measures once.
 */
export function measureDelta(live: LiveObjects, kind: EngineKind, key: ObjectKey, before: Obj | null, now: Obj | null): Measured {
  return new EngineSession(MAX_LINES).measure(live, kind, key, before, now);
}

function difference(a: readonly string[], b: readonly string[]): string[] {
  const other = new Set(b);
  return [...new Set(a)].filter((x) => !other.has(x)).sort();
}

/** The measured lines against the predicted ones, compared as sets. */
export function engineCheck(predicted: Measured, measured: Measured): Check {
  const problems: string[] = [];
  for (const side of ['opened', 'closed'] as const) {
    const unexpected = difference(measured[side], predicted[side]);
    const missing = difference(predicted[side], measured[side]);
    if (unexpected.length > 0) problems.push(`${side} but not predicted: ${shown(unexpected)}`);
    if (missing.length > 0) problems.push(`predicted ${side} but not: ${shown(missing)}`);
  }
  if (problems.length > 0) return { ok: false, detail: `engine: ${problems.join(' | ')}` };
  const count = (n: number): string => `${n} connection${n === 1 ? '' : 's'}`;
  return { ok: true, detail: `engine: opened ${count(measured.opened.length)} and closed ${count(measured.closed.length)}, as predicted` };
}
