// The policies the repository already declares in a hardened namespace, replaced by the baseline:
// files deleted or rewritten (other documents and their comments kept), and what cannot be removed
// kept for the proof: rendered by Helm, a file that does not parse, a policy selecting only
// workloads left out for too little history. Hostile repository content included.
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { generateBaseline } from '../../src/harden/generate.js';
import { supersede, type DeclaredPolicy, type SupersedeInput } from '../../src/harden/supersede.js';
import { SHOP_EDGES, shopLive } from '../helpers/harden.js';

const baseline = generateBaseline({ namespace: 'db', live: shopLive, edges: SHOP_EDGES });
const FILES = baseline.files.map((f) => ({ path: `policies/${f.path}`, content: f.yaml }));

function np(name: string, spec: unknown = { podSelector: {}, policyTypes: ['Ingress'] }, namespace = 'db') {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

function declared(path: string, name: string, via: DeclaredPolicy['via'] = 'plain', spec: unknown = np(name).spec): DeclaredPolicy {
  return { namespace: 'db', name, path, spec, via, object: np(name, spec) };
}

function plan(over: Partial<SupersedeInput>) {
  return supersede({ files: FILES, declared: [], texts: {}, live: shopLive, flagged: new Set(), namespaces: ['db'], ...over });
}

const yamlOf = (o: unknown) => `---\n${JSON.stringify(o)}\n`;

describe('superseding the declared policies', () => {
  it('a file holding only superseded policies is deleted; the proof keeps nothing', () => {
    const p = plan({ declared: [declared('policies/db/ingress.yaml', 'allow-db-from-api')], texts: { 'policies/db/ingress.yaml': yamlOf(np('allow-db-from-api')) } });
    expect(p.deletions).toEqual(['policies/db/ingress.yaml']);
    expect(p.superseded).toEqual(['db/allow-db-from-api (policies/db/ingress.yaml)']);
    expect(p.kept).toEqual([]);
    expect(p.files.map((f) => f.path)).toEqual(FILES.map((f) => f.path));
  });

  it('a file with a ConfigMap and comments is rewritten without the policy; the rest stays as written', () => {
    const text = [
      '# Team notes: keep the cache config here.',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: cache, namespace: db}',
      'data:',
      '  size: "10" # tuned in March',
      '---',
      '# the old ingress rule',
      'apiVersion: networking.k8s.io/v1',
      'kind: NetworkPolicy',
      'metadata: {name: old, namespace: db}',
      'spec: {podSelector: {}}',
      '---',
      'apiVersion: networking.k8s.io/v1',
      'kind: NetworkPolicy',
      'metadata: {name: other-ns, namespace: api}',
      'spec: {podSelector: {}}',
      '',
    ].join('\n');
    const p = plan({ declared: [declared('policies/db/mixed.yaml', 'old')], texts: { 'policies/db/mixed.yaml': text } });
    expect(p.deletions).toEqual([]);
    const out = p.files.find((f) => f.path === 'policies/db/mixed.yaml')!.content;
    expect(out).toContain('# Team notes: keep the cache config here.');
    expect(out).toContain('size: "10" # tuned in March');
    expect(out).not.toContain('name: old');
    const docs = parseAllDocuments(out);
    expect(docs.every((d) => d.errors.length === 0)).toBe(true);
    expect(docs.map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name)).toEqual(['cache', 'other-ns']);
  });

  it('multi-document files: only the named documents go, each once; one left without objects is deleted', () => {
    const text = `${yamlOf(np('a'))}${yamlOf(np('b'))}---\n`;
    const p = plan({ declared: [declared('policies/db/ab.yaml', 'a'), declared('policies/db/ab.yaml', 'b')], texts: { 'policies/db/ab.yaml': text } });
    expect(p.deletions).toEqual(['policies/db/ab.yaml']);
    expect(p.superseded).toHaveLength(2);
  });

  it('a file that does not parse keeps its policies for the proof, and the baseline never overwrites it', () => {
    const broken = `${yamlOf(np('default-deny'))}---\nkind: [unclosed\n`;
    const p = plan({ declared: [declared('policies/db/default-deny.yaml', 'default-deny')], texts: { 'policies/db/default-deny.yaml': broken } });
    expect(p.kept).toEqual([expect.objectContaining({ key: 'db/default-deny', why: expect.stringContaining('does not parse') })]);
    expect(p.deletions).toEqual([]);
    expect(p.files.map((f) => f.path)).not.toContain('policies/db/default-deny.yaml');
    const moved = p.files.find((f) => f.path === 'policies/db/default-deny.netpol-baseline.yaml')!.content;
    // The kept name is not declared twice; the DNS policy still is written.
    expect(moved).not.toContain('name: default-deny\n');
    expect(moved).toContain('name: allow-dns-egress');
  });

  it('an unreadable file and a policy not found as its own document are kept, with the reason', () => {
    const p = plan({
      declared: [declared('policies/db/gone.yaml', 'x'), declared('policies/db/list.yaml', 'y')],
      texts: { 'policies/db/list.yaml': yamlOf({ apiVersion: 'v1', kind: 'List', items: [np('y')] }) },
    });
    expect(p.kept.map((k) => [k.key, k.why])).toEqual([
      ['db/x', 'its file could not be read'],
      ['db/y', 'not found as a document of its own in its file: remove it by hand'],
    ]);
    expect(p.files.map((f) => f.path)).not.toContain('policies/db/list.yaml');
  });

  it('Helm-rendered policies cannot be edited: kept, and a generated one of the same name is not written', () => {
    const p = plan({ declared: [declared('charts/db/templates/np.yaml', 'allow-dns-egress', 'helm', { podSelector: {}, policyTypes: ['Egress'] })], texts: {} });
    expect(p.kept).toEqual([expect.objectContaining({ key: 'db/allow-dns-egress', why: expect.stringContaining('rendered by helm') })]);
    expect(p.files.find((f) => f.path === 'policies/db/default-deny.yaml')!.content).not.toContain('name: allow-dns-egress');
    expect(p.notes.join('\n')).toContain('the proof counts the declared one');
  });

  it('an identical declaration stays where it is and ours is not written twice', () => {
    const dns = parse(FILES[0]!.content.split(/^---$/m)[2]!) as { spec: unknown };
    const p = plan({ declared: [declared('policies/db/dns.yaml', 'allow-dns-egress', 'plain', dns.spec)], texts: { 'policies/db/dns.yaml': yamlOf(np('allow-dns-egress', dns.spec)) } });
    expect(p.deletions).toEqual([]);
    expect(p.superseded).toEqual([]);
    expect(p.files.find((f) => f.path === 'policies/db/default-deny.yaml')!.content).not.toContain('name: allow-dns-egress');
    expect(p.notes).toContain('db/allow-dns-egress is already declared, identical, in policies/db/dns.yaml: kept there.');
  });

  it('a superseded file at a path the baseline writes is replaced, not deleted', () => {
    const p = plan({ declared: [declared('policies/db/default-deny.yaml', 'legacy')], texts: { 'policies/db/default-deny.yaml': yamlOf(np('legacy')) } });
    expect(p.deletions).toEqual([]);
    expect(p.files.filter((f) => f.path === 'policies/db/default-deny.yaml')).toHaveLength(1);
    expect(p.files.find((f) => f.path === 'policies/db/default-deny.yaml')!.content).toBe(FILES[0]!.content);
  });

  it('policies selecting only flagged workloads are kept; one selecting others too is superseded', () => {
    const onlyCache = declared('policies/db/cache.yaml', 'cache-only', 'plain', { podSelector: { matchLabels: { app: 'redis-cache' } } });
    const all = declared('policies/db/all.yaml', 'all', 'plain', { podSelector: {} });
    const nothing = declared('policies/db/none.yaml', 'none', 'plain', { podSelector: { matchLabels: { app: 'ghost' } } });
    const texts = { 'policies/db/cache.yaml': yamlOf(np('cache-only')), 'policies/db/all.yaml': yamlOf(np('all')), 'policies/db/none.yaml': yamlOf(np('none')) };
    const p = plan({ declared: [onlyCache, all, nothing], texts, flagged: new Set(['db/redis-cache']) });
    expect(p.kept.map((k) => [k.key, k.why])).toEqual([['db/cache-only', 'selects only workloads with too little history']]);
    expect(p.deletions).toEqual(['policies/db/all.yaml', 'policies/db/none.yaml']);
  });

  it('other namespaces are not touched; live policies missing from Git are listed', () => {
    const other: DeclaredPolicy = { ...declared('policies/api/x.yaml', 'x'), namespace: 'api' };
    const live = { ...shopLive, networkPolicies: [...shopLive.networkPolicies, np('hand-made')] };
    const p = plan({ declared: [other], texts: { 'policies/api/x.yaml': yamlOf(np('x', undefined, 'api')) }, live });
    expect(p.deletions).toEqual([]);
    expect(p.liveOnly).toContain('db/hand-made');
  });

  it('kustomize resources are files too: the kustomization drops the deleted ones and lists the new ones; a generated object cannot be edited', () => {
    const kust = '# the shop\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - db/allow-db-from-api.yaml\n  - ./db/default-deny.yaml\n  - api/x.yaml\n';
    const p = plan({
      declared: [declared('policies/db/allow-db-from-api.yaml', 'allow-db-from-api', 'kustomize'), declared('policies/kustomization.yaml', 'patched', 'kustomize')],
      texts: { 'policies/db/allow-db-from-api.yaml': yamlOf(np('allow-db-from-api')) },
      kustomizations: { 'policies/kustomization.yaml': kust },
    });
    expect(p.deletions).toEqual(['policies/db/allow-db-from-api.yaml']);
    expect(p.kept.map((k) => k.key)).toEqual(['db/patched']);
    const k = parse(p.files.find((f) => f.path === 'policies/kustomization.yaml')!.content) as { resources: string[] };
    expect(k.resources).not.toContain('db/allow-db-from-api.yaml');
    expect(k.resources).toEqual(expect.arrayContaining(['./db/default-deny.yaml', 'api/x.yaml', ...FILES.slice(1).map((f) => f.path.slice('policies/'.length))]));
    expect(k.resources.filter((r) => r.endsWith('default-deny.yaml'))).toHaveLength(1);
    expect(p.files.find((f) => f.path === 'policies/kustomization.yaml')!.content).toContain('# the shop');
  });
});
