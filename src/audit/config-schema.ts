// The `audit` section of the configuration: Kubernetes audit evidence (who changed a policy, with
// which tool), kept in Redis. The webhook is on when NETPOL_AUDIT_WEBHOOK_TOKEN is set; the log
// file is followed by the process whose configuration names it (it must run where the file is).
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';

const MIB = 1024 * 1024;

export const AUDIT_DEFAULTS = {
  retention: { maxAge: 30 * 86_400_000, maxEntries: 10_000 },
  maxStoredBytes: 256 * 1024,
  webhook: { maxBodyBytes: 32 * MIB },
} as const;

export const auditSchema = z
  .object({
    retention: z
      .object({
        /** Changes older than this (by their time) are dropped. */
        maxAge: durationSchema.refine((ms) => ms >= 60_000 && ms <= 400 * 86_400_000, 'must be between 1m and 400d').default(AUDIT_DEFAULTS.retention.maxAge),
        /** At most this many changes are kept; the oldest go first. */
        maxEntries: z.number().int().min(100).max(1_000_000).default(AUDIT_DEFAULTS.retention.maxEntries),
      })
      .strict()
      .default(AUDIT_DEFAULTS.retention),
    /** Largest stored form of one change; larger request/response bodies are dropped (the change is kept, marked truncated). */
    maxStoredBytes: z.number().int().min(4096).max(16 * MIB).default(AUDIT_DEFAULTS.maxStoredBytes),
    webhook: z
      .object({
        /** Largest EventList body accepted (413 above it; the apiserver does not send it again). */
        maxBodyBytes: z.number().int().min(65_536).max(256 * MIB).default(AUDIT_DEFAULTS.webhook.maxBodyBytes),
      })
      .strict()
      .default(AUDIT_DEFAULTS.webhook),
    logFile: z
      .object({
        /** kube-apiserver's --audit-log-path, as mounted into this pod. */
        path: z.string().min(1),
        /** Also read the rotated files (audit-<time>.log, .log.gz) still inside the retention, once at start. */
        history: z.boolean().default(true),
        pollInterval: durationSchema.refine((ms) => ms >= 50 && ms <= 60_000, 'must be between 50ms and 1m').default(1000),
        /** A longer line (one event) is skipped and counted. */
        maxLineBytes: z.number().int().min(65_536).max(64 * MIB).default(4 * MIB),
      })
      .strict()
      .optional(),
  })
  .strict()
  .default(AUDIT_DEFAULTS);

export type AuditSettings = z.infer<typeof auditSchema>;
