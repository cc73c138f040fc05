import { describe, expect, it } from 'vitest';
import { flowFingerprint, ResendWindow } from '../../../src/flows/sources/resend-window.js';

const record = (seconds: number, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  flow: { time: { seconds, nanos: 0 }, node_name: 'n1', IP: { source: '10.0.0.1', destination: '10.0.0.2' }, l4: { TCP: { source_port: port } }, verdict: 'FORWARDED', ...extra },
});
const at = (seconds: number): number => seconds * 1000;

describe('flowFingerprint', () => {
  it('uses the uuid when there is one, else node, time, addresses, L4, verdict, summary and reply flag', () => {
    expect(flowFingerprint({ flow: { uuid: 'abc' } })).toBe('abc');
    expect(flowFingerprint(record(1, 1))).toBe(flowFingerprint(record(1, 1)));
    expect(flowFingerprint(record(1, 1))).not.toBe(flowFingerprint(record(1, 2)));
    expect(flowFingerprint(record(1, 1))).not.toBe(flowFingerprint(record(2, 1)));
    expect(flowFingerprint(record(1, 1))).not.toBe(flowFingerprint(record(1, 1, { is_reply: true })));
    expect(flowFingerprint(record(1, 1))).not.toBe(flowFingerprint(record(1, 1, { verdict: 'DROPPED' })));
  });

  it('takes records without a flow, with an empty uuid, or with odd field types without throwing', () => {
    expect(typeof flowFingerprint({})).toBe('string');
    expect(flowFingerprint({ flow: { uuid: '' } })).not.toBe('');
    expect(typeof flowFingerprint({ flow: { time: 'x', IP: 7, l4: { a: [1, { b: null }] } } })).toBe('string');
  });
});

describe('ResendWindow', () => {
  it('recognizes nothing before a restart, and nothing after one when nothing was delivered', () => {
    const w = new ResendWindow(2_000, true);
    expect(w.isResent(at(1), record(1, 1))).toBe(false);
    w.armResend();
    expect(w.isResent(at(1), record(1, 1))).toBe(false);
    expect(w.newest).toBeNaN();
  });

  it('after a restart: drops what was delivered within the window, passes what is new in it', () => {
    const w = new ResendWindow(2_000, false);
    for (let s = 1; s <= 10; s++) w.add(at(s), record(s, s));
    expect(w.newest).toBe(at(10));
    w.armResend();
    expect(w.isResent(at(9), record(9, 9))).toBe(true);
    expect(w.isResent(at(8), record(8, 8))).toBe(true); // exactly at the window's start: kept in it
    expect(w.isResent(at(9), record(9, 99))).toBe(false); // a flow that came late, not delivered before
    expect(w.isResent(at(10), record(10, 10))).toBe(true);
  });

  it('older than the window: delivered for a consumer that got its whole stream, passed on otherwise', () => {
    const whole = new ResendWindow(2_000, true);
    const partial = new ResendWindow(2_000, false);
    for (const w of [whole, partial]) {
      for (let s = 1; s <= 10; s++) w.add(at(s), record(s, s));
      w.armResend();
    }
    expect(whole.isResent(at(3), record(3, 3))).toBe(true);
    expect(whole.isResent(at(3), record(3, 333))).toBe(true);
    expect(partial.isResent(at(3), record(3, 3))).toBe(false);
  });

  it('the check ends once the stream is more than a window past what was delivered', () => {
    const w = new ResendWindow(2_000, true);
    for (let s = 1; s <= 10; s++) w.add(at(s), record(s, s));
    w.armResend();
    expect(w.isResent(at(11), record(11, 11))).toBe(false);
    expect(w.isResent(at(12.5), record(12, 12))).toBe(false); // past until + window: disarmed
    expect(w.isResent(at(3), record(3, 3))).toBe(false); // a late flow is new again
  });

  it('a second restart before the first caught up recognizes everything delivered since', () => {
    const w = new ResendWindow(2_000, true);
    for (let s = 1; s <= 5; s++) w.add(at(s), record(s, s));
    w.armResend();
    w.add(at(6), record(6, 6));
    w.armResend();
    expect(w.isResent(at(6), record(6, 6))).toBe(true);
    expect(w.isResent(at(5), record(5, 5))).toBe(true);
    expect(w.isResent(at(3.5), record(3, 3))).toBe(true); // older than 6 s − 2 s
  });

  it('flows out of order and without a time: the newest wins, NaN is ignored', () => {
    const w = new ResendWindow(2_000, true);
    w.add(at(10), record(10, 10));
    w.add(at(9.5), record(9, 9));
    w.add(Number.NaN, record(0, 0));
    expect(w.newest).toBe(at(10));
    w.armResend();
    expect(w.isResent(at(9.5), record(9, 9))).toBe(true);
  });

  it('keeps only the window when very many flows go through (compaction), and still recognizes the last ones', () => {
    const w = new ResendWindow(10, false);
    for (let i = 0; i < 50_000; i++) w.add(i, record(i / 1000, i));
    w.armResend();
    expect(w.isResent(49_999, record(49_999 / 1000, 49_999))).toBe(true);
    expect(w.isResent(49_990, record(49_990 / 1000, 49_990))).toBe(true);
    expect(w.isResent(49_000, record(49, 49_000))).toBe(false); // out of the window, passed on
  });
});
