// The structural-schema engine of the simulated apiextensions server, and the CRD schemas it
// serves: messages as the apiserver writes them, pruning, defaults, and bounded work on hostile input.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ANY, arr, defaultSchema, int, isCidr, labelSelector, map, obj, pruneSchema, str, validateSchema, type Schema } from '../../../src/sim/kube/crd-schema.js';
import { ciliumPortMatches } from '../../../src/sim/kube/crds/cilium.js';
import { resourceByName, type ResourceType } from '../../../src/sim/kube/resources.js';
import { pruneUnknownFields, unknownFields } from '../../../src/sim/kube/schema.js';
import { renderFieldError } from '../../../src/sim/kube/status.js';
import { validateObject } from '../../../src/sim/kube/validation.js';

const rendered = (schema: Schema, value: unknown): string[] => validateSchema(schema, value).map(renderFieldError);

describe('validateSchema', () => {
  const schema = obj(
    {
      n: int({ minimum: 0, maximum: 10 }),
      s: str({ enum: ['A', 'B'] }),
      name: str({ maxLength: 5 }),
      tag: str({ minLength: 2, pattern: '^[a-z]+$' }),
      list: arr(str(), { minItems: 1, maxItems: 2 }),
      set: arr(str(), { listSet: true }),
      one: obj({ a: str(), b: str() }, { minProperties: 1, maxProperties: 1 }),
      cidr: str({ format: 'cidr' }),
      labels: map(str()),
      free: ANY,
    },
    { required: ['n'] },
  );

  it('accepts what the schema allows', () => {
    expect(rendered(schema, { n: 3, s: 'A', name: 'abcde', tag: 'ok', list: ['x'], set: ['a', 'b'], one: { a: 'x' }, cidr: '10.0.0.0/8', labels: { k: 'v' }, free: { anything: [1, { deep: true }] } })).toEqual([]);
  });

  it('reports each violation with the apiserver wording', () => {
    expect(rendered(schema, {})).toEqual(['n: Required value']);
    expect(rendered(schema, { n: 11 })).toEqual(['n: Invalid value: 11: n in body should be less than or equal to 10']);
    expect(rendered(schema, { n: -1 })).toEqual(['n: Invalid value: -1: n in body should be greater than or equal to 0']);
    expect(rendered(schema, { n: '3' })).toEqual(['n: Invalid value: "string": n in body must be of type integer: "string"']);
    expect(rendered(schema, { n: 1.5 })).toEqual(['n: Invalid value: "number": n in body must be of type integer: "number"']);
    expect(rendered(schema, { n: 1, s: 'C' })).toEqual(['s: Unsupported value: "C": supported values: "A", "B"']);
    expect(rendered(schema, { n: 1, name: 'toolong' })).toEqual(['name: Too long: may not be more than 5 bytes']);
    expect(rendered(schema, { n: 1, tag: 'X' })).toEqual(['tag: Invalid value: "X": tag in body should be at least 2 chars long', "tag: Invalid value: \"X\": tag in body should match '^[a-z]+$'"]);
    expect(rendered(schema, { n: 1, list: [] })).toEqual(['list: Invalid value: 0: list in body should have at least 1 items']);
    expect(rendered(schema, { n: 1, list: ['a', 'b', 'c'] })).toEqual(['list: Too many: 3: must have at most 2 items']);
    expect(rendered(schema, { n: 1, set: ['a', 'a'] })).toEqual(['set[1]: Duplicate value: "a"']);
    expect(rendered(schema, { n: 1, one: {} })).toEqual(['one: Invalid value: 0: one in body should have at least 1 properties']);
    expect(rendered(schema, { n: 1, one: { a: 'x', b: 'y' } })).toEqual(['one: Too many: 2: must have at most 1 items']);
    expect(rendered(schema, { n: 1, cidr: '10.0.0.1' })).toEqual(['cidr: Invalid value: "10.0.0.1": cidr in body must be of type cidr: "10.0.0.1"']);
    expect(rendered(schema, { n: 1, labels: { k: 1 } })).toEqual(['labels[k]: Invalid value: "integer": labels[k] in body must be of type string: "integer"']);
    expect(rendered(schema, [])).toEqual(['<nil>: Invalid value: "array": <nil> in body must be of type object: "array"']);
  });

  it('checks one-of and any-of alternatives, and CEL-like rules', () => {
    const rule = obj({ a: str(), b: str(), c: str() }, { oneOf: [{ required: ['a'] }, { required: ['b'] }], anyOf: [{ required: ['c'] }], rules: [{ rule: "self.a != 'x'", message: 'a must not be x', check: (v) => (v as { a?: string }).a !== 'x' }] });
    expect(rendered(obj({ spec: rule }), { spec: { a: 'y', c: 'z' } })).toEqual([]);
    expect(rendered(obj({ spec: rule }), { spec: { c: 'z' } })).toEqual([
      'spec: Invalid value: "object": spec in body must validate one and only one schema (oneOf). Found none valid',
      'spec.a: Required value',
      'spec.b: Required value',
    ]);
    expect(rendered(obj({ spec: rule }), { spec: { a: 'y', b: 'y', c: 'z' } })).toEqual(['spec: Invalid value: "object": spec in body must validate one and only one schema (oneOf). Found 2 valid alternatives']);
    expect(rendered(obj({ spec: rule }), { spec: { a: 'y' } })).toEqual(['spec: Invalid value: "object": spec in body must validate at least one schema (anyOf)', 'spec.c: Required value']);
    expect(rendered(obj({ spec: rule }), { spec: { a: 'x', c: 'z' } })).toEqual(['spec: Invalid value: "object": a must not be x']);
  });

  it('reads CIDRs like net.ParseCIDR', () => {
    for (const ok of ['0.0.0.0/0', '10.1.2.3/32', '::/0', 'fd00::/8', '2001:db8::1/128']) expect(isCidr(ok), ok).toBe(true);
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/8/8', 'x/8', '', '/8', '10.0.0.0/ 8']) expect(isCidr(bad), bad).toBe(false);
  });

  it('stops at maxItems: a list of a million bad items costs one error', () => {
    const huge = Array.from({ length: 1_000_000 }, () => 42);
    const started = Date.now();
    expect(rendered(arr(str(), { maxItems: 100 }), huge)).toEqual(['<nil>: Too many: 1000000: must have at most 100 items']);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('pruneSchema and defaultSchema', () => {
  const schema = obj({ spec: obj({ keep: str(), sel: labelSelector(), list: arr(obj({ a: str({ default: 'D' }) })), free: ANY }) });

  it('names unknown fields by path, removes them only when asked, and drops nulls', () => {
    const value = { spec: { keep: 'x', typo: 1, sel: { matchLabels: { a: 'b' }, extra: true }, list: [{ a: 'y', b: 2 }], free: { whatever: 1 }, nulled: null }, status: {} };
    const out: string[] = [];
    pruneSchema(schema, structuredClone(value), '', out, false);
    expect(out.sort()).toEqual(['spec.list[0].b', 'spec.nulled', 'spec.sel.extra', 'spec.typo', 'status']);
    const copy = { ...structuredClone(value), spec: { ...structuredClone(value.spec), keep: null } };
    pruneSchema(schema, copy, '', [], true);
    expect(copy).toEqual({ spec: { sel: { matchLabels: { a: 'b' } }, list: [{ a: 'y' }], free: { whatever: 1 } } });
  });

  it('fills defaults only inside objects that are there', () => {
    const value = { spec: { list: [{}, { a: 'kept' }] } };
    defaultSchema(schema, value);
    expect(value).toEqual({ spec: { list: [{ a: 'D' }, { a: 'kept' }] } });
    const empty = {};
    defaultSchema(schema, empty);
    expect(empty).toEqual({});
  });
});

describe("Cilium's port pattern in linear time", () => {
  const real = /^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$/;

  it('agrees with the CRD pattern on every short string over its alphabet', () => {
    const alphabet = ['a', 'Z', '0', '9', '-', '_', '6', '5'];
    const strings = [''];
    for (let len = 1; len <= 5; len++) {
      const next: string[] = [];
      for (const s of strings.filter((x) => x.length === len - 1)) for (const c of alphabet) next.push(s + c);
      strings.push(...next);
    }
    for (const s of strings) expect(ciliumPortMatches(s), JSON.stringify(s)).toBe(real.test(s));
    for (const s of ['53', '65535', '65536', 'dns', 'dns-tcp', 'http-8080', '-x', 'x-', 'a--b', '99999', '', ' 53']) expect(ciliumPortMatches(s), s).toBe(real.test(s));
  });

  it('answers at once on a hostile megabyte', () => {
    const started = Date.now();
    expect(ciliumPortMatches(`${'a'.repeat(1_000_000)}!`)).toBe(false);
    expect(ciliumPortMatches(`!${'a-1'.repeat(300_000)}`)).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('the CRD schemas', () => {
  const type = (resource: string, group: string): ResourceType => resourceByName(resource, group) as ResourceType;
  const anp = type('adminnetworkpolicies', 'policy.networking.k8s.io');
  const banp = type('baselineadminnetworkpolicies', 'policy.networking.k8s.io');
  const cnp = type('ciliumnetworkpolicies', 'cilium.io');
  const app = type('applications', 'argoproj.io');

  /** Every AdminNetworkPolicy and BaselineAdminNetworkPolicy of the netpol-analyzer fixtures. */
  function fixtureObjects(): Array<{ file: string; obj: Record<string, unknown> }> {
    const root = join(import.meta.dirname, '../../fixtures/netpol-anp/tests');
    const out: Array<{ file: string; obj: Record<string, unknown> }> = [];
    for (const d of readdirSync(root)) {
      for (const f of readdirSync(join(root, d)).filter((x) => x.endsWith('.yaml'))) {
        for (const doc of parseAllDocuments(readFileSync(join(root, d, f), 'utf8'))) {
          const o = doc.toJS() as Record<string, unknown> | null;
          const items = o?.kind === 'List' || String(o?.kind ?? '').endsWith('List') ? ((o?.items as Record<string, unknown>[]) ?? []) : o ? [o] : [];
          for (const item of items) if (/AdminNetworkPolicy$/.test(String(item.kind))) out.push({ file: `${d}/${f}`, obj: item });
        }
      }
    }
    return out;
  }

  it('accepts the netpol-analyzer ANP and BANP fixtures, except what a standard-channel cluster refuses', () => {
    // netpol-analyzer reads objects a cluster would not store: a pods peer without podSelector
    // (the CRD requires it) and namedPort (experimental channel only). Everything else must pass.
    const all = fixtureObjects();
    expect(all.length).toBeGreaterThan(10);
    let accepted = 0;
    for (const { file, obj: o } of all) {
      const rt = o.kind === 'AdminNetworkPolicy' ? anp : banp;
      const unknown = unknownFields(rt, o);
      expect(unknown.filter((f) => !f.endsWith('.namedPort')), file).toEqual([]);
      const errors = validateObject(rt, structuredClone(o)).map(renderFieldError);
      expect(errors.filter((e) => !/\.pods\.podSelector: Required value$/.test(e)), file).toEqual([]);
      if (unknown.length === 0 && errors.length === 0) accepted++;
    }
    expect(accepted).toBeGreaterThanOrEqual(10);
  });

  it('rejects what the CRDs reject', () => {
    const msgs = (rt: ResourceType, o: unknown): string[] => validateObject(rt, o).map(renderFieldError);
    expect(msgs(anp, { metadata: { name: 'a' }, spec: { priority: 1, subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/8', 'nope'] }] }] } })).toEqual([
      'spec.egress[0].to[0].networks[1]: Invalid value: "string": Invalid CIDR format provided',
    ]);
    expect(msgs(anp, { metadata: { name: 'a' }, spec: { subject: {}, ingress: [{ action: 'Allow', from: [], ports: [{ portNumber: { port: 0 }, portRange: { start: 1, end: 2 } }] }] } })).toEqual([
      'spec.priority: Required value',
      'spec.subject: Invalid value: 0: spec.subject in body should have at least 1 properties',
      'spec.ingress[0].from: Invalid value: 0: spec.ingress[0].from in body should have at least 1 items',
      'spec.ingress[0].ports[0]: Too many: 2: must have at most 1 items',
      'spec.ingress[0].ports[0].portNumber.protocol: Required value',
      'spec.ingress[0].ports[0].portNumber.port: Invalid value: 0: spec.ingress[0].ports[0].portNumber.port in body should be greater than or equal to 1',
    ]);
    expect(msgs(banp, { metadata: { name: 'default' }, spec: { subject: { namespaces: {} }, egress: [{ action: 'Pass', to: [{ namespaces: {} }] }] } })).toEqual([
      'spec.egress[0].action: Unsupported value: "Pass": supported values: "Allow", "Deny"',
    ]);
    expect(msgs(cnp, { metadata: { name: 'c', namespace: 'db' }, spec: { endpointSelector: { matchLabels: { app: 'x'.repeat(64) } }, egress: [{ toPorts: [{ ports: [{ port: 'bad port!', protocol: 'ICMP' }] }] }] } })).toEqual([
      'spec.endpointSelector.matchLabels[app]: Too long: may not be more than 63 bytes',
      "spec.egress[0].toPorts[0].ports[0].port: Invalid value: \"bad port!\": spec.egress[0].toPorts[0].ports[0].port in body should match '^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$'",
      'spec.egress[0].toPorts[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"',
    ]);
    expect(msgs(cnp, { metadata: { name: 'c' }, specs: [{ nodeSelector: {}, ingress: [{}] }, { endpointSelector: {}, ingressDeny: [{ fromCIDRSet: [{ cidr: '10.0.0.0/8', cidrGroupRef: 'g' }] }] }] })).toEqual([
      'specs[1].ingressDeny[0].fromCIDRSet[0]: Invalid value: "object": specs[1].ingressDeny[0].fromCIDRSet[0] in body must validate one and only one schema (oneOf). Found 2 valid alternatives',
    ]);
    expect(msgs(app, { metadata: { name: 'a', namespace: 'argocd' }, spec: { source: { anything: true } } })).toEqual(['spec.destination: Required value', 'spec.project: Required value']);
    expect(msgs(app, { metadata: { name: 'a', namespace: 'argocd' } })).toEqual(['spec: Required value']);
  });

  it('prunes unknown fields of custom resources but keeps what the CRD leaves open', () => {
    const o = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'a', bogus: 1 }, spec: { project: 'p', destination: {}, source: { x: { y: 1 } }, typo: 2 }, status: { free: true } };
    expect(pruneUnknownFields(app, o)).toEqual(['metadata.bogus', 'spec.typo']);
    expect(o).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'a' }, spec: { project: 'p', destination: {}, source: { x: { y: 1 } } }, status: { free: true } });
  });

  it('takes a DNS subdomain as the name of every custom resource', () => {
    expect(validateObject(anp, { metadata: { name: 'a.b-c' }, spec: { priority: 0, subject: { namespaces: {} } } })).toEqual([]);
    expect(validateObject(anp, { metadata: { name: 'Bad_Name' }, spec: { priority: 0, subject: { namespaces: {} } } }).map((e) => e.field)).toEqual(['metadata.name']);
  });
});
