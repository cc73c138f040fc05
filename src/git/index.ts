// Policy repositories in Git: clones, where a live object is declared, its history, and where a
// change came from. See README "Policy repositories".
export { classifyChange, isGitOpsActor, verdictOf, type ChangeActor, type ChangeClass, type ClassifyInput, type CommitState, type GitVerdict } from './classify.js';
export { gitSchema, gitRepositorySchema, type GitConfig, type GitRepositoryConfig, type HelmChartConfig } from './config-schema.js';
export { locateIn, type CommitIndex, type Location, type LocateMatch, type ObjectKey } from './locate.js';
export type { GitCommit, GitPerson, FileChange } from './log.js';
export { sameState } from './normalize.js';
export { PolicyRepositories } from './repositories.js';
export { PolicyRepository, type ObjectTrail, type RepositorySettings, type RepositoryStatus, type SyncResult } from './repository.js';
export { identityOf, mergeStates, POLICY_KINDS, renderDesiredState, type DesiredObject, type DesiredState, type PolicyKind, type RenderInput, type RenderProblem } from './render.js';
export { commitWebUrl, redactUrl } from './url.js';
