// What normalising an object gave, kept from one comparison to the next. The drift monitor
// compares every policy of the cluster with Git at each change: on 10k policies, normalising both
// sides again was most of an evaluation, for objects that had not changed.
//  - Desired objects are kept by identity: a commit is rendered once, and its objects are the same
//    ones until the head moves.
//  - Live objects are kept by uid and resourceVersion: the API server gives every write a new
//    version, so an object listed again with the same pair is the same object. One without either
//    is normalised every time.
// Only what the latest comparison met is kept of the live side; the desired side goes with its render.
import { normalizeDetailed, type NormalizeResult } from './normalize.js';

/** What a comparison reads of a normalisation (not the sets a field diff needs). */
export type Normalized = Exclude<NormalizeResult, { ok: true }> | Omit<Extract<NormalizeResult, { ok: true }>, 'sets'>;

function normalized(raw: unknown, namespace: string | undefined): NormalizeResult {
  return normalizeDetailed(raw, namespace ? { namespace } : {});
}

/** A normalisation as kept: without its sets, which only a field diff reads (it normalises again). */
function kept(raw: unknown, namespace: string | undefined): Normalized {
  const result = normalized(raw, namespace);
  if (!result.ok) return result;
  const { sets: _sets, ...rest } = result;
  return rest;
}

/** A live object's identity at one version, or undefined when it lacks one. */
function liveVersion(raw: unknown): string | undefined {
  const meta = typeof raw === 'object' && raw !== null ? (raw as { metadata?: unknown }).metadata : undefined;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { uid, resourceVersion } = meta as { uid?: unknown; resourceVersion?: unknown };
  return typeof uid === 'string' && uid !== '' && typeof resourceVersion === 'string' && resourceVersion !== '' ? `${uid}\0${resourceVersion}` : undefined;
}

/** One comparison's use of the memo: reads what the last one kept, keeps what this one meets. */
export interface NormalizeSession {
  desired(raw: unknown, namespace: string | undefined): Normalized;
  live(raw: unknown): Normalized;
  /** A live object met again whose normalisation the caller kept: it stays kept for the next comparison. */
  carry(raw: unknown, result: Normalized): void;
  /** The comparison is done: what it met of the live side is what the next one finds. */
  finish(): void;
}

export class NormalizeMemo {
  private readonly desiredKept = new WeakMap<object, Map<string, Normalized>>();
  private liveKept = new Map<string, Normalized>();

  /** For tests: live objects kept. */
  get liveSize(): number {
    return this.liveKept.size;
  }

  session(): NormalizeSession {
    const previous = this.liveKept;
    const met = new Map<string, Normalized>();
    return {
      desired: (raw, namespace) => {
        if (typeof raw !== 'object' || raw === null) return normalized(raw, namespace);
        let byNamespace = this.desiredKept.get(raw);
        if (!byNamespace) this.desiredKept.set(raw, (byNamespace = new Map()));
        const known = byNamespace.get(namespace ?? '');
        if (known) return known;
        const result = kept(raw, namespace);
        byNamespace.set(namespace ?? '', result);
        return result;
      },
      live: (raw) => {
        const version = liveVersion(raw);
        if (version === undefined) return normalized(raw, undefined);
        const result = met.get(version) ?? previous.get(version) ?? kept(raw, undefined);
        met.set(version, result);
        return result;
      },
      carry: (raw, result) => {
        const version = liveVersion(raw);
        if (version !== undefined) met.set(version, result);
      },
      finish: () => {
        this.liveKept = met;
      },
    };
  }
}

/** Without a memo: every object normalised, nothing copied or kept. */
export const NO_MEMO: NormalizeSession = {
  desired: normalized,
  live: (raw) => normalized(raw, undefined),
  carry: () => undefined,
  finish: () => undefined,
};
