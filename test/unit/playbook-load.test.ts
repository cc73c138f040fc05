import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePlaybook, PlaybookError, loadPlaybook } from '../../src/playbook/load.js';
import { parseDuration } from '../../src/playbook/schema.js';
import { stepActionCheck } from '../../src/playbook/steps/index.js';

const check = {
  actions: new Set(['contain']),
  validateParams: (_action: string, params: unknown) =>
    (params as Record<string, unknown>).keepDnsEgress === 'maybe' ? [{ path: ['keepDnsEgress'], message: 'expected a boolean' }] : [],
};

function problems(text: string): string[] {
  try {
    parsePlaybook(text, 'pb.yaml', check);
  } catch (error) {
    if (error instanceof PlaybookError) return error.problems;
    throw error;
  }
  throw new Error('expected a PlaybookError');
}

const valid = `apiVersion: netpol-responder/v1
kind: Playbook
name: p
steps:
  - id: contain
    title: Contain
    action: contain
    approval:
      rule: one
      timeout: 5m
`;

describe('playbook loader', () => {
  it('loads the shipped playbook, checked by the real step handlers', () => {
    const playbook = loadPlaybook('playbooks/netpol-incident.yaml', stepActionCheck);
    expect(playbook.steps.map((s) => s.id)).toEqual(['contain', 'trace', 'validate', 'restore', 'harden']);
    expect(playbook.steps[1]?.approval.rule).toBe('none');
    expect(playbook.steps[2]?.approval.rule).toBe('none');
    // Restoring writes: its plan is approved (and, in step mode, each step).
    expect(playbook.steps[3]?.approval.rule).toBe('one');
    expect(playbook.steps[3]?.params).toMatchObject({ approve: 'plan', trafficWindow: '30s', watchWindow: '15m' });
    expect(playbook.steps[0]?.approval.timeout).toBe(600_000);
    // Hardening proposes files for review: one approver, and the history a workload needs for allow rules.
    expect(playbook.steps[4]).toMatchObject({ title: 'Post-Incident Hardening', action: 'harden', approval: { rule: 'one' }, params: { minHistory: '24h', v4Prefix: 24, v6Prefix: 64 } });
    expect(playbook.parameters.protectedNamespaces).toContain('kube-system');
  });

  it('applies defaults', () => {
    const playbook = parsePlaybook(valid, 'pb.yaml', check);
    expect(playbook.steps[0]?.approval).toEqual({ rule: 'one', timeout: 300_000, remindEvery: 600_000, maxReminders: 3 });
    expect(playbook.parameters.allowProtectedOverride).toBe(false);
  });

  it.each([
    [valid.replace('rule: one', 'rule: three'), 'pb.yaml:9:13: steps.0.approval.rule:'],
    [valid.replace('timeout: 5m', 'timeout: soon'), 'pb.yaml:10:16: steps.0.approval.timeout: must be a duration'],
    [valid.replace('action: contain', 'action: reboot-cluster'), 'pb.yaml:7:13: steps.0.action: unknown action "reboot-cluster" (this version implements: contain)'],
    [valid.replace('id: contain', 'id: Contain!'), 'pb.yaml:5:9: steps.0.id:'],
    [valid.replace('kind: Playbook', 'kind: Runbook'), 'pb.yaml:2:7: kind:'],
    [valid.replace('    title: Contain\n', ''), 'pb.yaml:5:5: steps.0.title:'],
    [valid + '  - id: contain\n    title: Again\n    action: contain\n    approval: { rule: none }\n', 'pb.yaml:11:9: steps.1.id: duplicate step id "contain"'],
    [valid + 'extra: 1\n', 'pb.yaml:1:1: (root): Unrecognized key: "extra"'],
    [valid.replace('steps:', 'steps: []\nx:'), 'pb.yaml:'],
    [valid + '    params:\n      keepDnsEgress: maybe\n', 'pb.yaml:12:22: steps.0.params.keepDnsEgress: expected a boolean'],
  ])('reports file, line and reason (%#)', (text, expected) => {
    expect(problems(text).join('\n')).toContain(expected);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('apiVersion: netpol-responder/v1\nsteps:\n  - id: [unclosed\n')[0]).toMatch(/^pb\.yaml:\d+:\d+: YAML syntax:/);
    expect(problems('')[0]).toMatch(/^pb\.yaml:1:1: \(root\):/);
    expect(problems('just a string')[0]).toMatch(/^pb\.yaml:1:1: \(root\):/);
  });

  it('refuses oversized files and alias bombs', () => {
    expect(problems('#'.repeat(300 * 1024))[0]).toMatch(/larger than 256 KiB/);
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]', ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`)].join('\n');
    expect(problems(bomb)[0]).toMatch(/^pb\.yaml:1:1: .*alias/i);
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadPlaybook('/nonexistent/pb.yaml', check)).toThrow(/\/nonexistent\/pb\.yaml: cannot read the file/);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(() => parseDuration('2w')).toThrow(/invalid duration/);
  });

  it('keeps the shipped playbook readable as YAML text', () => {
    expect(readFileSync('playbooks/netpol-incident.yaml', 'utf8')).toMatch(/^# The incident response playbook/);
  });
});
