import { describe, expect, it } from 'vitest';
import { mayConcernWatched, parseAuditEvent, parseAuditLine, parseAuditLines, parseEventList, type AuditParse } from '../../../src/audit/parse.js';
import { classifyTool } from '../../../src/audit/tool.js';
import { auditEvent, auditLine, eventList, falcoLines } from '../../helpers/audit-events.js';

const change = (parsed: AuditParse) => {
  if (!parsed.change) throw new Error(`skipped: ${parsed.skip} ${parsed.detail ?? ''}`);
  return parsed.change;
};

describe('the Falco k8saudit fixtures (real minikube events)', () => {
  const results = falcoLines().map(({ file, line }) => ({ file, parsed: parseAuditLine(line) }));

  it('keeps the namespace creations and the deletion, and nothing else', () => {
    const kept = results.filter((r) => r.parsed.change).map((r) => r.file);
    expect(kept).toEqual(['anonymous_creates_namespace_foo.json', 'delete_namespace_foo.json', 'minikube_creates_namespace_foo.json', 'some-user_creates_namespace_foo.json']);
    expect(results).toHaveLength(52); // 47 files, one of them of 6 events
  });

  it('reads users, verbs, names (from the body on create), times and status across v1, v1beta1 and trimmed events', () => {
    const byFile = Object.fromEntries(results.map((r) => [r.file, r.parsed]));
    expect(change(byFile['anonymous_creates_namespace_foo.json'] as AuditParse)).toMatchObject({
      auditID: '841d3e6d-90d2-43df-8da4-684738bee3d5',
      at: '2018-10-25T13:58:49.736Z',
      stage: 'ResponseComplete',
      verb: 'create',
      user: { username: 'system:anonymous', groups: ['system:masters', 'system:authenticated'] },
      userAgent: '',
      tool: 'other',
      sourceIPs: ['192.168.99.1'],
      objectRef: { resource: 'namespaces', name: 'foo', apiVersion: 'v1' },
      responseStatus: { code: 201 },
      refused: false,
      requestObject: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'foo', creationTimestamp: null }, spec: {}, status: { phase: 'Active' } },
    });
    expect(change(byFile['delete_namespace_foo.json'] as AuditParse)).toMatchObject({ verb: 'delete', objectRef: { resource: 'namespaces', namespace: 'foo', name: 'foo' }, user: { username: 'minikube-user' } });
  });

  it('reads them all at once: the changes in order, the rest counted per reason', () => {
    const batch = parseAuditLines(['', ...falcoLines().map((l) => l.line)]);
    expect(batch.changes.map((c) => c.verb)).toEqual(['create', 'delete', 'create', 'create']);
    expect(batch.skipped).toEqual({ not_watched: 47, not_an_event: 1 });
  });

  it('rejects the malformed fixture ({"kind": 0}) as not an event, and counts the rest as not watched', () => {
    const reasons = results.filter((r) => r.parsed.skip).map((r) => `${r.file}:${r.parsed.skip}`);
    expect(reasons).toContain('fal_01_003.json:not_an_event');
    expect(reasons.filter((r) => !r.endsWith(':not_watched'))).toEqual(['fal_01_003.json:not_an_event']);
  });
});

describe('NetworkPolicy writes (hand-written events in the apiserver form)', () => {
  it('extracts who (and whom they impersonated), the tool, the field manager, where from, what and the bodies', () => {
    const patch = { spec: { ingress: [{}] } };
    const after = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-db-from-api', namespace: 'db' }, spec: { ingress: [{}] } };
    const parsed = change(
      parseAuditLine(auditLine({ auditID: 'a-1', impersonate: 'dave@corp', query: 'fieldManager=kubectl-edit', requestObject: patch, responseObject: after, time: '2026-11-30T10:00:00.123456Z' })),
    );
    expect(parsed).toEqual({
      auditID: 'a-1',
      at: '2026-11-30T10:00:00.123Z',
      stage: 'ResponseComplete',
      verb: 'patch',
      user: { username: 'admin@corp', groups: ['system:authenticated'] },
      impersonatedUser: { username: 'dave@corp', groups: ['developers'] },
      userAgent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b',
      tool: 'kubectl',
      fieldManager: 'kubectl-edit',
      sourceIPs: ['10.0.4.21'],
      objectRef: { resource: 'networkpolicies', apiGroup: 'networking.k8s.io', apiVersion: 'v1', namespace: 'db', name: 'allow-db-from-api' },
      responseStatus: { code: 200 },
      refused: false,
      requestObject: patch,
      responseObject: after,
    });
  });

  it('keeps every write verb on every watched kind, and takes the name of a create from its body', () => {
    for (const resource of ['networkpolicies', 'adminnetworkpolicies', 'baselineadminnetworkpolicies', 'ciliumnetworkpolicies', 'namespaces']) {
      for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
        const body = { metadata: { name: 'p1', labels: { a: 'b' } } };
        const parsed = change(parseAuditLine(auditLine({ resource, verb, requestObject: body, responseObject: verb === 'create' ? body : undefined })));
        expect(parsed.objectRef.resource).toBe(resource);
        if (verb === 'create') expect(parsed.objectRef.name).toBe('p1');
      }
    }
  });

  it('marks 401/403 as refused, skips other failures, reads, dry runs and the stages before completion', () => {
    expect(change(parseAuditLine(auditLine({ code: 403, username: 'mallory' })))).toMatchObject({ refused: true, responseStatus: { code: 403, reason: 'Forbidden', message: 'denied' } });
    expect(change(parseAuditLine(auditLine({ code: 401 }))).refused).toBe(true);
    for (const code of [404, 409, 422, 500]) expect(parseAuditLine(auditLine({ code })).skip).toBe('failed_request');
    for (const verb of ['get', 'list', 'watch']) expect(parseAuditLine(auditLine({ verb })).skip).toBe('read');
    expect(parseAuditLine(auditLine({ verb: 'proxy' })).skip).toBe('not_a_change');
    for (const stage of ['RequestReceived', 'ResponseStarted', 'Panic']) expect(parseAuditLine(auditLine({ stage })).skip).toBe('not_response_complete');
    expect(parseAuditLine(auditLine({ query: 'dryRun=All&fieldManager=kubectl-client-side-apply' })).skip).toBe('dry_run');
  });

  it("drops other kinds, and Calico's own networkpolicies (another API group)", () => {
    expect(parseAuditLine(auditLine({ resource: 'pods' })).skip).toBe('not_watched');
    const calico = auditEvent();
    (calico.objectRef as Record<string, unknown>).apiGroup = 'projectcalico.org';
    expect(parseAuditEvent(calico).skip).toBe('not_watched');
    const nonResource = auditEvent();
    delete nonResource.objectRef;
    expect(parseAuditEvent(nonResource).skip).toBe('not_watched');
  });

  it('keeps a Namespace patch only when it may touch the labels', () => {
    const ns = (requestObject: unknown) => parseAuditLine(auditLine({ resource: 'namespaces', verb: 'patch', requestObject }));
    expect(ns({ metadata: { labels: { team: 'x' } } }).change).toBeDefined();
    expect(ns({ metadata: null }).change).toBeDefined();
    expect(ns({ metadata: { annotations: { a: 'b' } } }).skip).toBe('no_label_change');
    expect(ns({ spec: { finalizers: [] } }).skip).toBe('no_label_change');
    expect(ns([{ op: 'add', path: '/metadata/labels/team', value: 'x' }]).change).toBeDefined();
    expect(ns([{ op: 'replace', path: '/metadata', value: {} }]).change).toBeDefined();
    expect(ns([{ op: 'add', path: '/metadata/annotations/a', value: 'b' }]).skip).toBe('no_label_change');
    expect(ns([{ op: 'add', path: '', value: {} }]).change).toBeDefined();
    // Metadata level (no body): cannot tell, so kept.
    expect(parseAuditLine(auditLine({ resource: 'namespaces', verb: 'patch' })).change).toBeDefined();
  });

  it('marks events whose bodies the apiserver truncated', () => {
    const event = auditEvent();
    (event.annotations as Record<string, string>)['audit.k8s.io/truncated'] = 'true';
    expect(change(parseAuditEvent(event)).truncated).toBe(true);
  });
});

describe('bad input', () => {
  const good = auditLine();

  it('counts truncated lines as invalid JSON, at every cut, without throwing', () => {
    for (let cut = 1; cut < good.length; cut += 7) expect(parseAuditLine(good.slice(0, cut)).skip).toBe('invalid_json');
    expect(parseAuditLine(good.replace('"verb":"patch"', '"verb":"patch",,')).skip).toBe('invalid_json');
    expect(parseAuditLine('\u0000garbage').skip).toBe('invalid_json');
    expect(parseAuditLine('[1,2]').skip).toBe('invalid_json');
    expect(parseAuditLine('   ').skip).toBe('blank');
  });

  it('refuses events of unknown API versions and events with fields of the wrong type', () => {
    expect(parseAuditLine(good.replace('audit.k8s.io/v1', 'audit.k8s.io/v2'))).toEqual({ skip: 'unknown_api_version', detail: 'audit.k8s.io/v2' });
    expect(parseAuditLine(good.replace('"kind":"Event"', '"kind":"Status"')).skip).toBe('not_an_event');
    const broken: Array<[string, unknown]> = [
      ['verb', 42],
      ['stage', null],
      ['auditID', ''],
      ['auditID', 'x'.repeat(200)],
      ['user', { username: 7 }],
      ['user', 'admin'],
      ['stageTimestamp', 'yesterday'],
      ['responseStatus', { code: '200' }],
      ['responseStatus', { code: 200.5 }],
    ];
    for (const [field, value] of broken) {
      const event = auditEvent();
      event[field] = value;
      if (field === 'stageTimestamp') event.requestReceivedTimestamp = 'never';
      expect(parseAuditEvent(event).skip, `${field}=${JSON.stringify(value)}`).toBe('invalid_event');
    }
  });

  it('bounds hostile strings and lists, and is not fooled by __proto__', () => {
    const event = auditEvent({ username: 'u'.repeat(100_000), userAgent: 'kubectl/' + 'x'.repeat(100_000) });
    event.sourceIPs = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const parsed = change(parseAuditLine(JSON.stringify(event)));
    expect(parsed.user.username).toHaveLength(1024);
    expect(parsed.userAgent).toHaveLength(1024);
    expect(parsed.sourceIPs).toHaveLength(64);
    const polluted = parseAuditLine(good.replace('"user":{', '"__proto__":{"polluted":true},"user":{'));
    expect(polluted.change).toBeDefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('the pre-filter', () => {
  // Without it: every line parsed in full.
  const unfiltered = (line: string): AuditParse => {
    try {
      return parseAuditEvent(JSON.parse(line));
    } catch {
      return { skip: 'invalid_json' };
    }
  };

  /** Random events over watched and other resources, verbs, codes and stages, serialized compact, indented or with keys reordered. */
  function* variants(count: number): Generator<string> {
    let x = 7;
    const pick = <T>(list: readonly T[]): T => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return list[(x >>> 8) % list.length] as T;
    };
    const resources = ['networkpolicies', 'adminnetworkpolicies', 'baselineadminnetworkpolicies', 'ciliumnetworkpolicies', 'namespaces', 'pods', 'configmaps', 'deployments'];
    for (let i = 0; i < count; i++) {
      const event = auditEvent({
        resource: pick(resources),
        verb: pick(['create', 'update', 'patch', 'delete', 'deletecollection', 'get', 'list']),
        code: pick([200, 201, 403, 409]),
        stage: pick(['ResponseComplete', 'ResponseComplete', 'RequestReceived']),
        requestObject: pick([undefined, { metadata: { labels: { a: 'b' } } }, { metadata: { name: 'x' }, data: { text: 'networkpolicies "namespaces"' } }]),
      });
      const form = pick(['compact', 'indented', 'reversed']);
      if (form === 'compact') yield JSON.stringify(event);
      else if (form === 'indented') yield JSON.stringify(event, null, 2).replace(/\n/g, ' ');
      else yield JSON.stringify(Object.fromEntries(Object.entries(event).reverse()));
    }
  }

  it('drops no event that full parsing would keep (fixtures and 5000 generated events in three serializations)', () => {
    const lines = [...falcoLines().map((l) => l.line), ...variants(5000)];
    let kept = 0;
    for (const line of lines) {
      const full = unfiltered(line);
      const filtered = parseAuditLine(line);
      expect(filtered.change?.auditID).toBe(full.change?.auditID);
      if (full.change) {
        kept += 1;
        expect(mayConcernWatched(line)).toBe(true);
      }
    }
    expect(kept).toBeGreaterThan(500);
  });
});

describe('webhook EventList bodies', () => {
  it('reads the items, which inherit the list apiVersion, and counts the rest per reason', () => {
    const list = JSON.parse(eventList([auditEvent({ auditID: 'w-1' }), auditEvent({ verb: 'get' }), auditEvent({ resource: 'pods' }), auditEvent(), auditEvent({ code: 403, auditID: 'w-2' })])) as { items: Record<string, unknown>[] };
    (list.items[3] as Record<string, unknown>).apiVersion = 'audit.k8s.io/v9';
    const result = parseEventList(JSON.stringify(list));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.items).toBe(5);
    expect(result.changes.map((c) => [c.auditID, c.refused])).toEqual([
      ['w-1', false],
      ['w-2', true],
    ]);
    expect(result.skipped).toEqual({ read: 1, not_watched: 1, unknown_api_version: 1 });
    expect(result.unknownVersions).toEqual(['audit.k8s.io/v9']);
  });

  it('accepts v1beta1 lists and empty or null items (a batch timer firing with nothing)', () => {
    expect(parseEventList(eventList([auditEvent()], 'audit.k8s.io/v1beta1'))).toMatchObject({ ok: true, items: 1 });
    expect(parseEventList('{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}')).toMatchObject({ ok: true, items: 0, changes: [] });
    expect(parseEventList('{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":null}')).toMatchObject({ ok: true, items: 0 });
  });

  it('refuses a body that is not an EventList of a known version, with the reason', () => {
    expect(parseEventList('{"kind":"EventList"')).toEqual({ ok: false, error: 'body is not valid JSON' });
    expect(parseEventList('[]')).toMatchObject({ ok: false, error: expect.stringContaining('not an audit EventList') });
    expect(parseEventList(auditLine())).toMatchObject({ ok: false, error: expect.stringContaining('not an audit EventList') });
    expect(parseEventList(eventList([], 'audit.k8s.io/v2'))).toMatchObject({ ok: false, error: expect.stringContaining('unsupported apiVersion "audit.k8s.io/v2"') });
    expect(parseEventList('{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{"a":1}}')).toEqual({ ok: false, error: 'items must be a list' });
  });
});

describe('the tool behind a request', () => {
  it.each([
    ['kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b', 'kubectl'],
    ['kubectl.exe/v1.29.0 (windows/amd64) kubernetes/3f7a50f', 'kubectl'],
    ['Helm/3.14.0', 'helm'],
    ['helm/v0.0.0 (linux/amd64) kubernetes/$Format', 'helm'],
    ['argocd-application-controller/v2.10.0+1a0c5b6 (linux/amd64)', 'argocd'],
    ['argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format', 'argocd'],
    ['argocd-server/v2.9.3', 'argocd'],
    ['kustomize-controller/v1.2.2', 'kustomize-controller'],
    ['helm-controller/v0.37.4 (linux/amd64) kubernetes/$Format', 'helm-controller'],
    ['HashiCorp/1.0 Terraform/1.5.7', 'terraform'],
    ['kube-controller-manager/v1.30.1 (linux/amd64) kubernetes/7c48c2b/system:serviceaccount:kube-system:namespace-controller', 'client-go'],
    ['my-operator/v0.0.0 (linux/arm64) kubernetes/$Format', 'client-go'],
    ['netpol-responder/0.1.0', 'netpol-responder'],
    ['curl/8.7.1', 'other'],
    ['', 'other'],
  ])('%s → %s', (userAgent, tool) => {
    expect(classifyTool(userAgent)).toBe(tool);
  });

  it("knows the bot's writes by their field manager, whatever the User-Agent", () => {
    expect(classifyTool('node-fetch', 'netpol-responder')).toBe('netpol-responder');
    expect(classifyTool('node-fetch', 'responder-x', 'responder-x')).toBe('netpol-responder');
    expect(classifyTool('kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b', 'kubectl-edit')).toBe('kubectl');
  });
});
