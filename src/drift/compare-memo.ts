// What a drift comparison derived, kept for the next one. The monitor compares every policy of the
// cluster with Git after each change: on 10k policies, redoing the whole comparison for the one
// or two that changed was hundreds of ms of the worker's event loop per evaluation (and under load,
// with containments patching policies, an evaluation every few seconds).
//  - Normalised objects (./normalize-memo.ts): live ones by uid and resourceVersion, desired ones
//    by identity.
//  - Each input's side of the comparison (its key, canonical text, containment marks), by the
//    input's identity: the watched view hands out the same live objects until they change, and a
//    rendered commit the same desired ones.
//  - Each key's outcome (ignored, containment, compared, drift item), kept while both its sides
//    are the very same and the options that decide an outcome are unchanged.
// Only what the latest comparison met is kept, so the memo holds at most one cluster's worth.
import { NormalizeMemo } from './normalize-memo.js';

export interface KeptOutcome<S, O> {
  live: S | undefined;
  desired: S | undefined;
  /** The options the outcome was decided under (ignore rules, namespaces, managed kinds). */
  options: string;
  outcome: O;
}

/** One comparison's use of the memo (no callbacks: it is called for each of 10k objects and keys). */
export interface CompareSession<S, O> {
  /** The side `input` gave last time, or undefined. */
  knownSide(input: object): S | undefined;
  /** Keeps the side `input` gave (a skipped input has none and is never kept). */
  keepSide(input: object, side: S): void;
  /** What `key` came to last time if its sides and options are the same (kept for the next comparison too), else undefined. */
  keptOutcome(key: string, live: S | undefined, desired: S | undefined, options: string): KeptOutcome<S, O> | undefined;
  /** Keeps the outcome just decided for `key`; returns it. */
  keepOutcome(key: string, live: S | undefined, desired: S | undefined, options: string, outcome: O): O;
  finish(): void;
}

export class CompareMemo {
  readonly normalized = new NormalizeMemo();
  private sides = new WeakMap<object, unknown>();
  private outcomes = new Map<string, KeptOutcome<unknown, unknown>>();

  /** For tests: key outcomes kept. */
  get outcomeSize(): number {
    return this.outcomes.size;
  }

  session<S, O>(): CompareSession<S, O> {
    const previous = this.outcomes as Map<string, KeptOutcome<S, O>>;
    const met = new Map<string, KeptOutcome<S, O>>();
    const sides = this.sides as WeakMap<object, S>;
    return {
      knownSide: (input) => sides.get(input),
      keepSide: (input, side) => void sides.set(input, side),
      keptOutcome: (key, live, desired, options) => {
        const last = previous.get(key);
        if (!last || last.live !== live || last.desired !== desired || last.options !== options) return undefined;
        met.set(key, last);
        return last;
      },
      keepOutcome: (key, live, desired, options, outcome) => {
        met.set(key, { live, desired, options, outcome });
        return outcome;
      },
      finish: () => {
        this.outcomes = met as Map<string, KeptOutcome<unknown, unknown>>;
      },
    };
  }
}
