// Property tests: webhook bodies — Alertmanager and Falcosidekick (anomaly sources), the
// kube-apiserver audit webhook (EventList) and audit log lines, and Git push deliveries (GitHub,
// GitLab). Arbitrary bytes, arbitrary JSON and mutations of valid deliveries: each is answered
// with a result (an HTTP status and a clear error when refused), never an exception.
// Runs per property: FUZZ_RUNS (default 200, fixed seed; more runs go in chunks of 1000, seeds seed, seed+1, ...); e.g. `FUZZ_RUNS=20000 npx vitest run test/unit/fuzz-webhooks.test.ts`.
import { alertmanager, falco } from '../helpers/webhook-samples.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUDIT_API_VERSIONS, parseAuditLine, parseEventList, type AuditParse } from '../../src/audit/parse.js';
import { handleAlertmanagerWebhook, handleFalcosidekickWebhook, type WebhookResult } from '../../src/flows/sources/webhooks.js';
import { decideGitWebhook, type GitWebhookDecision } from '../../src/git/push-webhook-decision.js';
import { auditEvent, eventList } from '../helpers/audit-events.js';
import { expectClearMessage, expectNoPollution, FUZZ_TIMEOUT_MS, fuzzAssert, fuzzOptions, textAround } from '../helpers/fuzz.js';
import { githubHeaders, githubPush, gitlabHeaders, gitlabPush, SECRET } from '../helpers/git-webhooks.js';

const SEED = 13_201;
const TOKEN = 's3cret-token';
// Frozen: handling a delivery must not change the request it was given.
const auth = Object.freeze({ authorization: `Bearer ${TOKEN}` });
const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const ERROR_MAX = 2000;

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });
afterEach(() => expectNoPollution());

const bodies = textAround;

function checkWebhookResult(result: WebhookResult): void {
  expect([200, 400, 401, 413]).toContain(result.status);
  if (result.status !== 200) {
    expectClearMessage(result.error, ERROR_MAX);
    expect(result.anomalies).toEqual([]);
  }
  for (const anomaly of result.anomalies) {
    expect(anomaly.workload.namespace).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(anomaly.title.length).toBeLessThanOrEqual(300);
  }
}

describe('anomaly webhooks (Alertmanager, Falcosidekick)', () => {
  it('Alertmanager: any body gets a status, a clear error when refused, anomalies only with a valid namespace', async () => {
    await fuzzAssert(
      fc.property(bodies(alertmanager), (body) => {
        checkWebhookResult(handleAlertmanagerWebhook({ headers: auth, body }, TOKEN, NOW));
      }),
      fuzzOptions(SEED),
    );
  });

  it('Falcosidekick: the same', async () => {
    await fuzzAssert(
      fc.property(bodies(falco), (body) => {
        checkWebhookResult(handleFalcosidekickWebhook({ headers: auth, body }, TOKEN, NOW));
      }),
      fuzzOptions(SEED + 1),
    );
  });

  it('without the token nothing of the body is looked at', async () => {
    await fuzzAssert(
      fc.property(bodies(alertmanager), fc.string({ maxLength: 40 }), (body, token) => {
        fc.pre(token !== TOKEN);
        const result = handleAlertmanagerWebhook({ headers: { authorization: `Bearer ${token}` }, body }, TOKEN, NOW);
        expect(result).toEqual({ status: 401, anomalies: [], skipped: [], error: 'missing or wrong webhook token' });
      }),
      fuzzOptions(SEED + 2),
    );
  });
});

const SKIPS = ['blank', 'invalid_json', 'oversized_line', 'not_an_event', 'unknown_api_version', 'invalid_event', 'not_watched', 'read', 'not_a_change', 'not_response_complete', 'failed_request', 'dry_run', 'no_label_change'];

function checkAudit(parsed: AuditParse): void {
  if (parsed.change) {
    expect(typeof parsed.change.auditID).toBe('string');
    expect(Number.isInteger(parsed.change.responseStatus.code)).toBe(true);
    return;
  }
  expect(typeof parsed.skip).toBe('string');
  if (!SKIPS.includes(parsed.skip)) expect(parsed.skip).toMatch(/^[a-z_]+$/);
  if (parsed.detail !== undefined) expect(parsed.detail.length).toBeLessThanOrEqual(200);
}

describe('Kubernetes audit events', () => {
  const event = auditEvent({ auditID: 'a-1', requestObject: { metadata: { labels: { a: 'b' } } } });

  it('audit log lines: any line is a change or a skip reason, never an exception', async () => {
    await fuzzAssert(
      fc.property(bodies(event), (line) => {
        checkAudit(parseAuditLine(line));
      }),
      fuzzOptions(SEED + 3),
    );
  });

  it('audit webhook (EventList): any body is a result or a clear refusal', async () => {
    const list = JSON.parse(eventList([event, auditEvent({ verb: 'get' })])) as unknown;
    await fuzzAssert(
      fc.property(bodies(list), (body) => {
        const result = parseEventList(body);
        if (!result.ok) {
          expectClearMessage(result.error, ERROR_MAX);
          return;
        }
        expect(result.changes.length).toBeLessThanOrEqual(result.items);
        expect(result.unknownVersions.length).toBeLessThanOrEqual(5);
        for (const version of result.unknownVersions) expect(AUDIT_API_VERSIONS).not.toContain(version);
      }),
      fuzzOptions(SEED + 4),
    );
  });
});

describe('Git push webhooks', () => {
  const rules = Object.freeze({
    secret: SECRET,
    repositories: [
      { name: 'shop-policies', url: 'https://github.com/shop/policies.git', branch: 'main' },
      { name: 'platform', url: 'git@gitlab.shop.example:platform/policies.git', branch: 'production' },
    ],
  });

  function checkDecision(decision: GitWebhookDecision): void {
    expect(['push', 'ignore', 'ping', 'refuse']).toContain(decision.action);
    if (decision.action === 'refuse') expectClearMessage(decision.error, ERROR_MAX);
    if (decision.action === 'ignore') expectClearMessage(decision.reason, ERROR_MAX);
    if (decision.action === 'push') for (const push of decision.pushes) expect(rules.repositories.map((r) => r.name)).toContain(push.repository);
  }

  it('GitHub: any signed body (bytes, JSON, a mutated push) is decided, never an exception', async () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)), bodies(githubPush()).map((text) => Buffer.from(text)));
    await fuzzAssert(
      fc.property(bytes, fc.constantFrom('push', 'ping', 'issues', ''), (body, event) => {
        checkDecision(decideGitWebhook(Object.freeze({ headers: Object.freeze(githubHeaders(body, event)), body }), rules));
      }),
      fuzzOptions(SEED + 5),
    );
  });

  it('GitLab: any body with the token is decided, never an exception', async () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)), bodies(gitlabPush()).map((text) => Buffer.from(text)));
    await fuzzAssert(
      fc.property(bytes, fc.constantFrom('Push Hook', 'System Hook', 'Tag Push Hook'), (body, event) => {
        checkDecision(decideGitWebhook(Object.freeze({ headers: Object.freeze(gitlabHeaders(event)), body }), rules));
      }),
      fuzzOptions(SEED + 6),
    );
  });

  it('hostile headers (arrays, odd names, huge values) are refused or decided, never an exception', async () => {
    const body = Buffer.from(JSON.stringify(githubPush()));
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.constant('x'.repeat(100_000)), fc.constant(undefined));
    const headers = fc.dictionary(fc.constantFrom('X-GitHub-Event', 'x-gitlab-event', 'x-gitlab-token', 'x-hub-signature-256', 'content-type', '__proto__', 'constructor'), value);
    await fuzzAssert(
      fc.property(headers, (h) => {
        checkDecision(decideGitWebhook({ headers: h as Record<string, string | string[] | undefined>, body }, rules));
      }),
      fuzzOptions(SEED + 7),
    );
  });
});

describe('counterexamples found by the properties (kept as examples)', () => {
  it('an apiVersion or apiGroup that String() cannot convert ({"toString":1}) is a skip or a refusal, not a TypeError', () => {
    expect(parseEventList('{"kind":"EventList","apiVersion":{"toString":1},"items":[]}')).toEqual({
      ok: false,
      error: 'unsupported apiVersion "[object Object]" (expected audit.k8s.io/v1 or audit.k8s.io/v1beta1)',
    });
    const line = JSON.stringify({ ...auditEvent(), apiVersion: { toString: 1 } });
    expect(parseAuditLine(line)).toEqual({ skip: 'unknown_api_version', detail: '[object Object]' });
    const ref = (auditEvent().objectRef ?? {}) as Record<string, unknown>;
    expect(parseAuditLine(JSON.stringify({ ...auditEvent(), objectRef: { ...ref, apiGroup: { valueOf: 1, toString: 'x' } } }))).toEqual({ skip: 'not_watched' });
  });

  it('an EventList apiVersion with terminal escapes and a bidi override is quoted escaped', () => {
    const result = parseEventList(JSON.stringify({ kind: 'EventList', apiVersion: '\u0000\u001b[2J\u202e', items: [] }));
    expect(result).toEqual({ ok: false, error: 'unsupported apiVersion "\\u0000\\u001b[2J\\u202e" (expected audit.k8s.io/v1 or audit.k8s.io/v1beta1)' });
  });

  it('a GitLab object_kind with a bidi override is quoted with it replaced', () => {
    const body = Buffer.from(JSON.stringify({ ...gitlabPush(), object_kind: 'push\u202e' }));
    const decision = decideGitWebhook({ headers: gitlabHeaders(), body }, { secret: SECRET, repositories: [] });
    expect(decision.action === 'refuse' || decision.action === 'ignore').toBe(true);
    expect(JSON.stringify(decision)).not.toContain('\u202e');
    expect(JSON.stringify(decision)).toContain('push?');
  });
});
