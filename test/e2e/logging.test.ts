// Every log line of incident work carries the incident id, so one incident's story can be grepped.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment, waitForContained } from '../helpers/environment.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let env: EmbeddedEnvironment;
beforeAll(async () => {
  env = await startTestEnvironment({ logger: pino({ level: 'info' }, sink) });
});
afterAll(() => env?.stop());

describe('structured logs', () => {
  it('binds the incident id to every line about an incident', async () => {
    const { incidentId, message } = await openIncident(env, 'incident db -- logging');
    await click(env, message, DEMO_USERS.outsider.id);
    await click(env, message, DEMO_USERS.approver.id);
    await waitForContained(env, incidentId);
    await new Promise((r) => setTimeout(r, 100));
    const about = lines.filter((l) => JSON.stringify(l).includes(incidentId));
    const messages = about.map((l) => l.msg);
    expect(messages).toEqual(expect.arrayContaining(['incident requested', 'incident opened', 'decision refused: not an approver', 'approval recorded', 'step started', 'step completed']));
    for (const line of about) expect(line.incident).toBe(incidentId);
    const unbound = lines.filter((l) => !l.incident && /incident|step|approval/.test(String(l.msg)) && l.msg !== 'netpol-responder started');
    expect(unbound).toEqual([]);
  });
});
