// The change journal: what changed in the cluster's policies and namespace labels, and when.
export { ChangeJournal, entryOf, type AppendResult, type Fence, type JournalOptions } from './store.js';
export { JournalWatcher, watcherLockKey, type JournalWatcherOptions, type WatcherStats } from './watcher.js';
export { JournalQueryError, parseQuery, DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from './query.js';
export { observe, movedManagers, canonicalJson, type ObjectRef, type Observed, type ManagerStamp } from './normalize.js';
export { decide, type Decision, type KnownState } from './decide.js';
export * from './types.js';
