import { describe, expect, it } from 'vitest';
import { newIncidentId } from '../../src/playbook/engine.js';
import type { IncomingMessage } from 'node:http';
import { deskForRequest } from '../../src/slack/webhook-routes.js';
import { alertOwner, clusterOfIncidentId, clusterOfRequest, ClusterRoutes, type ClusterFront } from '../../src/slack/cluster-routes.js';

/** A front whose parts the routing never calls; only its name and desks matter here. */
function front(name: string | undefined, alerts: Record<string, { channel: string; ts: string }> = {}): ClusterFront {
  const desk = { alertOf: (id: string) => Promise.resolve(alerts[id]) };
  return { ...(name ? { name } : {}), desk, protectedNamespaces: new Set() } as unknown as ClusterFront;
}

describe('routing by cluster', () => {
  it('an incident id leads with its cluster, longest names included', () => {
    const now = new Date('2026-12-02T10:00:00Z');
    const names = ['prod', 'prod-eu', 'a-1'];
    for (const name of names) {
      const id = newIncidentId(now, name);
      expect(id).toMatch(new RegExp(`^${name}-20261202-[a-z0-9]{6}$`));
      expect(clusterOfIncidentId(id, names)).toBe(name);
    }
    expect(newIncidentId(now)).toMatch(/^20261202-[a-z0-9]{6}$/);
    expect(clusterOfIncidentId(newIncidentId(now), names)).toBeUndefined();
    expect(clusterOfIncidentId('other-20261202-abcdef', names)).toBeUndefined();
    expect(clusterOfIncidentId('prod-20261202-abcdef-x', names)).toBeUndefined();
    expect(clusterOfIncidentId('', names)).toBeUndefined();
    expect(clusterOfIncidentId(`prod-${'1'.repeat(10_000)}`, names)).toBeUndefined();
  });

  it('one unnamed cluster: every id and a namespace without prefix go to it; a prefix is refused', () => {
    const only = front(undefined);
    const routes = new ClusterRoutes([only]);
    expect(routes.named).toBe(false);
    expect(routes.forIncident('20261202-abcdef')).toBe(only);
    expect(routes.forScope(undefined)).toEqual({ ok: true, front: only });
    const refused = routes.forScope('prod');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.message).toContain('it serves one cluster: leave the cluster out');
  });

  it('several clusters: a namespace needs its cluster; an unknown cluster is named back, escaped', () => {
    const eu = front('prod-eu');
    const us = front('prod-us');
    const routes = new ClusterRoutes([eu, us]);
    expect(routes.forScope('prod-us')).toEqual({ ok: true, front: us });
    expect(routes.forIncident('prod-eu-20261202-abcdef')).toBe(eu);
    expect(routes.forIncident('20261202-abcdef')).toBeUndefined();
    const missing = routes.forScope(undefined);
    expect(!missing.ok && missing.message).toBe('Which cluster? This bot serves `prod-eu`, `prod-us`: type `/netpol incident <cluster>/<namespace>`. No incident was opened.');
    const unknown = routes.forScope('<!here>');
    expect(!unknown.ok && unknown.message).toContain('`&lt;!here&gt;`');
  });

  it('one named cluster needs no prefix either', () => {
    const only = front('solo');
    const routes = new ClusterRoutes([only]);
    expect(routes.forScope(undefined)).toEqual({ ok: true, front: only });
    expect(routes.forScope('solo')).toEqual({ ok: true, front: only });
    expect(routes.forIncident('solo-20261202-abcdef')).toBe(only);
  });

  it('refuses clusters without distinct names', () => {
    expect(() => new ClusterRoutes([])).toThrow(/at least one cluster/);
    expect(() => new ClusterRoutes([front('a'), front(undefined)])).toThrow(/distinct name/);
  });

  it('an alert click goes to the cluster that posted that alert on the clicked message', async () => {
    // Both clusters raised an anomaly with the same id (ids are per cluster).
    const eu = front('eu', { 'a-1': { channel: 'C1', ts: '1.1' } });
    const us = front('us', { 'a-1': { channel: 'C1', ts: '2.2' } });
    const routes = new ClusterRoutes([eu, us]);
    const deskOf = (f: ClusterFront) => f.desk;
    expect((await alertOwner(routes, deskOf, 'a-1', { channel: 'C1', messageTs: '2.2' }))?.desk).toBe(us.desk);
    expect((await alertOwner(routes, deskOf, 'a-1', { channel: 'C1', messageTs: '1.1' }))?.desk).toBe(eu.desk);
    // Clicked elsewhere: a desk that has it, whose posted place then refuses the click.
    expect((await alertOwner(routes, deskOf, 'a-1', { channel: 'C9', messageTs: '9.9' }))?.posted).toEqual({ channel: 'C1', ts: '1.1' });
    expect(await alertOwner(routes, deskOf, 'nope', { channel: 'C1', messageTs: '1.1' })).toBeUndefined();
    expect(await alertOwner(routes, () => undefined, 'a-1', {})).toBeUndefined();
  });

  it("a webhook's anomalies go to the cluster its URL names", () => {
    const request = (url: string) => ({ url }) as IncomingMessage;
    const eu = front('eu');
    const us = front('us');
    const several = new ClusterRoutes([eu, us]);
    expect(deskForRequest(request('/webhooks/alertmanager?cluster=us'), several)).toEqual({ desk: us.desk });
    expect(deskForRequest(request('/webhooks/alertmanager'), several)).toEqual({ error: expect.stringContaining('add ?cluster=<name> to the URL (eu, us)') });
    expect(deskForRequest(request('/webhooks/alertmanager?cluster=mars'), several)).toEqual({ error: expect.stringContaining('unknown cluster "mars"') });
    expect(deskForRequest(request(`/webhooks/alertmanager?cluster=${'x'.repeat(5000)}`), several)).toEqual({ error: expect.stringMatching(/^unknown cluster "x{64}" /) });
    expect(deskForRequest(request('/webhooks/alertmanager?cluster=us&cluster=eu'), several)).toEqual({ desk: us.desk });
    const one = new ClusterRoutes([front(undefined)]);
    expect(deskForRequest(request('/webhooks/alertmanager'), one)).toEqual({ desk: one.fronts[0]!.desk });
    expect(deskForRequest(request('/webhooks/alertmanager?cluster=eu'), one)).toEqual({ error: 'unknown cluster "eu"' });
    const noDesk = new ClusterRoutes([{ ...front('eu'), desk: undefined } as ClusterFront, us]);
    expect(deskForRequest(request('/webhooks/alertmanager?cluster=eu'), noDesk)).toEqual({ error: 'cluster "eu" has no alerts channel configured' });
  });

  it('a webhook URL names its cluster with ?cluster=; one cluster may leave it out; hostile values are named back cut', () => {
    expect(clusterOfRequest('/webhooks/k8s-audit?cluster=us', ['eu', 'us'])).toEqual({ name: 'us' });
    expect(clusterOfRequest('/webhooks/k8s-audit', ['eu', 'us'])).toEqual({ error: 'this bot serves several clusters: add ?cluster=<name> to the URL (eu, us)' });
    expect(clusterOfRequest('/webhooks/k8s-audit?cluster=', ['eu', 'us'])).toEqual({ error: 'unknown cluster "" (this bot serves eu, us)' });
    expect(clusterOfRequest('/webhooks/k8s-audit?cluster=%22%3C!here%3E', ['eu', 'us'])).toEqual({ error: 'unknown cluster ""<!here>" (this bot serves eu, us)' });
    expect(clusterOfRequest(`/webhooks/k8s-audit?cluster=${'y'.repeat(100_000)}`, ['eu', 'us'])).toEqual({ error: `unknown cluster "${'y'.repeat(64)}" (this bot serves eu, us)` });
    expect(clusterOfRequest(undefined, ['eu', 'us'])).toMatchObject({ error: expect.stringContaining('add ?cluster=') });
    expect(clusterOfRequest('/webhooks/k8s-audit', ['solo'])).toEqual({ name: 'solo' });
    expect(clusterOfRequest('/webhooks/k8s-audit?cluster=solo', ['solo'])).toEqual({ name: 'solo' });
    expect(clusterOfRequest('/webhooks/k8s-audit', [])).toEqual({ name: undefined });
    expect(clusterOfRequest('/webhooks/k8s-audit?cluster=eu', [])).toEqual({ error: 'unknown cluster "eu"' });
  });
});
