// The timer behind the Redis leases: one renewal at a time, and stop() waits for the one in flight.
import { describe, expect, it } from 'vitest';
import { defaultIntervalMs, fencingMarginMs, RenewalLoop } from '../../src/redis/renewal-loop.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RenewalLoop', () => {
  it('renews once on start, then every interval, and never two at once', async () => {
    let calls = 0;
    let inFlight = 0;
    let overlap = false;
    const loop = new RenewalLoop(5, async () => {
      calls += 1;
      inFlight += 1;
      overlap ||= inFlight > 1;
      await sleep(15);
      inFlight -= 1;
    });
    await loop.start();
    expect(calls).toBe(1);
    await loop.start(); // already running: no extra renewal
    expect(calls).toBe(1);
    await sleep(120);
    await loop.stop();
    expect(calls).toBeGreaterThan(2);
    expect(overlap).toBe(false);
  });

  it('stop() resolves only after the renewal in flight, and none follows', async () => {
    const events: string[] = [];
    let release: () => void = () => undefined;
    let calls = 0;
    const loop = new RenewalLoop(1, async () => {
      calls += 1;
      if (calls === 2) {
        events.push('renewal started');
        await new Promise<void>((r) => (release = r));
        events.push('renewal ended');
      }
    });
    await loop.start();
    while (calls < 2) await sleep(2);
    const stopped = loop.stop().then(() => events.push('stopped'));
    await sleep(10);
    expect(events).toEqual(['renewal started']);
    release();
    await stopped;
    expect(events).toEqual(['renewal started', 'renewal ended', 'stopped']);
    await sleep(10);
    expect(calls).toBe(2);
    expect(loop.isRunning).toBe(false);
  });

  it('a renewal that throws does not end the loop', async () => {
    let calls = 0;
    const loop = new RenewalLoop(2, async () => {
      calls += 1;
      if (calls > 1) throw new Error('Redis unreachable');
    });
    await loop.start();
    await sleep(40);
    loop.abandon();
    expect(calls).toBeGreaterThan(3);
    const after = calls;
    await sleep(20);
    expect(calls).toBe(after);
  });

  it('derives the interval and the fencing margin from the TTL', () => {
    expect(defaultIntervalMs(15_000)).toBe(5_000);
    expect(defaultIntervalMs(60)).toBe(50);
    expect(fencingMarginMs(5_000, 15_000)).toBe(3_750);
    expect(fencingMarginMs(1_000, 15_000)).toBe(1_000);
  });
});
