// The `auditReport` section: the scheduled audit of the live cluster, posted to Slack by a worker.
import cronParser from 'cron-parser';
import { z } from 'zod';

const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD');

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why `pattern` is no cron pattern BullMQ can schedule in `tz` (5 fields, or 6 with seconds first), or undefined. */
export function cronProblem(pattern: string, tz: string): string | undefined {
  const fields = pattern.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `"${pattern.slice(0, 100)}" has ${fields} fields; a cron pattern has 5 (minute hour day month weekday) or 6 (seconds first)`;
  try {
    // The parser BullMQ schedules with: what passes here is what the scheduler runs.
    cronParser.parseExpression(pattern, { tz }).next();
    return undefined;
  } catch (error) {
    return `"${pattern.slice(0, 100)}" is not a valid cron pattern (${error instanceof Error ? error.message.slice(0, 200) : String(error)})`;
  }
}

export const auditReportSchema = z
  .object({
    /** On by default wherever the worker role runs with a channel to post to. */
    enabled: z.boolean().default(true),
    /** Cron pattern (5 fields, or 6 with seconds first); default Monday 09:00. */
    schedule: z.string().min(1).max(200).default('0 9 * * 1'),
    /** IANA time zone of the schedule. */
    timeZone: z.string().max(64).refine(validTimeZone, 'is not a time zone this runtime knows (e.g. UTC, Europe/Berlin)').default('UTC'),
    /** Where the summary and the full report go; defaults to slack.alertsChannel, then incidentChannel. */
    channel: slackChannelId.optional(),
    /** Window of the unused-policy check, in days. */
    unusedDays: z.number().int().min(1).max(9999).default(30),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!validTimeZone(c.timeZone)) return; // reported on timeZone already
    const problem = cronProblem(c.schedule, c.timeZone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['schedule'], message: problem });
  });

export type AuditReportConfig = z.infer<typeof auditReportSchema>;

export const AUDIT_REPORT_DEFAULTS: AuditReportConfig = auditReportSchema.parse({});
