import { describe, expect, it } from 'vitest';
import { AlertGate } from '../../../src/flows/pipeline.js';

describe('AlertGate', () => {
  it('raises the first anomaly of a key, folds repeats within the cooldown, and opens a new event after a quiet gap', () => {
    const gate = new AlertGate(1000);
    expect(gate.admit('a', 0)).toBe(true);
    expect(gate.admit('a', 500)).toBe(false);
    expect(gate.admit('a', 1400)).toBe(false); // 900 ms after the last repeat: same event
    expect(gate.repeats('a')).toBe(2);
    expect(gate.admit('a', 2400)).toBe(true); // a full cooldown of quiet
    expect(gate.repeats('a')).toBe(0);
    expect(gate.suppressed).toBe(2);
    expect(gate.repeats('never')).toBe(0);
  });

  it('a late repeat does not move the event backwards', () => {
    const gate = new AlertGate(1000);
    gate.admit('a', 5000);
    expect(gate.admit('a', 4500)).toBe(false);
    expect(gate.admit('a', 5999)).toBe(false); // still measured from 5000, not 4500
    expect(gate.admit('a', 7000)).toBe(true);
  });

  it('prunes closed events, reuses their room, and keeps many keys apart (built like the detectors build them)', () => {
    const gate = new AlertGate(1000);
    for (let i = 0; i < 5000; i++) expect(gate.admit(`new-east-west-edge:ns/w${i % 50}:w:ns/p${i}:TCP/${8000 + (i % 7)}`, i)).toBe(true);
    expect(gate.size).toBe(5000);
    gate.prune(5500); // events last seen before 4501 are over
    expect(gate.size).toBe(499);
    for (let i = 0; i < 4000; i++) expect(gate.admit(`other:${i}`, 6000)).toBe(true);
    expect(gate.size).toBe(4499);
    expect(gate.admit('new-east-west-edge:ns/w49:w:ns/p4999:TCP/8001', 5600)).toBe(false);
    expect(gate.admit('other:3999', 6001)).toBe(false);
    expect(gate.repeats('other:3999')).toBe(1);
    expect(gate.repeats('other:3998')).toBe(0);
  });

  it('a muted key stays silent until the mute ends, then raises again', () => {
    const gate = new AlertGate(1000);
    gate.mute('k', 5000);
    expect(gate.admit('k', 100)).toBe(false);
    expect(gate.admit('k', 5000)).toBe(true);
    expect(gate.admit('k', 5001)).toBe(false);
  });
});
