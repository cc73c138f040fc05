// The HTML postmortem in a real browser: an incident runs end to end on the embedded environment
// (the flow collector learns the shop, carol's out-of-band allow-all-egress lets postgres-0 reach
// 203.0.113.66, the anomaly alert opens the incident; containment, trace, validate, a restore from
// Git, the lift), `/netpol export <id> html` uploads
// the page to the thread, and headless Chromium (Debian's, driven by playwright-core) opens it from
// a file:// URL. Nothing may be requested but the file itself, nothing may fail or log an error
// (a CSP violation would), the chart and the three connectivity graphs are there, and a screenshot
// is not blank. Skipped only when chromium is not installed and CI is not set (.ci/run installs it).
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { renderPostmortem } from '../../src/timeline/render.js';
import { OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, startTestEnvironment } from '../helpers/environment.js';
import { recordedIncident } from '../helpers/postmortem-fixture.js';
import { CAROL, restorePlaybook, until, waitForEnd } from '../helpers/restore.js';
import { learnShopTraffic } from '../helpers/restore-robust.js';

function findChromium(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const file = join(dir, 'chromium');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

const executablePath = findChromium();
if (!executablePath && !process.env.CI) {
  console.warn('export-html-browser: skipped, chromium is not installed (apt-get install -y chromium); on CI (CI set) this test fails instead');
}

interface Visit {
  requests: string[];
  failed: string[];
  errors: string[];
  dialogs: string[];
}

/** Opens a file in a fresh page and records every request, failure, console error and dialog. */
async function visit(browser: Browser, file: string): Promise<{ page: Page; visit: Visit }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const seen: Visit = { requests: [], failed: [], errors: [], dialogs: [] };
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('requestfailed', (r) => seen.failed.push(`${r.url()}: ${r.failure()?.errorText ?? '?'}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.errors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, visit: seen };
}

/** Distinct colours of a PNG and the share of pixels that are not white. */
function colours(png: Buffer): { distinct: number; nonWhite: number } {
  const image = PNG.sync.read(png);
  const seen = new Set<number>();
  let nonWhite = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    const [r, g, b] = [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
    seen.add((r << 16) | (g << 8) | b);
    if (r < 250 || g < 250 || b < 250) nonWhite += 1;
  }
  return { distinct: seen.size, nonWhite: nonWhite / (image.width * image.height) };
}

describe.skipIf(!executablePath && !process.env.CI)('the HTML postmortem in headless Chromium', () => {
  let env: EmbeddedEnvironment | undefined;
  let browser: Browser | undefined;
  let dir: string;
  let file: string;
  let incidentId: string;

  beforeAll(async () => {
    if (!executablePath) throw new Error('chromium is not installed but CI is set: .ci/run installs it (apt-get install -y chromium)');
    dir = mkdtempSync(join(tmpdir(), 'netpol-html-'));
    env = await startTestEnvironment({ git: true, flows: true, playbookPath: restorePlaybook('plan') });
    const e = env;
    await learnShopTraffic(e);
    await kubectlCreateNetworkPolicy(e.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    e.hubble!.triggerIncident();
    const alert = await e.slack.waitForMessage((m) => !m.threadTs && m.text.includes('203.0.113.66') && JSON.stringify(m.blocks ?? []).includes(OPEN_INCIDENT_ACTION), 15_000);
    await e.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: OPEN_INCIDENT_ACTION });
    const message = await e.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident') && hasApprovalButtons(m), 15_000);
    incidentId = /NetworkPolicy incident ([a-z0-9-]+)/.exec(message.text)![1]!;
    await click(e, message, DEMO_USERS.approver.id);
    await until('the restore proposal', async () => {
      const now = await e.bot!.store.get(incidentId);
      return now?.steps.restore?.status === 'awaiting-approval' || (now && now.status !== 'open') ? now : undefined;
    }, 60_000);
    const proposal = await e.slack.waitForMessage((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes('Restore to a known-good state'), 10_000);
    await click(e, proposal, DEMO_USERS.approver.id);
    const ended = await waitForEnd(e, incidentId);
    expect(ended.status).toBe('completed');
    // The export as a person asks for it: the slash command, the engine's job, the upload.
    await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `export ${incidentId} html` });
    const name = `postmortem-${incidentId}.html`;
    const uploaded = await until('the uploaded HTML postmortem', () => env!.slack.messages(DEMO_CHANNEL).flatMap((m) => m.files ?? []).find((f) => f.name === name && f.content), 30_000);
    file = join(dir, name);
    writeFileSync(file, uploaded.content!);
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await env?.stop();
  });

  it('loads with no request but the file, no failure, no console error', async () => {
    const { page, visit: seen } = await visit(browser!, file);
    expect(seen.requests).toEqual([pathToFileURL(file).href]);
    expect(seen.failed).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.dialogs).toEqual([]);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(await page.title()).toBe(`Postmortem: incident ${incidentId}`);
    await page.close();
  }, 60_000);

  it('shows the timeline chart and the three connectivity graphs, drawn', async () => {
    const { page } = await visit(browser!, file);
    expect(await page.locator('svg.chart').count()).toBe(1);
    expect(await page.locator('svg.chart circle.marker').count()).toBeGreaterThan(10);
    expect(await page.locator('svg.chart g.milestone').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('svg.chart').textContent()).toContain('time to contain');
    for (const phase of ['before', 'during', 'after']) {
      const graph = page.locator(`svg#g-${phase}`);
      expect(await graph.count()).toBe(1);
      expect(await graph.locator('path.edge').count(), phase).toBeGreaterThan(0);
      const box = await graph.boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      expect(box!.height).toBeGreaterThan(60);
    }
    // Before containment the anomaly's flow is open; under containment it is closed.
    expect(await page.locator('svg#g-before path.edge.e-open.k-anomaly').count()).toBeGreaterThan(0);
    expect(await page.locator('svg#g-during path.edge.e-open.k-anomaly').count()).toBe(0);
    expect(await page.locator('.diff .d-del').count()).toBeGreaterThan(0);

    const shot = colours(await page.screenshot({ fullPage: true }));
    expect(shot.distinct).toBeGreaterThan(50);
    expect(shot.nonWhite).toBeGreaterThan(0.03);
    const graphs = colours(await page.locator('.graphs').screenshot());
    expect(graphs.distinct).toBeGreaterThan(20);
    await page.close();
  }, 60_000);

  it('a hostile incident executes nothing and loads nothing', async () => {
    const hostile = join(dir, 'hostile.html');
    writeFileSync(hostile, renderPostmortem('html', recordedIncident({ hostile: true })));
    const { page, visit: seen } = await visit(browser!, hostile);
    expect(seen.requests).toEqual([pathToFileURL(hostile).href]);
    expect(seen.failed).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.dialogs).toEqual([]);
    const count = (selector: string): Promise<number> => page.locator(selector).count();
    expect({ scripts: await count('script'), images: await count('img'), styles: await count('style'), italic: await count('td i, h1 i, h2 i, h3 i') }).toEqual({ scripts: 0, images: 0, styles: 1, italic: 0 });
    expect(await page.locator('body').textContent()).toContain('<script>alert(1)</script>');
    expect(await page.locator('svg.graph').count()).toBe(3);
    await page.close();
  }, 60_000);
});
