// The time box's expiry notice: minutes left while it runs, nothing once it has ended (a late job).
import { describe, expect, it } from 'vitest';
import { minutesLeftToAnnounce } from '../../src/playbook/containment-runner.js';

const END = '2026-12-02T10:00:00.000Z';
const at = (iso: string) => new Date(iso);

describe('minutesLeftToAnnounce', () => {
  it('rounds the minutes left, never below 1 while the box runs', () => {
    expect(minutesLeftToAnnounce(END, at('2026-12-02T09:55:00.000Z'))).toBe(5);
    expect(minutesLeftToAnnounce(END, at('2026-12-02T09:59:50.000Z'))).toBe(1);
  });

  it('says nothing at or after the end (the wall clock stepped past it)', () => {
    expect(minutesLeftToAnnounce(END, at(END))).toBeNull();
    expect(minutesLeftToAnnounce(END, at('2026-12-02T11:00:00.000Z'))).toBeNull();
  });

  it('says nothing for an unreadable end', () => {
    expect(minutesLeftToAnnounce('not a time', at(END))).toBeNull();
  });
});
