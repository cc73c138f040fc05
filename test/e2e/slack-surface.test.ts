// The Slack surface against hostile and mistaken input: every refusal is clear and changes nothing.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, incidentMessageFor, openIncident, startTestEnvironment, waitForStatus, waitForContained } from '../helpers/environment.js';

let env: EmbeddedEnvironment;
beforeAll(async () => {
  env = await startTestEnvironment();
});
afterAll(() => env?.stop());

const netpols = (ns: string) => env.kube.list('NetworkPolicy', ns).map((p) => (p as { metadata: { name: string } }).metadata.name).sort();
const slash = (text: string, userId: string = DEMO_USERS.oncall.id) => env.driver!.slashCommand({ userId, channelId: DEMO_CHANNEL, text });
const ephemeralTo = (user: string) => env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === user);
const incidentCount = async () => (await env.bot!.store.list(1000)).length;

describe('slash commands', () => {
  it('rejects a forged signature and a stale timestamp before any handler runs', async () => {
    const before = { calls: env.slack.calls.length, incidents: await incidentCount() };
    const forged = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident db', forge: { signingSecret: 'not-the-secret' } });
    expect(forged.status).toBe(401);
    const stale = await env.driver!.slashCommand({
      userId: DEMO_USERS.oncall.id,
      channelId: DEMO_CHANNEL,
      text: 'incident db',
      forge: { timestampSeconds: Math.floor(Date.now() / 1000) - 6 * 60 },
    });
    expect(stale.status).toBe(401);
    const tampered = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'help', forge: { tamperBody: (b) => b.replace('help', 'incident%20db') } });
    expect(tampered.status).toBe(401);
    const unsigned = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident db', forge: { omitSignature: true } });
    expect(unsigned.status).toBe(401);
    // A genuine request afterwards is the first thing the bot handles.
    expect((await slash('help')).status).toBe(200);
    expect(env.slack.calls.slice(before.calls).filter((c) => c.kind !== 'api' || c.method !== 'auth.test')).toEqual([]);
    expect(await incidentCount()).toBe(before.incidents);
  });

  it('answers help and unknown commands with usage, in the acknowledgement', async () => {
    const help = await slash('help');
    expect(help.status).toBe(200);
    expect(help.body).toContain('/netpol incident [cluster/]<namespace>');
    const unknown = await slash('reboot everything');
    expect(unknown.body).toContain('Unknown command `reboot`');
    expect(unknown.body).toContain('/netpol incident [cluster/]<namespace>');
  });

  it('refuses a malformed selector and an invalid namespace without opening anything', async () => {
    const before = await incidentCount();
    expect((await slash('incident db tier in (a,b')).body).toContain('Malformed label selector');
    expect((await slash('incident Db_Prod')).body).toContain('not a valid namespace');
    expect(await incidentCount()).toBe(before);
  });

  it('refuses protected namespaces (kube-system and the bot’s own)', async () => {
    for (const ns of ['kube-system', 'netpol-responder']) {
      const result = await slash(`incident ${ns}`);
      expect(result.body).toContain('protected namespace');
    }
    expect(netpols('kube-system')).not.toContain(expect.stringMatching(/quarantine/));
  });

  it('refuses an unknown namespace in the acknowledgement itself and opens nothing', async () => {
    const before = { incidents: await incidentCount(), jobs: await env.bot!.queue.counts() };
    const seen = env.slack.calls.length;
    const result = await slash('incident payments-eu');
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ response_type: 'ephemeral', text: 'Namespace `payments-eu` does not exist in the cluster. No incident was opened.' });
    expect(result.body).not.toContain('Opening');
    await new Promise((r) => setTimeout(r, 300));
    expect(env.slack.calls.slice(seen).filter((c) => c.kind === 'response_url' || c.method === 'chat.postMessage')).toEqual([]);
    expect(await incidentCount()).toBe(before.incidents);
    expect(await env.bot!.queue.counts()).toEqual(before.jobs);
  });

  it('says "Checking namespace", never "Opening", when the API is slow or failing, and lets the job decide', async () => {
    // A namespace the web role's namespace watch holds needs no API call (the next test). With
    // namespaces unwatchable and the streams cut, the watch cannot vouch for any, and the API is asked.
    const watchesCut = env.kube.requests.length;
    const lift = env.kube.deny({ verb: 'watch', resource: 'namespaces' });
    env.kube.cutWatches();
    const deadline = Date.now() + 5000;
    while (!env.kube.requests.slice(watchesCut).some((r) => r.verb === 'watch' && r.status === 403) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    try {
      await checkingNamespace();
    } finally {
      lift();
    }
  }, 30_000);

  it('says "Opening" at once for a namespace the namespace watch holds, however slow the API', async () => {
    // The first command after the watches were refused starts a fresh namespace watch: in sync afterwards.
    const { incidentId } = await openIncident(env, 'incident frontend -- warm the view');
    await click(env, incidentMessageFor(env, incidentId)!, DEMO_USERS.approver.id, 'reject');
    await waitForStatus(env, incidentId, 'rejected');
    env.kube.injectDelay({ verb: 'get', resource: 'namespaces', ms: 2500, times: 1 });
    const result = await slash('incident frontend -- view knows it');
    const text = JSON.parse(result.body).text as string;
    expect(text).toMatch(/^Opening incident `([a-z0-9-]+)`/);
    expect(result.ackMs).toBeLessThan(1500);
    const opened = /^Opening incident `([a-z0-9-]+)`/.exec(text)![1]!;
    await env.slack.waitForMessage((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`NetworkPolicy incident ${opened}`) && hasApprovalButtons(m), 10_000);
    await click(env, incidentMessageFor(env, opened)!, DEMO_USERS.approver.id, 'reject');
    await waitForStatus(env, opened, 'rejected');
    env.kube.clearFaults();
  }, 30_000);

  async function checkingNamespace(): Promise<void> {
    for (const trouble of ['slow', 'error'] as const) {
      if (trouble === 'slow') env.kube.injectDelay({ verb: 'get', resource: 'namespaces', ms: 2500, times: 1 });
      else env.kube.injectFault({ verb: 'get', resource: 'namespaces', status: 503, times: 1, message: 'apiserver restarting' });
      const result = await slash(`incident frontend -- ${trouble} api`);
      expect(result.status).toBe(200);
      expect(result.ackMs).toBeLessThan(2500); // inside Slack's 3 s, without waiting for the slow answer
      const text = JSON.parse(result.body).text as string;
      expect(text).toMatch(/^Checking namespace `frontend`… \(the cluster (did not answer within 1\.5 s|answered with an error: .+)\)\. If it exists, incident `([a-z0-9-]+)` opens/);
      expect(text).not.toContain('Opening');
      const incidentId = /incident `([a-z0-9-]+)` opens/.exec(text)![1]!;
      // The job asks again (the fault is spent) and opens it.
      await env.slack.waitForMessage((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`NetworkPolicy incident ${incidentId}`) && hasApprovalButtons(m), 10_000);
      await click(env, incidentMessageFor(env, incidentId)!, DEMO_USERS.approver.id, 'reject');
      await waitForStatus(env, incidentId, 'rejected');
    }
  }

  it('still answers an unknown namespace through the response_url when the check could not tell', async () => {
    env.kube.injectDelay({ verb: 'get', resource: 'namespaces', ms: 2000, times: 1 });
    const before = await incidentCount();
    const seen = env.slack.calls.length;
    const result = await slash('incident payments-us');
    expect(result.body).toContain('Checking namespace `payments-us`');
    const call = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen, 5000);
    expect(String(call.args.text)).toContain('Namespace `payments-us` does not exist');
    expect(await incidentCount()).toBe(before);
  }, 15_000);

  it('links a second incident on the same scope to the open one', async () => {
    const { incidentId } = await openIncident(env, 'incident api app=orders -- first');
    const seen = env.slack.calls.length;
    await slash('incident api app=orders -- again', DEMO_USERS.secondApprover.id);
    const call = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen, 5000);
    expect(String(call.args.text)).toContain(`An incident is already open`);
    expect(String(call.args.text)).toContain(incidentId);
    const open = (await env.bot!.store.list(1000)).filter((i) => i.scopeKey === 'api/app=orders' && i.status === 'open');
    expect(open.map((i) => i.id)).toEqual([incidentId]);
    const timeline = await env.bot!.store.timeline(incidentId);
    expect(timeline.some((e) => e.type === 'incident.duplicate' && e.actor === `slack:${DEMO_USERS.secondApprover.id}`)).toBe(true);
  });

  it('shows status of all incidents and of one', async () => {
    const { incidentId } = await openIncident(env, 'incident frontend -- status check');
    const seen = env.slack.calls.length;
    await slash('status');
    let call = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen, 5000);
    expect(String(call.args.text)).toContain(incidentId);
    const seen2 = env.slack.calls.length;
    await slash(`status ${incidentId}`);
    call = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen2, 5000);
    expect(String(call.args.text)).toContain('awaiting-approval');
    const seen3 = env.slack.calls.length;
    await slash('status 20990101-nothere');
    call = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen3, 5000);
    expect(String(call.args.text)).toContain('No incident with id `20990101-nothere`');
  });
});

describe('approval buttons', () => {
  it('refuses a non-approver and the requester, ephemerally, and nothing changes', async () => {
    const { incidentId, message } = await openIncident(env, 'incident db app=postgres -- approvals');
    const before = await env.bot!.store.require(incidentId);
    await click(env, message, DEMO_USERS.outsider.id);
    await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.outsider.id && m.text.includes('Only approvers'), 5000);
    expect(await env.bot!.store.require(incidentId)).toEqual(before);
    expect(netpols('db')).not.toContain(`netpol-responder-quarantine-${incidentId}`);
    expect(ephemeralTo(DEMO_USERS.outsider.id).length).toBeGreaterThan(0);
  });

  it('an approver who opened the incident cannot approve it alone', async () => {
    const { incidentId, message } = await openIncident(env, 'incident frontend app=web -- self approval', DEMO_USERS.approver.id);
    const before = await env.bot!.store.require(incidentId);
    await click(env, message, DEMO_USERS.approver.id);
    await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.approver.id && m.text.includes('You opened this incident'), 5000);
    expect(await env.bot!.store.require(incidentId)).toEqual(before);
    await click(env, message, DEMO_USERS.secondApprover.id, 'reject');
    await waitForStatus(env, incidentId, 'rejected');
  });

  it('a double click and a concurrent click by another approver apply once; the losers are told it was decided', async () => {
    const { incidentId, message } = await openIncident(env, 'incident db app=redis-cache -- double click');
    const seen = env.slack.calls.length;
    const results = await Promise.all([
      click(env, message, DEMO_USERS.approver.id),
      click(env, message, DEMO_USERS.approver.id),
      click(env, message, DEMO_USERS.secondApprover.id),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    await waitForContained(env, incidentId);
    const incident = await env.bot!.store.require(incidentId);
    expect(incident.steps.contain?.approvals).toHaveLength(1);
    const applies = env.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`netpol-responder-quarantine-${incidentId}`) && !r.query.dryRun);
    expect(applies).toHaveLength(1);
    expect((await env.bot!.store.timeline(incidentId)).filter((e) => e.type === 'step.approved' && e.step === 'contain')).toHaveLength(1);
    const refusals = () => env.slack.calls.slice(seen).filter((c) => c.kind === 'response_url' && String(c.args.text).includes('already decided'));
    await expect.poll(() => refusals().length, { timeout: 5000 }).toBe(2);
  });

  it('reject ends the incident, applies nothing and frees the scope', async () => {
    const { incidentId, message } = await openIncident(env, 'incident frontend app=web -- false alarm');
    await click(env, message, DEMO_USERS.approver.id, 'reject');
    await waitForStatus(env, incidentId, 'rejected');
    expect(netpols('frontend')).not.toContain(`netpol-responder-quarantine-${incidentId}`);
    expect(await env.bot!.store.openIncidentFor('frontend/app=web')).toBeUndefined();
    const updated = await env.slack.waitForMessage((m) => m.ts === message.ts && !hasApprovalButtons(m), 5000);
    expect(JSON.stringify(updated.blocks)).toContain('Rejected');
  });

  it('ignores a button with a malformed value', async () => {
    const { message } = await openIncident(env, 'incident api app=payments -- malformed');
    const seen = env.slack.calls.length;
    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: 'netpol_approve', value: '{"incidentId":"../x"}' });
    const call = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen, 5000);
    expect(String(call.args.text)).toContain('malformed value');
  });
});

describe('export from Slack', () => {
  it('uploads the postmortem to the incident thread', async () => {
    const { incidentId, message } = await openIncident(env, 'incident api app=orders,tier=backend -- export me');
    await click(env, message, DEMO_USERS.approver.id);
    await waitForContained(env, incidentId);
    await slash(`export ${incidentId} json`);
    const upload = await env.slack.waitFor((c) => c.method === 'files.completeUploadExternal' && JSON.stringify(c.args).includes(incidentId), 5000);
    expect(JSON.stringify(upload.args)).toContain(message.ts);
    const withFile = await env.slack.waitForMessage((m) => (m.files ?? []).some((f) => f.name === `postmortem-${incidentId}.json`), 5000);
    const content = JSON.parse(String(withFile.files![0]!.content)) as { incident: { id: string }; timeline: { type: string }[] };
    expect(content.incident.id).toBe(incidentId);
    expect(content.timeline.map((e) => e.type)).toContain('policy.confirmed');
  });

  it('says so when the incident does not exist', async () => {
    const seen = env.slack.calls.length;
    await slash('export 20990101-nothere md');
    const call = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen && String(c.args.text).includes('No incident'), 5000);
    expect(String(call.args.text)).toContain('20990101-nothere');
  });
});

describe('a web-only process', () => {
  it('acknowledges `/netpol incident` from its namespace watch: no API call per command', async () => {
    const web = await startTestEnvironment({ roles: ['web'] });
    try {
      const mark = web.kube.requests.length;
      for (const ns of ['db', 'api', 'frontend']) {
        const result = await web.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `incident ${ns} -- web only` });
        expect(JSON.parse(result.body).text).toMatch(/^Opening incident `[a-z0-9-]+`/);
      }
      const gets = web.kube.requests.slice(mark).filter((r) => r.method === 'GET' && /^\/api\/v1\/namespaces\/[^/]+$/.test(r.path));
      expect(gets).toEqual([]);
      // One it has not seen is asked of the API, and refused in the acknowledgement.
      const unknown = await web.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident payments-eu' });
      expect(JSON.parse(unknown.body).text).toContain('Namespace `payments-eu` does not exist');
      expect(web.kube.requests.slice(mark).some((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/payments-eu')).toBe(true);
    } finally {
      await web.stop();
    }
  }, 30_000);

  it('tells the user when a command acknowledged could not be queued, and queues nothing', async () => {
    const web = await startTestEnvironment({ roles: ['web'] });
    try {
      const before = await web.bot!.queue.counts();
      // A write Redis refuses (a replica promoted under it, say), with text that must not format or mention.
      const enqueue = vi.spyOn(web.bot!.queue, 'enqueue').mockRejectedValue(new Error('READONLY <!channel> *You can\'t write* against a read only replica.'));
      const seen = web.slack.calls.length;
      const opened = await web.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident db -- cannot queue' });
      const id = /^Opening incident `([a-z0-9-]+)`/.exec(JSON.parse(opened.body).text)?.[1];
      expect(id).toBeDefined();
      const told = await web.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen, 5000);
      expect(told.args.text).toBe(`Queueing it failed (READONLY &lt;!channel&gt; \u2217You can't write\u2217 against a read only replica.). Incident \`${id}\` may not have been opened: \`/netpol status ${id}\` tells.`);
      const exportSeen = web.slack.calls.length;
      await web.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `export ${id} md` });
      const exportTold = await web.slack.waitFor((c) => c.kind === 'response_url' && c.seq > exportSeen, 5000);
      expect(String(exportTold.args.text)).toMatch(/^Queueing it failed \(READONLY .*\)\. The export may not have started: if nothing is posted in its thread within a minute, try again\.$/);
      expect(enqueue).toHaveBeenCalledTimes(2);
      expect(await web.bot!.queue.counts()).toEqual(before);
    } finally {
      await web.stop();
    }
  }, 30_000);

  it('commands that arrive together share one Redis PING, and each is still answered', async () => {
    const web = await startTestEnvironment({ roles: ['web'] });
    try {
      // Each PING takes 200 ms, as on a busy Redis: the commands' checks overlap whether they come
      // before the acknowledgement or, with the heartbeat fresh, after it (on loopback an answer
      // could otherwise come back before the next command's check, and nothing would be shared).
      const ping = web.bot!.queue.ping.bind(web.bot!.queue);
      const pings = vi.spyOn(web.bot!.queue, 'ping').mockImplementation(async () => {
        await new Promise((r) => setTimeout(r, 200));
        await ping();
      });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => web.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `incident db app=burst-${i} -- together` })));
      for (const result of results) expect(JSON.parse(result.body).text).toMatch(/^Opening incident `[a-z0-9-]+`/);
      expect(pings.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(pings.mock.calls.length).toBeLessThan(20);
      // One after the others asks again (once their shared PING is answered).
      await new Promise((r) => setTimeout(r, 500));
      const before = pings.mock.calls.length;
      await web.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident db app=later -- alone' });
      expect(pings.mock.calls.length).toBe(before + 1);
    } finally {
      await web.stop();
    }
  }, 30_000);
});
