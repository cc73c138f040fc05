import { describe, expect, it } from 'vitest';
import { parseNetpolCommand } from '../../src/slack/commands.js';

describe('/netpol command parsing', () => {
  it.each([
    ['incident db', { kind: 'incident', namespace: 'db' }],
    ['  incident   db  ', { kind: 'incident', namespace: 'db' }],
    ['INCIDENT db', { kind: 'incident', namespace: 'db' }],
    ['incident db -- exfil to 203.0.113.66', { kind: 'incident', namespace: 'db', reason: 'exfil to 203.0.113.66' }],
    ['incident db --', { kind: 'incident', namespace: 'db' }],
    ['incident db app=postgres', { kind: 'incident', namespace: 'db', selector: 'app=postgres', labelSelector: { matchLabels: { app: 'postgres' }, matchExpressions: [] } }],
    [
      'incident db tier in (a, b),!legacy -- why -- not',
      {
        kind: 'incident',
        namespace: 'db',
        selector: 'tier in (a, b),!legacy',
        labelSelector: { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'legacy', operator: 'DoesNotExist' }] },
        reason: 'why -- not',
      },
    ],
    ['status', { kind: 'status' }],
    ['status 20261123-ab12cd', { kind: 'status', incidentId: '20261123-ab12cd' }],
    ['export 20261123-ab12cd', { kind: 'export', incidentId: '20261123-ab12cd', format: 'md' }],
    ['export 20261123-ab12cd json', { kind: 'export', incidentId: '20261123-ab12cd', format: 'json' }],
    ['help', { kind: 'help' }],
    ['', { kind: 'help' }],
  ])('parses %j', (text, expected) => {
    expect(parseNetpolCommand(text)).toEqual(expected);
  });

  it.each([
    ['incident', /Which namespace/],
    ['incident DB', /not a valid namespace/],
    ['incident db; rm -rf /', /not a valid namespace/],
    ['incident ' + 'a'.repeat(64), /not a valid namespace/],
    ['incident db =postgres', /Malformed label selector/],
    ['incident db tier in (a,b', /Malformed label selector/],
    ['incident db app=x,,y=z', /Malformed label selector/],
    ['incident db <script>=1', /Malformed label selector/],
    ['reboot the cluster', /Unknown command `reboot`/],
    ['status a b', /Usage: `\/netpol status/],
    ['status ../../etc/passwd', /not an incident id/],
    ['export', /Usage: `\/netpol export/],
    ['export 20261123-ab12cd pdf', /Unknown export format `pdf`/],
    ['export 20261123-ab12cd md extra', /Usage/],
    ['incident db ' + 'x'.repeat(3000), /too long/],
  ])('refuses %j with a clear message and the help', (text, message) => {
    const command = parseNetpolCommand(text);
    expect(command.kind).toBe('invalid');
    if (command.kind === 'invalid') {
      expect(command.message).toMatch(message);
      expect(command.message).toContain('/netpol incident <namespace>');
    }
  });
});
