// The simulated API server at the HTTP level: everything a client library would never send.
import { request } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { simRequest } from '../helpers/kube-sim.js';

let sim: KubeApiSim;
const NP = '/apis/networking.k8s.io/v1/namespaces/db/networkpolicies';

beforeAll(async () => {
  sim = await startKubeApiServer({ users: { 'admin-token': 'netpol-sim-admin', 'bot-token': 'netpol-bot' } });
  sim.seed(shopObjects());
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.clearDenials();
  sim.clearFaults();
});

function policyJson(name: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'db' }, spec: { podSelector: {}, ...extra } });
}

/** The store's version is the witness that a rejected request changed nothing. */
function unchanged(): () => void {
  const rv = sim.resourceVersion();
  const before = JSON.stringify(sim.list('NetworkPolicy'));
  return () => {
    expect(sim.resourceVersion()).toBe(rv);
    expect(JSON.stringify(sim.list('NetworkPolicy'))).toBe(before);
  };
}

describe('authentication and discovery', () => {
  it('answers 401 without or with an unknown token', async () => {
    for (const token of [null, 'wrong']) {
      const res = await simRequest(sim, 'GET', '/api/v1/namespaces', { token });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    }
  });

  it('serves version and discovery documents', async () => {
    expect((await simRequest(sim, 'GET', '/version')).json.gitVersion).toMatch(/^v1\.32\./);
    expect((await simRequest(sim, 'GET', '/api')).json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = (await simRequest(sim, 'GET', '/api/v1')).json;
    expect(core.resources.map((r: { name: string }) => r.name).sort()).toEqual(['namespaces', 'pods']);
    expect((await simRequest(sim, 'GET', '/apis')).json.groups[0]).toMatchObject({ name: 'networking.k8s.io', preferredVersion: { groupVersion: 'networking.k8s.io/v1' } });
    expect((await simRequest(sim, 'GET', '/apis/networking.k8s.io')).json).toMatchObject({ kind: 'APIGroup', name: 'networking.k8s.io' });
    const np = (await simRequest(sim, 'GET', '/apis/networking.k8s.io/v1')).json;
    expect(np.resources[0]).toMatchObject({ name: 'networkpolicies', namespaced: true, kind: 'NetworkPolicy', shortNames: ['netpol'] });
    expect(np.resources[0].verbs).toContain('patch');
    expect((await simRequest(sim, 'GET', '/openapi/v3')).json.paths['apis/networking.k8s.io/v1'].serverRelativeURL).toMatch(/^\/openapi\/v3\/apis\/networking.k8s.io\/v1\?hash=/);
    expect((await simRequest(sim, 'GET', '/openapi/v2')).status).toBe(404);
    expect((await simRequest(sim, 'GET', '/healthz', { token: null })).text).toBe('ok');
  });

  it('answers 404 Status for unknown paths and 405 for unsupported methods', async () => {
    const res = await simRequest(sim, 'GET', '/apis/apps/v1/namespaces/db/deployments');
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    expect((await simRequest(sim, 'POST', `${NP}/x`, { body: '{}', contentType: 'application/json' })).status).toBe(405);
    expect((await simRequest(sim, 'POST', '/api/v1', { body: '{}', contentType: 'application/json' })).status).toBe(405);
  });
});

describe('malformed and hostile bodies change nothing', () => {
  it('rejects malformed JSON with 400', async () => {
    const check = unchanged();
    for (const body of ['{', '', 'null-ish', '{"metadata": {"name": "x"}']) {
      const res = await simRequest(sim, 'POST', NP, { body, contentType: 'application/json' });
      expect(res.status, body).toBe(400);
      expect(res.json).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    }
    check();
  });

  it('rejects JSON that is not an object', async () => {
    const check = unchanged();
    for (const body of ['[]', '"x"', '42', 'null']) {
      expect((await simRequest(sim, 'POST', NP, { body, contentType: 'application/json' })).status, body).toBe(400);
    }
    check();
  });

  it('rejects malformed YAML in an apply with 400', async () => {
    const check = unchanged();
    for (const body of ['kind: [unclosed', 'a: b\n---\nc: d', 'a: &x [*x', '- just\n- a list']) {
      const res = await simRequest(sim, 'PATCH', `${NP}/y?fieldManager=t`, { body, contentType: 'application/apply-patch+yaml' });
      expect(res.status, body).toBe(400);
    }
    check();
  });

  it('refuses a YAML alias bomb', async () => {
    const check = unchanged();
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n');
    const res = await simRequest(sim, 'PATCH', `${NP}/y?fieldManager=t`, { body: bomb, contentType: 'application/apply-patch+yaml' });
    expect(res.status).toBe(400);
    check();
  });

  it('answers 413 for bodies over 3 MiB, declared or streamed', async () => {
    const check = unchanged();
    const huge = policyJson('huge', { ingress: [{ from: [{ podSelector: { matchLabels: { pad: 'x' } } }] }], pad: 'x'.repeat(3 * 1024 * 1024) });
    const res = await simRequest(sim, 'POST', NP, { body: huge, contentType: 'application/json' });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge', code: 413 });
    // Chunked upload without Content-Length: the limit is enforced while reading.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(new URL(NP, sim.url), { method: 'POST', ca: sim.caPem, headers: { Authorization: `Bearer ${sim.tokenFor('netpol-sim-admin')}`, 'Content-Type': 'application/json' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      for (let i = 0; i < 14; i++) req.write(chunk);
      req.end();
    });
    expect(streamed).toBe(413);
    expect(sim.get('NetworkPolicy', 'db', 'huge')).toBeUndefined();
    check();
  });

  it('answers 415 for unknown content types', async () => {
    const check = unchanged();
    expect((await simRequest(sim, 'POST', NP, { body: policyJson('t'), contentType: 'text/plain' })).status).toBe(415);
    expect((await simRequest(sim, 'PATCH', `${NP}/default-deny-all`, { body: '{}', contentType: 'application/xml' })).status).toBe(415);
    check();
  });

  it('creates a Namespace sent as protobuf, and refuses malformed or unsupported protobuf without changing anything', async () => {
    // `kubectl create namespace x9`, as kubectl v1.32 encodes it
    const body = Buffer.from('6b3873000a0f0a02763112094e616d657370616365121a0a120a02783912001a0022002a0032003800420012001a020a001a002200', 'hex');
    const created = await simRequest(sim, 'POST', '/api/v1/namespaces', { body, contentType: 'application/vnd.kubernetes.protobuf' });
    expect(created.status, created.text).toBe(201);
    expect(created.json.metadata.name).toBe('x9');
    const rv = sim.resourceVersion();
    const garbage = await simRequest(sim, 'POST', '/api/v1/namespaces', { body: body.subarray(0, 30), contentType: 'application/vnd.kubernetes.protobuf' });
    expect([garbage.status, garbage.json.reason]).toEqual([400, 'BadRequest']);
    const notK8s = await simRequest(sim, 'POST', '/api/v1/namespaces', { body: '{"metadata":{"name":"x"}}', contentType: 'application/vnd.kubernetes.protobuf' });
    expect(notK8s.json.message).toMatch(/magic/);
    // a protobuf Namespace posted to the pods collection names the mismatch
    const wrongPlace = await simRequest(sim, 'POST', '/api/v1/namespaces/db/pods', { body, contentType: 'application/vnd.kubernetes.protobuf' });
    expect(wrongPlace.status).toBe(400);
    expect(wrongPlace.json.message).toContain('does not match the kind expected by the request (Pod)');
    expect(sim.resourceVersion()).toBe(rv);
    expect((await simRequest(sim, 'DELETE', '/api/v1/namespaces/x9')).status).toBe(200);
  });

  it('serves the review APIs for POST only, in discovery, and honours Impersonate-User', async () => {
    const groups = (await simRequest(sim, 'GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['authorization.k8s.io', 'authentication.k8s.io']));
    const authz = (await simRequest(sim, 'GET', '/apis/authorization.k8s.io/v1')).json.resources.map((r: { name: string; verbs: string[] }) => `${r.name}:${r.verbs.join(',')}`);
    expect(authz).toEqual(['selfsubjectaccessreviews:create', 'selfsubjectrulesreviews:create']);
    const path = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
    expect((await simRequest(sim, 'GET', path)).status).toBe(405);
    expect((await simRequest(sim, 'POST', path, { body: '{}', contentType: 'application/json', token: null })).status).toBe(401);
    const me = await simRequest(sim, 'POST', path, { body: '{}', contentType: 'application/json', user: 'netpol-bot' });
    expect([me.status, me.json.status.userInfo.username]).toEqual([201, 'netpol-bot']);
    const as = await simRequest(sim, 'POST', path, { body: '{}', contentType: 'application/json', headers: { 'Impersonate-User': 'oncall' } });
    expect(as.json.status.userInfo.username).toBe('oncall');
    for (const bad of ['', 'x'.repeat(300), 'with space']) {
      const res = await simRequest(sim, 'POST', path, { body: '{}', contentType: 'application/json', headers: { 'Impersonate-User': bad } });
      expect(res.status, bad).toBe(400);
    }
    // Impersonation applies to ordinary requests too: the impersonated user's denials hold.
    sim.deny({ user: 'oncall', verb: 'list', resource: 'pods' });
    expect((await simRequest(sim, 'GET', '/api/v1/pods', { headers: { 'Impersonate-User': 'oncall' } })).status).toBe(403);
    expect(sim.requests.at(-1)?.user).toBe('oncall');
    const review = await simRequest(sim, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: 'spec:\n  resourceAttributes: {verb: list, resource: pods}\n',
      contentType: 'application/yaml',
      headers: { 'Impersonate-User': 'oncall' },
    });
    expect(review.json.status).toMatchObject({ allowed: false, denied: true });
    const broken = await simRequest(sim, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body: '{"spec":{}}', contentType: 'application/json' });
    expect([broken.status, broken.json.reason]).toEqual([422, 'Invalid']);
  });

  it('rejects a body whose namespace, name or kind contradicts the URL', async () => {
    const check = unchanged();
    const otherNs = JSON.stringify({ kind: 'NetworkPolicy', metadata: { name: 'x', namespace: 'api' }, spec: {} });
    expect((await simRequest(sim, 'POST', NP, { body: otherNs, contentType: 'application/json' })).json.message).toBe('the namespace of the provided object does not match the namespace sent on the request');
    const wrongKind = JSON.stringify({ kind: 'Pod', metadata: { name: 'x' } });
    expect((await simRequest(sim, 'POST', NP, { body: wrongKind, contentType: 'application/json' })).status).toBe(400);
    const wrongName = policyJson('other');
    const res = await simRequest(sim, 'PUT', `${NP}/default-deny-all`, { body: wrongName, contentType: 'application/json' });
    expect(res.json.message).toBe('the name of the object (other) does not match the name on the URL (default-deny-all)');
    const wrongVersion = JSON.stringify({ apiVersion: 'networking.k8s.io/v1beta1', kind: 'NetworkPolicy', metadata: { name: 'x' } });
    expect((await simRequest(sim, 'POST', NP, { body: wrongVersion, contentType: 'application/json' })).status).toBe(400);
    check();
  });

  it('rejects an invalid dryRun value and a bad field manager', async () => {
    const check = unchanged();
    expect((await simRequest(sim, 'POST', `${NP}?dryRun=Some`, { body: policyJson('d'), contentType: 'application/json' })).status).toBe(400);
    const longManager = 'm'.repeat(200);
    expect((await simRequest(sim, 'POST', `${NP}?fieldManager=${longManager}`, { body: policyJson('d'), contentType: 'application/json' })).status).toBe(422);
    check();
  });
});

describe('field validation', () => {
  const typo = JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'typo' }, spec: { podSelectr: {}, ingress: [{ form: [] }] } });

  it('rejects unknown fields under Strict with 400 and stores nothing', async () => {
    const check = unchanged();
    const res = await simRequest(sim, 'POST', `${NP}?fieldValidation=Strict`, { body: typo, contentType: 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('strict decoding error: unknown field "spec.ingress[0].form", unknown field "spec.podSelectr"');
    const apply = await simRequest(sim, 'PATCH', `${NP}/typo?fieldManager=m&fieldValidation=Strict`, { body: typo, contentType: 'application/apply-patch+yaml' });
    expect(apply.status).toBe(400);
    expect((await simRequest(sim, 'POST', `${NP}?fieldValidation=Loose`, { body: typo, contentType: 'application/json' })).status).toBe(400);
    check();
  });

  it('drops unknown fields with Warning headers by default, silently under Ignore', async () => {
    const res = await simRequest(sim, 'POST', NP, { body: typo, contentType: 'application/json' });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBe('299 - "unknown field \\"spec.ingress[0].form\\"", 299 - "unknown field \\"spec.podSelectr\\""');
    expect(res.json.spec).toEqual({ ingress: [{}], podSelector: {}, policyTypes: ['Ingress'] });
    const ignored = await simRequest(sim, 'PATCH', `${NP}/typo?fieldValidation=Ignore`, { body: JSON.stringify({ spec: { bogus: 1 } }), contentType: 'application/merge-patch+json' });
    expect(ignored.status).toBe(200);
    expect(ignored.headers.warning).toBeUndefined();
    expect(ignored.json.spec.bogus).toBeUndefined();
  });
});

describe('patch flavours', () => {
  it('applies a JSON patch and a strategic merge patch', async () => {
    const res = await simRequest(sim, 'PATCH', `${NP}/default-deny-all`, {
      body: JSON.stringify([{ op: 'add', path: '/metadata/labels/patched', value: 'json' }]),
      contentType: 'application/json-patch+json',
    });
    expect(res.status).toBe(200);
    expect(res.json.metadata.labels.patched).toBe('json');
    const smp = await simRequest(sim, 'PATCH', `${NP}/default-deny-all`, { body: JSON.stringify({ metadata: { labels: { patched: null, smp: 'yes' } } }), contentType: 'application/strategic-merge-patch+json' });
    expect(smp.json.metadata.labels).toMatchObject({ smp: 'yes' });
    expect(smp.json.metadata.labels.patched).toBeUndefined();
  });

  it('rejects a failing JSON patch test with 422 and changes nothing', async () => {
    const check = unchanged();
    const res = await simRequest(sim, 'PATCH', `${NP}/default-deny-all`, {
      body: JSON.stringify([{ op: 'replace', path: '/spec/podSelector', value: { matchLabels: { a: 'b' } } }, { op: 'test', path: '/metadata/name', value: 'nope' }]),
      contentType: 'application/json-patch+json',
    });
    expect(res.status).toBe(422);
    check();
  });

  it('refuses a patch that renames the object', async () => {
    const check = unchanged();
    const res = await simRequest(sim, 'PATCH', `${NP}/default-deny-all`, { body: JSON.stringify({ metadata: { name: 'renamed' } }), contentType: 'application/merge-patch+json' });
    expect(res.status).toBe(400);
    check();
  });

  it('requires fieldManager for apply and refuses force on other patches, with 422', async () => {
    const check = unchanged();
    const apply = await simRequest(sim, 'PATCH', `${NP}/z`, { body: policyJson('z'), contentType: 'application/apply-patch+yaml' });
    expect(apply.status).toBe(422);
    expect(apply.json.message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const force = await simRequest(sim, 'PATCH', `${NP}/default-deny-all?force=true`, { body: '{}', contentType: 'application/merge-patch+json' });
    expect(force.status).toBe(422);
    expect(force.json.message).toMatch(/force: Forbidden: may not be specified for non-apply patch/);
    const noKind = await simRequest(sim, 'PATCH', `${NP}/z?fieldManager=m`, { body: 'metadata: {name: z}', contentType: 'application/apply-patch+yaml' });
    expect(noKind.status).toBe(400);
    check();
  });

  it('accepts a YAML apply body and treats a stale resourceVersion in it as a conflict', async () => {
    const yamlBody = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: from-yaml\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n';
    const created = await simRequest(sim, 'PATCH', `${NP}/from-yaml?fieldManager=yaml-test`, { body: yamlBody, contentType: 'application/apply-patch+yaml' });
    expect(created.status).toBe(201);
    expect(created.json.spec.policyTypes).toEqual(['Egress']);
    const check = unchanged();
    const stale = yamlBody.replace('name: from-yaml', 'name: from-yaml\n  resourceVersion: "1"');
    expect((await simRequest(sim, 'PATCH', `${NP}/from-yaml?fieldManager=yaml-test`, { body: stale, contentType: 'application/apply-patch+yaml' })).status).toBe(409);
    check();
  });
});

describe('delete options and collections', () => {
  it('honours preconditions and dryRun in DeleteOptions', async () => {
    await simRequest(sim, 'POST', NP, { body: policyJson('doomed'), contentType: 'application/json' });
    const check = unchanged();
    const wrongUid = await simRequest(sim, 'DELETE', `${NP}/doomed`, { body: JSON.stringify({ kind: 'DeleteOptions', preconditions: { uid: 'nope' } }), contentType: 'application/json' });
    expect(wrongUid.status).toBe(409);
    const dry = await simRequest(sim, 'DELETE', `${NP}/doomed`, { body: JSON.stringify({ kind: 'DeleteOptions', dryRun: ['All'] }), contentType: 'application/json' });
    expect(dry.status).toBe(200);
    check();
    const uid = (sim.get('NetworkPolicy', 'db', 'doomed')?.metadata as { uid: string }).uid;
    const ok = await simRequest(sim, 'DELETE', `${NP}/doomed`, { body: JSON.stringify({ preconditions: { uid } }), contentType: 'application/json' });
    expect(ok.json).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'doomed', group: 'networking.k8s.io', kind: 'networkpolicies', uid } });
    expect(sim.get('NetworkPolicy', 'db', 'doomed')).toBeUndefined();
  });

  it('deletes a collection by label selector', async () => {
    await simRequest(sim, 'POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: 'scratch' } }), contentType: 'application/json' });
    for (const name of ['a', 'b', 'c']) {
      const body = JSON.stringify({ metadata: { name, labels: { batch: name === 'c' ? 'keep' : 'drop' } }, spec: {} });
      await simRequest(sim, 'POST', '/apis/networking.k8s.io/v1/namespaces/scratch/networkpolicies', { body, contentType: 'application/json' });
    }
    const res = await simRequest(sim, 'DELETE', '/apis/networking.k8s.io/v1/namespaces/scratch/networkpolicies?labelSelector=batch%3Ddrop');
    expect(res.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['a', 'b']);
    expect(sim.list('NetworkPolicy', 'scratch').map((p) => (p.metadata as { name: string }).name)).toEqual(['c']);
    const ns = await simRequest(sim, 'DELETE', '/api/v1/namespaces/scratch');
    expect(ns.json.kind).toBe('Namespace');
    expect(sim.list('NetworkPolicy', 'scratch')).toEqual([]);
  });
});

describe('lists', () => {
  it('pages with limit and continue', async () => {
    const first = await simRequest(sim, 'GET', '/api/v1/pods?limit=3');
    expect(first.json.items).toHaveLength(3);
    expect(first.json.metadata.continue).toBeTruthy();
    const rest = await simRequest(sim, 'GET', `/api/v1/pods?limit=100&continue=${first.json.metadata.continue}`);
    expect(first.json.items.length + rest.json.items.length).toBe(sim.list('Pod').length);
    expect(rest.json.metadata.continue).toBeUndefined();
    expect((await simRequest(sim, 'GET', '/api/v1/pods?continue=garbage')).status).toBe(400);
  });

  it('answers server-side Tables when kubectl asks for them', async () => {
    const res = await simRequest(sim, 'GET', '/apis/networking.k8s.io/v1/namespaces/db/networkpolicies', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(res.json.kind).toBe('Table');
    expect(res.json.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Pod-Selector', 'Age']);
    expect(res.json.rows.find((r: { cells: string[] }) => r.cells[0] === 'allow-db-from-api').cells[1]).toBe('tier=db');
  });
});

describe('watch over HTTP', () => {
  it('answers 400 for a garbage resourceVersion and 504 for one from the future', async () => {
    expect((await simRequest(sim, 'GET', `${NP}?watch=1&resourceVersion=abc`)).status).toBe(400);
    const tooNew = await simRequest(sim, 'GET', `${NP}?watch=1&resourceVersion=99999999`);
    expect(tooNew.status).toBe(504);
  });

  it('ends the stream after timeoutSeconds', async () => {
    const started = Date.now();
    const res = await simRequest(sim, 'GET', `${NP}?watch=true&timeoutSeconds=1&labelSelector=app.kubernetes.io%2Fpart-of%3Dshop`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const events = res.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    expect(events.every((e) => e.type === 'ADDED')).toBe(true);
    expect(events.map((e) => e.object.metadata.name)).toContain('allow-db-from-api');
  });
});

describe('faults', () => {
  it('fails the next N matching requests, with Retry-After for 503, then recovers', async () => {
    sim.injectFault({ verb: 'list', resource: 'pods', status: 503, times: 2 });
    const a = await simRequest(sim, 'GET', '/api/v1/namespaces/db/pods');
    expect(a.status).toBe(503);
    expect(a.headers['retry-after']).toBe('1');
    expect(a.json).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect((await simRequest(sim, 'GET', '/api/v1/namespaces/db/networkpolicies'.replace('/api/v1', '/apis/networking.k8s.io/v1'))).status).toBe(200);
    expect((await simRequest(sim, 'GET', '/api/v1/namespaces/db/pods')).status).toBe(503);
    expect((await simRequest(sim, 'GET', '/api/v1/namespaces/db/pods')).status).toBe(200);
  });

  it('refuses nonsense fault rules', () => {
    expect(() => sim.injectFault({ status: 200, times: 1 })).toThrow(/HTTP error code/);
    expect(() => sim.injectFault({ status: 500, times: 0 })).toThrow(/positive integer/);
    expect(() => sim.injectDelay({ ms: 10, times: 0 })).toThrow(/positive integer/);
    expect(() => sim.injectDelay({ ms: -1, times: 1 })).toThrow(/between 0 and 600000/);
    expect(() => sim.injectDelay({ ms: Number.NaN, times: 1 })).toThrow(/between 0 and 600000/);
  });

  it('slows the next N matching requests, then answers at full speed', async () => {
    sim.injectDelay({ verb: 'get', resource: 'namespaces', ms: 300, times: 1 });
    const timed = async (path: string): Promise<number> => {
      const started = Date.now();
      expect((await simRequest(sim, 'GET', path)).status).toBe(200);
      return Date.now() - started;
    };
    expect(await timed('/api/v1/namespaces')).toBeLessThan(250); // a list is not a get
    expect(await timed('/api/v1/namespaces/db')).toBeGreaterThanOrEqual(290);
    expect(await timed('/api/v1/namespaces/db')).toBeLessThan(250);
    sim.injectDelay({ ms: 300, times: 5 });
    sim.clearFaults();
    expect(await timed('/api/v1/namespaces/db')).toBeLessThan(250);
  });

  it('records every request with method, path, query, status and user', async () => {
    sim.clearRequests();
    await simRequest(sim, 'GET', '/api/v1/namespaces/db/pods?labelSelector=app%3Dpostgres', { user: 'netpol-bot' });
    expect(sim.requests).toEqual([
      expect.objectContaining({ method: 'GET', path: '/api/v1/namespaces/db/pods', query: { labelSelector: 'app=postgres' }, status: 200, user: 'netpol-bot', verb: 'list', resource: 'pods', namespace: 'db' }),
    ]);
  });
});
