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
    ['incident prod-eu/db', { kind: 'incident', cluster: 'prod-eu', namespace: 'db' }],
    ['incident us1/db app=postgres -- egress', { kind: 'incident', cluster: 'us1', namespace: 'db', selector: 'app=postgres', labelSelector: { matchLabels: { app: 'postgres' }, matchExpressions: [] }, reason: 'egress' }],
    ['status prod-eu-20261123-ab12cd', { kind: 'status', incidentId: 'prod-eu-20261123-ab12cd' }],
    ['status', { kind: 'status' }],
    ['status 20261123-ab12cd', { kind: 'status', incidentId: '20261123-ab12cd' }],
    ['export 20261123-ab12cd', { kind: 'export', incidentId: '20261123-ab12cd', format: 'md' }],
    ['export 20261123-ab12cd json', { kind: 'export', incidentId: '20261123-ab12cd', format: 'json' }],
    ['help', { kind: 'help' }],
    ['', { kind: 'help' }],
    ['restore 20261201-abc123 1a2b3c4d', { kind: 'restore', incidentId: '20261201-abc123', revision: '1a2b3c4d' }],
    ['RESTORE  20261201-abc123   v1.2.0  ', { kind: 'restore', incidentId: '20261201-abc123', revision: 'v1.2.0' }],
    ['restore 20261201-abc123 shop-policies:release/2026-11', { kind: 'restore', incidentId: '20261201-abc123', revision: 'shop-policies:release/2026-11' }],
    [`restore 20261201-abc123 ${'a'.repeat(40)}`, { kind: 'restore', incidentId: '20261201-abc123', revision: 'a'.repeat(40) }],
    [`restore 20261201-abc123 ${'b'.repeat(200)}`, { kind: 'restore', incidentId: '20261201-abc123', revision: 'b'.repeat(200) }],
  ])('parses %j', (text, expected) => {
    expect(parseNetpolCommand(text)).toEqual(expected);
  });

  it.each([
    ['incident', /Which namespace/],
    ['incident DB', /not a valid namespace/],
    ['incident /db', /not a cluster name/],
    ['incident Prod/db', /not a cluster name/],
    ['incident prod/', /not a valid namespace/],
    ['incident prod/eu/db', /not a valid namespace/],
    ['incident <!channel>/db', /`&lt;!channel&gt;` is not a cluster name/],
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
    ['restore', /Which incident and revision\?.*\/netpol restore <incident-id> <sha-or-tag>/],
    ['restore 20261201-abc123', /Which commit SHA or tag\?/],
    ['restore ../etc/passwd 1a2b3c', /`..\/etc\/passwd` is not an incident id/],
    ['restore ab 1a2b3c', /is not an incident id/],
    ['restore <!channel> 1a2b3c', /`&lt;!channel&gt;` is not an incident id/],
    ['restore 20261201-abc123 v1 v2', /One revision only, without spaces/],
    ['restore 20261201-abc123 v1\tv2', /One revision only/],
    ['restore 20261201-abc123 v1\u00a0v2', /One revision only/],
    [`restore 20261201-abc123 ${'c'.repeat(201)}`, /too long \(201 characters; at most 200\)/],
    ['restore 20261201-abc123 v1\u0000', /control or invisible characters/],
    ['restore 20261201-abc123 v1\u001b[31m', /control or invisible characters/],
    ['restore 20261201-abc123 v1\u007f', /control or invisible characters/],
    ['restore 20261201-abc123 v1\u200bx', /control or invisible characters/],
    ['restore 20261201-abc123 abc\u202edef', /control or invisible characters/],
    ['restore 20261201-abc123 --upload-pack=evil', /is not a commit SHA or tag/],
    ['restore 20261201-abc123 shop:-x', /is not a commit SHA or tag/],
    ['restore 20261201-abc123 shop:', /is not a commit SHA or tag/],
    ['restore 20261201-abc123 :abc', /is not a commit SHA or tag/],
  ])('refuses %j with a clear message and the help', (text, message) => {
    const command = parseNetpolCommand(text);
    expect(command.kind).toBe('invalid');
    if (command.kind === 'invalid') {
      expect(command.message).toMatch(message);
      expect(command.message).toContain('/netpol incident [cluster/]<namespace>');
    }
  });

  it('lists restore in the help', () => {
    const help = parseNetpolCommand('nope');
    expect(help.kind === 'invalid' && help.message).toContain('/netpol restore <incident-id> <sha-or-tag>');
  });
});
