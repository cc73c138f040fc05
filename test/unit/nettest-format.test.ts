// Network test results as txt, json and JUnit XML: the exact text lines, the JSON fields, and a
// JUnit document that stays well-formed whatever the names and reasons hold.
import { describe, expect, it } from 'vitest';
import type { NetTestCase } from '../../src/nettest/cases.js';
import { formatResults, summarizeResults } from '../../src/nettest/format.js';
import { runCases, type CaseResult } from '../../src/nettest/run.js';
import { parseXml, type XmlElement } from '../helpers/xml-wellformed.js';
import { index, netpol, ns, nsNamed, pod } from '../helpers/policy.js';

const idx = index([
  ns('front'),
  ns('api'),
  pod('front', 'web', { app: 'web' }),
  pod('api', 'orders', { app: 'orders' }),
  netpol('api', 'orders-in', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: nsNamed('front') }, { ipBlock: { cidr: '10.0.0.0/9' } }], ports: [{ port: 8080 }] }] }),
]);

const c = (fields: Partial<NetTestCase> & Pick<NetTestCase, 'from' | 'to' | 'port' | 'expect'>): NetTestCase => ({ protocol: 'TCP', origin: 'file', ...fields });

const results: CaseResult[] = runCases(idx, [
  c({ name: 'web reaches orders', from: 'front/web', to: 'api/orders', port: 8080, expect: 'allow', line: 2 }),
  c({ name: 'orders is closed to itself', from: 'api/orders', to: 'api/orders', port: 8080, expect: 'allow', line: 8 }),
  c({ from: '10.0.0.0/8', to: 'api/orders', port: 8080, expect: 'allow', line: 14 }),
  c({ from: 'front/ghost', to: 'api/orders', port: 8080, expect: 'deny', line: 19 }),
  c({ from: 'front/web', to: 'api/orders', port: 9090, expect: 'deny', origin: 'anomaly' }),
  c({ from: 'api/orders', to: 'front/web', port: 53, protocol: 'UDP', expect: 'allow', origin: 'learned' }),
]);

describe('formatResults: txt', () => {
  it('one line per case, the explanation under a failure, a summary', () => {
    expect(formatResults(results, 'txt')).toBe(
      [
        'PASS   web reaches orders  front/web → api/orders 8080/TCP  expected allow, got allow',
        'FAIL   orders is closed to itself  api/orders → api/orders 8080/TCP  expected allow, got deny  (line 8)',
        '    api/orders => api/orders : TCP 8080 DENIED',
        '      denied by the destination ingress',
        '      - egress: api/orders is not isolated for egress (no policy selects it), so all egress is allowed',
        '      - ingress: api/orders is isolated by api/orders-in and no ingress rule of them allows this connection (closest: api/orders-in ingress[0] allows the port but not this peer)',
        'FAIL   10.0.0.0/8 → api/orders 8080/TCP  expected allow, got partial: 1 of 2 allowed  (line 14)',
        '    1 of 2 connections (pod classes × address blocks) are allowed',
        '    10.128.0.0-10.255.255.255 => api/orders : TCP 8080 DENIED',
        '      denied by the destination ingress',
        '      - egress: 10.128.0.0-10.255.255.255 is outside the cluster, no policy applies',
        '      - ingress: api/orders is isolated by api/orders-in and no ingress rule of them allows this connection (closest: api/orders-in ingress[0] allows the port but not this peer)',
        'ERROR  front/ghost → api/orders 8080/TCP  expected deny, got an error  (line 19)',
        '    error: no pod or workload "front/ghost" in the input',
        'PASS   [anomaly] front/web → api/orders 9090/TCP  expected deny, got deny',
        'PASS   [learned] api/orders → front/web 53/UDP  expected allow, got allow',
        '6 case(s): 3 passed, 2 failed, 1 error(s)',
        '',
      ].join('\n'),
    );
    expect(summarizeResults(results)).toEqual({ total: 6, passed: 3, failed: 2, errors: 1 });
    expect(formatResults([], 'txt')).toBe('0 case(s): 0 passed, 0 failed, 0 error(s)\n');
  });

  it('escapes what could drive a terminal, in names and in reasons', () => {
    const hostile = { ...(results[1] as CaseResult), case: c({ name: 'x\u001b[2J\u202eevil', from: 'api/orders', to: 'api/orders', port: 8080, expect: 'allow' }), reason: 'line one\n\u001b]0;title\u0007' };
    const text = formatResults([hostile], 'txt');
    for (const ch of ['\u001b', '\u0007', '\u202e']) expect(text).not.toContain(ch);
    expect(text).toContain('FAIL   x\\x1b[2J\\u202eevil  api/orders');
    expect(text).toContain('    line one\n    \\x1b]0;title\\x07\n');
  });
});

describe('formatResults: json', () => {
  it('the summary and every case with its verdict as data', () => {
    const data = JSON.parse(formatResults(results, 'json')) as { summary: unknown; results: Array<Record<string, unknown>> };
    expect(data.summary).toEqual({ total: 6, passed: 3, failed: 2, errors: 1 });
    expect(data.results[0]).toEqual({
      name: 'web reaches orders',
      from: 'front/web',
      to: 'api/orders',
      port: 8080,
      protocol: 'TCP',
      expect: 'allow',
      origin: 'file',
      line: 2,
      status: 'pass',
      got: 'allow',
      pass: true,
      allowed: true,
      checked: 1,
      allowedCount: 1,
      reason: results[0]?.reason,
    });
    expect(data.results[2]).toMatchObject({ status: 'fail', got: 'partial', checked: 2, allowedCount: 1, allowed: false });
    expect(data.results[3]).toMatchObject({ status: 'error', got: 'error', error: 'no pod or workload "front/ghost" in the input' });
    expect(data.results[3]).not.toHaveProperty('name');
    expect(data.results[5]).toMatchObject({ origin: 'learned', protocol: 'UDP' });
    expect(data.results[5]).not.toHaveProperty('line');
  });
});

function testcases(suite: XmlElement): XmlElement[] {
  return suite.children.filter((e) => e.name === 'testcase');
}

describe('formatResults: junit', () => {
  it('a testsuite with a testcase per case, failures and errors with their reasons', () => {
    const doc = parseXml(formatResults(results, 'junit', { suite: 'netpol-tests.yaml' }));
    expect(doc.name).toBe('testsuites');
    expect(doc.attributes).toEqual({ name: 'netpol-responder test', tests: '6', failures: '2', errors: '1' });
    const [suite] = doc.children;
    expect(suite?.attributes).toEqual({ name: 'netpol-tests.yaml', tests: '6', failures: '2', errors: '1', skipped: '0' });
    const cases = testcases(suite as XmlElement);
    expect(cases.map((t) => [t.attributes.name, t.attributes.classname, t.children.map((x) => x.name).join()])).toEqual([
      ['web reaches orders', 'netpol.file', ''],
      ['orders is closed to itself', 'netpol.file', 'failure'],
      ['10.0.0.0/8 → api/orders 8080/TCP', 'netpol.file', 'failure'],
      ['front/ghost → api/orders 8080/TCP', 'netpol.file', 'error'],
      ['front/web → api/orders 9090/TCP', 'netpol.anomaly', ''],
      ['api/orders → front/web 53/UDP', 'netpol.learned', ''],
    ]);
    const failure = cases[1]?.children[0];
    expect(failure?.attributes).toEqual({ message: 'expected allow, got deny', type: 'deny' });
    expect(failure?.text).toBe(`api/orders → api/orders 8080/TCP\n${results[1]?.reason}`);
    expect(cases[2]?.children[0]?.attributes).toEqual({ message: 'expected allow, got partial: 1 of 2 allowed', type: 'partial' });
    expect(cases[3]?.children[0]?.attributes).toEqual({ message: 'no pod or workload "front/ghost" in the input', type: 'error' });
    expect(formatResults(results, 'junit')).toContain('<testsuite name="netpol-tests" ');
  });

  it('hostile names and reasons keep the document well-formed and read back escaped', () => {
    const names = ['<&"]]>', "it's <b>bold</b> & ]]> done", 'ctl \u0000\u0001\u0008\u000b\u000c\u001f\u007f', 'bidi \u202e\u2066', 'surrogate \ud800 and \udfff alone', 'non-chars \ufffe\uffff', 'emoji 🧪 stays', 'tab\tnew\nline\rcr'];
    const hostile = names.map((name, i) => ({
      ...(results[i % 2 === 0 ? 1 : 3] as CaseResult),
      case: c({ name, from: 'a/b', to: 'c/d', port: 1, expect: 'allow' }),
      reason: `reason of ${name}\n]]></failure><x>`,
      ...(i % 2 === 1 ? { error: `error of ${name} ]]>` } : {}),
    }));
    const xml = formatResults(hostile, 'junit', { suite: 'suite <&"]]>\u0001' });
    const doc = parseXml(xml);
    const suite = doc.children[0] as XmlElement;
    expect(suite.attributes.name).toBe('suite <&"]]>\\x01');
    const read = testcases(suite);
    expect(read).toHaveLength(names.length);
    expect(read.map((t) => t.attributes.name)).toEqual([
      '<&"]]>',
      "it's <b>bold</b> & ]]> done",
      'ctl \\x00\\x01\\x08\\x0b\\x0c\\x1f\\x7f',
      'bidi \\u202e\\u2066',
      'surrogate \\ud800 and \\udfff alone',
      'non-chars \\ufffe\\uffff',
      'emoji 🧪 stays',
      'tab\\tnew\\nline\\rcr',
    ]);
    // Every case failed or errored, and each body holds its reason's text, not markup.
    for (const [i, t] of read.entries()) {
      const body = t.children[0] as XmlElement;
      expect(body.name).toBe(i % 2 === 0 ? 'failure' : 'error');
      expect(body.children).toEqual([]);
      expect(body.text).toContain(i % 2 === 0 ? ']]></failure><x>' : ' ]]>');
    }
  });

  it('the strict reader refuses what a CI parser would (so the test above can fail)', () => {
    expect(() => parseXml('<a name="x<y"/>')).toThrow();
    expect(() => parseXml('<a>x & y</a>')).toThrow(/bare/);
    expect(() => parseXml('<a>x ]]> y</a>')).toThrow(/]]>/);
    expect(() => parseXml('<a>\u0001</a>')).toThrow(/not allowed/);
    expect(() => parseXml('<a><b></a></b>')).toThrow(/unbalanced/);
    expect(() => parseXml('<a/><b/>')).toThrow(/second root/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/twice/);
    expect(() => parseXml('<a>&#1;</a>')).toThrow(/does not allow/);
    expect(parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<a k=\'v&amp;w\'>t&lt;<b/>&#x41;</a>\n')).toEqual({ name: 'a', attributes: { k: 'v&w' }, children: [{ name: 'b', attributes: {}, children: [], text: '' }], text: 't<A' });
  });
});
