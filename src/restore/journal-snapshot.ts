// The journal's snapshot of the scope's policies at an instant: every policy object that existed
// then, as it was. An object that existed then is either live now or was deleted since, so the set
// to look up is the journal's live objects plus every object with an entry after the instant; each
// is then read back as of the instant through its own chain of entries. The journal can only vouch
// for times it watched: the scope's Namespace objects, looked up at the instant, tell whether it did.
import type { ChangeJournal } from '../journal/store.js';
import { NAMESPACED_KINDS, truncationOf, type JournalEntry, type JournalKind } from '../journal/types.js';
import { clockTime, inScope, restorableManifest } from './source-text.js';
import type { KnownGoodObject, ObjectIdentity } from './source-types.js';

/** The policy kinds the journal records (Namespace objects are not policies). */
export const JOURNAL_POLICY_KINDS: JournalKind[] = ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy'];

const PAGE = 10_000;
/** Lookups in flight at once: enough to hide the round trips, few enough not to flood Redis. */
const LOOKUPS_AT_ONCE = 32;

export interface JournalSnapshot {
  objects: KnownGoodObject[];
  unknown: ObjectIdentity[];
  problems: string[];
}

const identity = (o: ObjectIdentity): string => `${o.kind} ${o.namespace === undefined ? '' : `${o.namespace}/`}${o.name}`;

/** Whether the journal watched at `atMs` (and still retains it), or why not. */
export async function journalCoverage(journal: ChangeJournal, namespaces: ReadonlySet<string>, atMs: number): Promise<{ known: true } | { known: false; reason: string }> {
  const at = new Date(atMs).toISOString();
  const looked = await Promise.all([...namespaces].map((ns) => journal.lookup('Namespace', undefined, ns, at)));
  if (looked.every((l) => l.known)) return { known: true };
  const [oldest] = await journal.query({ since: '1970-01-01T00:00:00.000Z', limit: 1 });
  const since = oldest ? `its oldest entry is from ${clockTime(oldest.observedAt, at)}` : 'it holds no entry';
  return { known: false, reason: `the journal did not watch at ${clockTime(at, at)}: ${since} (it started later, or its retention dropped what came before)` };
}

/** Every object of the scope that may have existed at `atMs`: live now, or changed since. */
async function candidates(journal: ChangeJournal, namespaces: ReadonlySet<string>, atMs: number, problems: string[]): Promise<Map<string, ObjectIdentity>> {
  const found = new Map<string, ObjectIdentity>();
  const add = (o: ObjectIdentity): void => {
    if (inScope(o.namespace, namespaces)) found.set(identity(o), o);
  };
  for (const kind of JOURNAL_POLICY_KINDS) {
    for (const ref of await journal.liveObjects(kind)) {
      // A namespaced kind without a namespace is nothing the journal wrote; skip it rather than fail.
      if (NAMESPACED_KINDS.has(kind) !== (ref.namespace !== undefined)) continue;
      add({ kind, ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}), name: ref.name });
    }
  }
  let sinceMs = atMs;
  for (;;) {
    const page: JournalEntry[] = await journal.query({ since: new Date(sinceMs).toISOString(), kinds: JOURNAL_POLICY_KINDS, namespaces: [...namespaces], limit: PAGE });
    for (const e of page) add({ kind: e.kind, ...(e.namespace !== undefined ? { namespace: e.namespace } : {}), name: e.name });
    if (page.length < PAGE) break;
    // Pages are read by time: the next starts at the last entry's millisecond (read again, deduplicated).
    const lastMs = Date.parse((page[page.length - 1] as JournalEntry).observedAt);
    if (lastMs <= sinceMs) {
      problems.push(`more than ${PAGE} journal entries within one millisecond (${new Date(sinceMs).toISOString()}): objects changed after it may be missing`);
      break;
    }
    sinceMs = lastMs;
  }
  return found;
}

/**
 * The scope's policies as the journal knew them at `atMs`. Objects it cannot tell (their chain
 * trimmed, or an object it only kept a digest of) are listed apart, with a problem each.
 */
export async function journalSnapshot(journal: ChangeJournal, namespaces: ReadonlySet<string>, atMs: number): Promise<JournalSnapshot> {
  const problems: string[] = [];
  const refs = [...(await candidates(journal, namespaces, atMs, problems)).values()];
  const at = new Date(atMs).toISOString();
  const objects: KnownGoodObject[] = [];
  const unknown: Array<ObjectIdentity & { why: string }> = [];
  for (let i = 0; i < refs.length; i += LOOKUPS_AT_ONCE) {
    const batch = refs.slice(i, i + LOOKUPS_AT_ONCE);
    const states = await Promise.all(batch.map((r) => journal.lookup(r.kind as JournalKind, r.namespace, r.name, at)));
    batch.forEach((ref, j) => {
      const state = states[j];
      if (!state) return;
      if (!state.known) {
        unknown.push({ ...ref, why: `the journal cannot tell how it was at ${clockTime(at, at)} (its earlier entries are no longer retained)` });
        return;
      }
      if (state.object === null) return; // it did not exist then
      const truncated = truncationOf(state.object);
      if (truncated) {
        unknown.push({ ...ref, why: `the journal kept only a digest of it then (${truncated.bytes} bytes, over its ${truncated.limit}-byte limit): it cannot be restored from the journal` });
        return;
      }
      const metadata = state.object.metadata as { resourceVersion?: unknown } | undefined;
      const resourceVersion = typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : undefined;
      objects.push({ ...ref, object: restorableManifest(state.object), source: { journal: state.entryId ?? null, ...(resourceVersion ? { resourceVersion } : {}) } });
    });
  }
  const order = (o: ObjectIdentity): string => identity(o);
  objects.sort((a, b) => order(a).localeCompare(order(b)));
  unknown.sort((a, b) => order(a).localeCompare(order(b)));
  return {
    objects,
    unknown: unknown.map(({ why: _why, ...ref }) => ref),
    problems: [...problems, ...unknown.map((u) => `${identity(u)}: ${u.why}`)],
  };
}
