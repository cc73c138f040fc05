// Kubernetes audit evidence: who changed a policy or a namespace's labels, as whom, with which tool.
// See README "Kubernetes audit evidence".
export { AUDIT_DEFAULTS, auditSchema, type AuditSettings } from './config-schema.js';
export { AuditFileSource, type AuditFileCounts, type AuditFileSourceOptions } from './file-source.js';
export {
  AUDIT_API_VERSIONS,
  MALFORMED_REASONS,
  mayConcernWatched,
  parseAuditEvent,
  parseAuditLine,
  parseAuditLines,
  parseEventList,
  type AuditBatch,
  type AuditParse,
  type AuditParseOptions,
  type AuditSkipReason,
  type EventListResult,
} from './parse.js';
export { AuditStore, storedForm, type AuditRetention, type SaveOutcome } from './store.js';
export { classifyTool } from './tool.js';
export {
  effectiveActor,
  isWatchedResource,
  kindOfResource,
  namespaceOfChange,
  WATCHED_RESOURCES,
  type AuditChange,
  type AuditObjectRef,
  type AuditQuery,
  type AuditTool,
  type AuditUser,
  type WatchedResource,
} from './types.js';
export { AUDIT_WEBHOOK_PATH, auditWebhookRoute, type AuditWebhookOptions } from './webhook-route.js';
