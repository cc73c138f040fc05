// The Redis heartbeat behind the slash commands' acknowledgement: fresh only while a PING sent within
// the window was answered, one PING at a time, a held or failed PING never counts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisHeartbeat } from '../../src/redis/heartbeat.js';

/** PINGs the test answers by hand. */
function manualPings() {
  const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  let sent = 0;
  const ping = () =>
    new Promise<void>((resolve, reject) => {
      sent += 1;
      pending.push({ resolve, reject });
    });
  return {
    ping,
    sent: () => sent,
    inFlight: () => pending.length,
    answer: () => pending.shift()!.resolve(),
    fail: () => pending.shift()!.reject(new Error('connection reset')),
  };
}

let now = 0;
const clock = () => now;
/** Moves both the heartbeat's clock and the timers on, then lets promise callbacks run. */
async function advance(ms: number): Promise<void> {
  now += ms;
  await vi.advanceTimersByTimeAsync(ms);
}

/** A heartbeat of 250 ms, fresh for 1 s, on the test's clock and hand-answered PINGs (not started). */
function beating() {
  const pings = manualPings();
  return { pings, heartbeat: new RedisHeartbeat(pings.ping, { intervalMs: 250, freshMs: 1000, now: clock }) };
}

beforeEach(() => {
  vi.useFakeTimers();
  now = 10_000;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RedisHeartbeat', () => {
  it('is stale until the first answer, then fresh for freshMs after that PING was sent', async () => {
    const { pings, heartbeat } = beating();
    expect(heartbeat.fresh).toBe(false);
    heartbeat.start();
    expect(pings.sent()).toBe(1);
    expect(heartbeat.fresh).toBe(false);
    await advance(10);
    pings.answer();
    await advance(0);
    expect(heartbeat.fresh).toBe(true);
    heartbeat.stop();
    // Sent at 10 000, so fresh up to 11 000 and no later.
    await advance(990);
    expect(heartbeat.fresh).toBe(true);
    await advance(1);
    expect(heartbeat.fresh).toBe(false);
  });

  it('sends one PING at a time: a held PING stops the beat, and the heartbeat goes stale', async () => {
    const { pings, heartbeat } = beating();
    heartbeat.start();
    pings.answer();
    await advance(0);
    // Answered PINGs, one every 250 ms.
    for (let i = 0; i < 4; i += 1) {
      await advance(250);
      expect(pings.inFlight()).toBe(1);
      pings.answer();
      await advance(0);
    }
    expect(pings.sent()).toBe(5);
    expect(heartbeat.fresh).toBe(true);
    // The next one is held (a partition): no other is sent meanwhile.
    await advance(250);
    expect(pings.sent()).toBe(6);
    await advance(5000);
    expect(pings.sent()).toBe(6);
    expect(pings.inFlight()).toBe(1);
    expect(heartbeat.fresh).toBe(false);
    // Delivered when the partition heals: fresh only if it was sent within the window, which it was not.
    pings.answer();
    await advance(0);
    expect(heartbeat.fresh).toBe(false);
    // The beat goes on, and the next answer counts.
    await advance(250);
    pings.answer();
    await advance(0);
    expect(heartbeat.fresh).toBe(true);
    heartbeat.stop();
  });

  it('a PING answered slowly counts from when it was sent', async () => {
    const { pings, heartbeat } = beating();
    heartbeat.start();
    await advance(900);
    pings.answer();
    await advance(0);
    expect(heartbeat.fresh).toBe(true);
    await advance(101);
    expect(heartbeat.fresh).toBe(false);
    heartbeat.stop();
  });

  it('a failed PING does not count, and the next one is sent after the interval', async () => {
    const { pings, heartbeat } = beating();
    heartbeat.start();
    pings.fail();
    await advance(0);
    expect(heartbeat.fresh).toBe(false);
    await advance(249);
    expect(pings.sent()).toBe(1);
    await advance(1);
    expect(pings.sent()).toBe(2);
    pings.fail();
    await advance(250);
    pings.answer();
    await advance(0);
    expect(heartbeat.fresh).toBe(true);
    heartbeat.stop();
  });

  it('stop() returns at once with a PING held, and no PING follows', async () => {
    const { pings, heartbeat } = beating();
    heartbeat.start();
    heartbeat.stop();
    expect(pings.inFlight()).toBe(1);
    pings.answer();
    await advance(10_000);
    expect(pings.sent()).toBe(1);
  });

  it('an old answer never makes it fresh again: freshness follows the latest PING sent that was answered', async () => {
    const { pings, heartbeat } = beating();
    heartbeat.start();
    pings.answer();
    await advance(0);
    await advance(250);
    pings.answer();
    await advance(0);
    heartbeat.stop();
    // Sent at 10 250: fresh until 11 250.
    await advance(1000);
    expect(heartbeat.fresh).toBe(true);
    await advance(1);
    expect(heartbeat.fresh).toBe(false);
  });
});
