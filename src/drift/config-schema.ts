// The `drift` section: the drift monitor the watcher role runs against the policy repositories
// (which namespaces, what to ignore, when to stay quiet, how bursts are grouped).
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';

export const DRIFT_SEVERITIES = ['low', 'medium', 'high'] as const;
export type DriftSeverity = (typeof DRIFT_SEVERITIES)[number];

const nameGlob = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9*]([-a-z0-9.*]*[a-z0-9*])?$/, 'must be a Kubernetes name, "*" matching any run of characters');

const selectorRequirement = z
  .object({
    key: z.string().min(1).max(317),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string().max(63)).max(100).optional(),
  })
  .strict()
  .refine((r) => ((r.operator === 'In' || r.operator === 'NotIn') === ((r.values?.length ?? 0) > 0)), 'In and NotIn need values; Exists and DoesNotExist take none');

/** One ignore rule: an object matching every field given is not compared (like Argo CD's ignoreDifferences, by object). */
export const ignoreRuleSchema = z
  .object({
    namespaces: z.array(nameGlob).min(1).max(100).optional(),
    names: z.array(nameGlob).min(1).max(100).optional(),
    kinds: z.array(z.enum(['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'])).min(1).optional(),
    labelSelector: z
      .object({ matchLabels: z.record(z.string().max(317), z.string().max(63)).optional(), matchExpressions: z.array(selectorRequirement).max(20).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((r) => r.namespaces || r.names || r.kinds || r.labelSelector, 'an ignore rule needs at least one of namespaces, names, kinds or labelSelector');

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day like 22:00');

/** Quiet hours: drifts below `alertAbove` wait for the end of the quiet period to be alerted. */
const quietHoursSchema = z
  .object({
    from: clock,
    to: clock,
    /** IANA time zone of from/to. */
    timeZone: z
      .string()
      .max(64)
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'is not a time zone this runtime knows (e.g. UTC, Europe/Berlin)')
      .default('UTC'),
    /** Drifts of this severity or above are alerted even in quiet hours. */
    alertAbove: z.enum(DRIFT_SEVERITIES).default('high'),
  })
  .strict()
  .refine((q) => q.from !== q.to, 'from and to must differ');

export const driftSchema = z
  .object({
    /** On by default wherever the watcher role runs with policy repositories configured. */
    enabled: z.boolean().default(true),
    /** Namespaces watched for drift (globs); cluster-scoped policies are compared when "*" is given. */
    namespaces: z.array(nameGlob).min(1).max(200).default(['*']),
    ignore: z.array(ignoreRuleSchema).max(100).default([]),
    /** Drifts below this severity are recorded but never alerted. */
    minSeverity: z.enum(DRIFT_SEVERITIES).default('low'),
    quietHours: quietHoursSchema.optional(),
    /** A burst of changes (kubectl apply -f dir/) is evaluated once it has been quiet this long… */
    debounce: durationSchema.refine((ms) => ms >= 50 && ms <= 60_000, 'must be between 50ms and 1m').default(500),
    /** …but never later than this after its first change (nor sooner after the last evaluation than it took). */
    maxDelay: durationSchema.refine((ms) => ms >= 100 && ms <= 300_000, 'must be between 100ms and 5m').default(2000),
    /** A drift coming back this soon after its episode resolved reopens that episode (no new alert). */
    reopenWithin: durationSchema.refine((ms) => ms >= 0 && ms <= 7 * 86_400_000, 'must be at most 7d').default(900_000),
    /** How long a self-healing GitOps controller gets to revert a drift before the alert says it did not. */
    selfHealGrace: durationSchema.refine((ms) => ms >= 1000 && ms <= 3_600_000, 'must be between 1s and 1h').default(180_000),
  })
  .strict()
  .refine((d) => d.maxDelay >= d.debounce, { message: 'maxDelay must be at least debounce', path: ['maxDelay'] });

export type DriftConfig = z.infer<typeof driftSchema>;
export type IgnoreRuleConfig = z.infer<typeof ignoreRuleSchema>;

export const DRIFT_DEFAULTS: DriftConfig = driftSchema.parse({});
