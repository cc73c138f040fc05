import { describe, expect, it } from 'vitest';
import { durationText, excerpt, guessInput, learningNote } from '../../../src/flows/replay-diagnosis.js';

describe('guessInput', () => {
  it('recognises hubble observe text output, even after comment lines', () => {
    expect(guessInput(['# hubble observe', 'May  4 13:23:40.501: default/tiefighter:42690 -> default/deathstar:80 http-request FORWARDED (HTTP/1.1 POST /)'])).toMatch(/hubble observe` text output.*-o json/);
    expect(guessInput(['Feb 17 09:01:02: kube-system/coredns:53 <> default/x:4000 to-endpoint FORWARDED (UDP)'])).toMatch(/text output/);
  });

  it('recognises JSON spread over several lines, binary data and YAML', () => {
    expect(guessInput(['[', '  {', '    "flow": {'])).toMatch(/several lines/);
    expect(guessInput(['{ "flow": {', '    "time": "x"'])).toMatch(/several lines/);
    expect(guessInput(['\u0000\u0001\u0002\ufffd\ufffdabc'])).toMatch(/binary/);
    expect(guessInput(['apiVersion: v1', 'kind: Pod'])).toMatch(/YAML/);
    expect(guessInput(['---', 'kind: Pod'])).toMatch(/YAML/);
  });

  it('says nothing about what it does not recognise, or about single-line JSON', () => {
    expect(guessInput([])).toBeUndefined();
    expect(guessInput(['hello world'])).toBeUndefined();
    expect(guessInput(['{"kind":"Pod"}'])).toBeUndefined();
    expect(guessInput(['plain text with one \u0001 in a long line of ordinary words'])).toBeUndefined();
  });

  it('hostile lines cost little: a huge line is only looked at in part', () => {
    const started = performance.now();
    expect(guessInput(['\u0000'.repeat(5_000_000)])).toMatch(/binary/);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('texts', () => {
  it('durationText', () => {
    expect(durationText(800)).toBe('0.8 s');
    expect(durationText(45_000)).toBe('45 s');
    expect(durationText(119_000)).toBe('1 min 59 s');
    expect(durationText(3_600_000)).toBe('1 h');
    expect(durationText(6_000_000)).toBe('1 h 40 min');
  });

  it('learningNote suggests a period below the span, or only --learn when the span is tiny', () => {
    expect(learningNote(119_000, 3_600_000)).toContain('spans 1 min 59 s of flows, within the 1 h learning period');
    expect(learningNote(119_000, 3_600_000)).toContain('N below 1.9');
    expect(learningNote(25 * 60_000, 3_600_000)).toContain('N below 25)');
    const tiny = learningNote(0, 3_600_000);
    expect(tiny).toContain('--learn CAPTURE');
    expect(tiny).not.toContain('--learning-minutes');
  });

  it('excerpt escapes and cuts', () => {
    expect(excerpt('\u001b[31mred')).toBe('\\x1b[31mred');
    expect(excerpt('y'.repeat(300))).toBe(`${'y'.repeat(100)}…`);
  });
});
