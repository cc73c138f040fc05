// Chaos: the worker's wall clock jumps forward (an NTP step) in the middle of an incident. The bot's
// worker runs in a child process whose Date is shifted by a preload (test/helpers/clock-shift-
// preload.ts); timers are untouched, as with a real clock step. A due approval reminder fires once,
// not as a burst of the ones the jump skipped; a containment time box that the jump carries past
// its end is lifted once, without a "ends in about 1 min" notice after the fact.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { sleep, stepsDoneTwice, until } from '../helpers/chaos-accounting.js';
import { startShiftedWorker, type ShiftedWorker } from '../helpers/chaos-clock.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, incidentMessageFor, playbookUntilValidate, startTestEnvironment, waitForPlaybookFinished } from '../helpers/environment.js';
import { stopProcess, writeWorkerConfig } from '../helpers/worker-process.js';
import { chaosScale, recordOutcome } from './report.js';

const HOUR = 3_600_000;
/** Forward jumps, each checked to fire exactly the one reminder that became due. */
const JUMPS = chaosScale(1, 3);

let env: EmbeddedEnvironment | undefined;
let worker: ShiftedWorker | undefined;
afterEach(async () => {
  if (worker) await stopProcess(worker.child);
  await env?.stop();
  env = worker = undefined;
});

/** Steps up to validate; contain reminds every 20 min (up to 3 times) and is time-boxed to 2 h. */
function playbook(): string {
  const doc = parseYaml(readFileSync(playbookUntilValidate(), 'utf8')) as { steps: Array<{ action: string; approval: Record<string, unknown>; params?: Record<string, unknown> }> };
  const contain = doc.steps.find((s) => s.action === 'contain')!;
  contain.approval = { rule: 'one', timeout: '20m', remindEvery: '20m', maxReminders: 3 };
  contain.params = { ...contain.params, maxDuration: '2h' };
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-clock-playbook-')), 'netpol-incident.yaml');
  writeFileSync(file, toYaml(doc));
  return file;
}

async function eventsOf(e: EmbeddedEnvironment, incidentId: string, type: string) {
  return (await e.bot!.store.timeline(incidentId)).filter((x) => x.type === type);
}

describe('chaos: the wall clock jumps forward mid-incident', () => {
  it('a due reminder fires once per jump, and a time box the jump overran is lifted once without a late "ends in" notice', async () => {
    env = await startTestEnvironment({ playbookPath: playbook(), startBot: false });
    const e = env;
    await e.startBot({ roles: ['web'] });
    worker = startShiftedWorker(e, writeWorkerConfig(e));
    const w = worker;
    // The worker process takes a while to start: the incident message comes once it runs.
    const opened = await e.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident db -- clock jump' });
    const incidentId = /Opening incident `([a-z0-9-]+)`/.exec(opened.body)?.[1];
    expect(incidentId, opened.body).toBeDefined();
    const message = await until('the incident message from the worker', () => {
      const m = incidentMessageFor(e, incidentId!);
      return m && hasApprovalButtons(m) ? m : undefined;
    }, 60_000);
    if (!incidentId) return;

    // Each forward jump of an hour makes the pending reminder due: exactly one more fires, then none
    // until the next jump (the next one is 20 min of the new wall time away).
    let jumpedAt = 0;
    let firstReminderMs = 0;
    for (let jump = 1; jump <= JUMPS; jump++) {
      // The jump comes after the pending reminder was scheduled (on the clock before the jump).
      await until('the next reminder to be scheduled', async () => ((await e.bot!.queue.counts()).delayed ?? 0) >= 1, 30_000);
      w.shift(jump * HOUR);
      jumpedAt = Date.now();
      await until(`reminder ${jump}`, async () => (await eventsOf(e, incidentId, 'approval.reminder')).length >= jump, 30_000);
      firstReminderMs ||= Date.now() - jumpedAt;
      await sleep(2000);
      expect((await eventsOf(e, incidentId, 'approval.reminder')).length).toBe(jump);
    }

    // Contain (time box 2 h of the worker's clock), then trace and validate.
    await click(e, message, DEMO_USERS.approver.id);
    await waitForPlaybookFinished(e, incidentId, 60_000);
    const contained = await e.bot!.store.require(incidentId);
    expect(contained.containment?.status).toBe('active');
    expect(Date.parse(contained.containment!.expiresAt!) - Date.parse(contained.containment!.appliedAt)).toBe(2 * HOUR);

    // The clock jumps past the end of the time box (and past its expiry notice): lifted once.
    await until('the time box jobs to be scheduled', async () => ((await e.bot!.queue.counts()).delayed ?? 0) >= 2, 30_000);
    w.shift((JUMPS + 3) * HOUR);
    const overrunAt = Date.now();
    await until('the time box to lift containment', async () => (await e.bot!.store.require(incidentId)).containment?.status === 'lifted', 30_000);
    const liftedMs = Date.now() - overrunAt;
    await sleep(1500);
    const late = await eventsOf(e, incidentId, 'containment.expiring');
    expect(late.map((x) => x.summary)).toEqual([]);
    const lifts = (await e.bot!.store.timeline(incidentId)).filter((x) => x.type.startsWith('containment.lift'));
    const twice = await stepsDoneTwice(e, incidentId);
    expect(twice).toEqual([]);
    expect(e.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`)).toBeUndefined();
    const reminders = (await eventsOf(e, incidentId, 'approval.reminder')).length;

    recordOutcome({
      scenario: 'Wall clock jumps forward mid-incident',
      fault: `worker's Date stepped +1 h ${JUMPS} time(s) while awaiting approval, then past the 2 h time box`,
      outcome: `${reminders} reminder(s), one per jump; time box lifted once (${lifts.length} lift event(s)), no late expiry notice`,
      approvalsLost: 0,
      stepsAppliedTwice: twice.length,
      alertsLost: reminders < JUMPS ? JUMPS - reminders : 0,
      alertsDoubled: Math.max(0, reminders - JUMPS) + late.length,
      recoveryMs: Math.max(firstReminderMs, liftedMs),
    });
  }, chaosScale(120_000, 300_000));
});
