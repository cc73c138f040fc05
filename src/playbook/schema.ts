// Playbooks are data: which steps run, in which order, how each is approved and when to remind.
import { z } from 'zod';
import { durationSchema, parseDuration } from '../config/duration.js';

const duration = durationSchema;
export { parseDuration };

export const approvalSchema = z
  .object({
    /** none: runs at once; one: one approver; two: two distinct approvers. The requester never counts. */
    rule: z.enum(['none', 'one', 'two']),
    /** When no decision came within this time, a reminder is posted in the thread. */
    timeout: duration.default(parseDuration('15m')),
    /** After the first reminder, remind again this often, at most maxReminders times in all. */
    remindEvery: duration.default(parseDuration('10m')),
    maxReminders: z.number().int().min(0).max(20).default(3),
  })
  .strict();

export const stepSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'must be lower-case letters, digits and "-", starting with a letter'),
    title: z.string().min(1).max(80),
    /** The handler that performs the step; must be one this version implements. */
    action: z.string().min(1),
    approval: approvalSchema,
    /**
     * What declining the step does. stop: the incident is rejected and nothing more runs; skip: the
     * step is marked skipped and the playbook goes on with the next step (or closes the incident, as
     * completed, when it was the last), for optional steps such as hardening.
     */
    onReject: z.enum(['stop', 'skip']).default('stop'),
    /** Handler-specific parameters, validated by the handler's own schema. */
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const playbookSchema = z
  .object({
    apiVersion: z.literal('netpol-responder/v1'),
    kind: z.literal('Playbook'),
    name: z.string().min(1).max(63),
    description: z.string().optional(),
    parameters: z
      .object({
        /** Namespaces that are never contained (the bot's own namespace is always added). */
        protectedNamespaces: z.array(z.string().min(1)).default(['kube-system']),
        /** Lets `/netpol incident <protected-ns> ... --force-protected` through; off by default. */
        allowProtectedOverride: z.boolean().default(false),
      })
      .strict()
      .default({ protectedNamespaces: ['kube-system'], allowProtectedOverride: false }),
    steps: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((playbook, ctx) => {
    const seen = new Set<string>();
    playbook.steps.forEach((step, index) => {
      if (seen.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `duplicate step id "${step.id}"` });
      seen.add(step.id);
      if (step.onReject === 'skip' && step.approval.rule === 'none') {
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'onReject'], message: 'onReject: skip needs an approval rule (one or two): a step without approval cannot be declined' });
      }
    });
  });

export type Playbook = z.infer<typeof playbookSchema>;
export type PlaybookStep = z.infer<typeof stepSchema>;
export type ApprovalRule = z.infer<typeof approvalSchema>;

export function requiredApprovals(rule: ApprovalRule['rule']): number {
  return { none: 0, one: 1, two: 2 }[rule];
}
