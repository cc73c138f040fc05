import { describe, expect, it } from 'vitest';
import { clusterKeyPrefix, configForCluster } from '../../src/config/clusters.js';
import { buildConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config-problems.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app', KUBECONFIG: '/etc/kube/default' };
const minimal = { slack: { approvers: { users: ['U0APPROVER'] } } };
const relay = (address: string) => ({ source: { kind: 'hubble-relay', address } });
const repo = (name: string) => ({ name, url: `https://git.example.com/${name}.git`, branch: 'main', paths: ['policies'] });

const problemsOf = (document: unknown): string[] => configProblems(document, env);

describe('clusters: the configuration of several clusters', () => {
  it('each cluster runs with its own kubeconfig and context, relay, repositories and key prefix', () => {
    const config = buildConfig(
      {
        ...minimal,
        collector: relay('hubble-relay.kube-system:80'),
        git: { dir: '/var/lib/netpol/git', repositories: [repo('shared')] },
        clusters: [
          { name: 'prod-eu', kube: { kubeconfig: '/etc/kube/eu', context: 'eu-admin' }, relay: 'relay.eu.example:80', git: { repositories: [repo('eu-policies')] } },
          { name: 'prod-us', relay: '[fd00::1]:4245' },
        ],
      },
      env,
    );
    const [eu, us] = config.clusters!.map((c) => configForCluster(config, c));
    expect(eu).toMatchObject({ clusterName: 'prod-eu', kubeconfigPath: '/etc/kube/eu', kubeContext: 'eu-admin', redis: { keyPrefix: 'netpol.prod-eu' } });
    expect(eu!.collector?.source).toMatchObject({ kind: 'hubble-relay', address: 'relay.eu.example:80' });
    expect(eu!.git?.repositories.map((r) => r.name)).toEqual(['eu-policies']);
    expect(eu!.git?.dir).toBe('/var/lib/netpol/git/prod-eu');
    // No kube section: KUBECONFIG and its current context; no git section: the shared repositories.
    expect(us).toMatchObject({ clusterName: 'prod-us', kubeconfigPath: '/etc/kube/default', redis: { keyPrefix: 'netpol.prod-us' } });
    expect(us!.kubeContext).toBeUndefined();
    expect(us!.collector?.source).toMatchObject({ address: '[fd00::1]:4245' });
    expect(us!.git?.repositories.map((r) => r.name)).toEqual(['shared']);
    expect(us!.git?.dir).toBe('/var/lib/netpol/git/prod-us');
    // The whole configuration is left as it was.
    expect(config.redis.keyPrefix).toBe('netpol');
    expect(config.collector?.source).toMatchObject({ address: 'hubble-relay.kube-system:80' });
  });

  it('a cluster with repositories of its own has Git even when the file has no git section', () => {
    const config = buildConfig({ ...minimal, clusters: [{ name: 'a', git: { repositories: [repo('a-policies')] } }, { name: 'b' }] }, env);
    const [a, b] = config.clusters!.map((c) => configForCluster(config, c));
    expect(a!.git?.repositories.map((r) => r.name)).toEqual(['a-policies']);
    expect(b!.git).toBeUndefined();
  });

  it('keeps the hash tag in Redis Cluster mode: one slot per cluster', () => {
    expect(clusterKeyPrefix('{netpol}', 'prod-eu')).toBe('{netpol.prod-eu}');
    expect(clusterKeyPrefix('netpol', 'prod-eu')).toBe('netpol.prod-eu');
  });

  it.each([
    [{ clusters: [] }, /clusters: .*at least one cluster/],
    [{ clusters: [{ name: 'a' }, { name: 'a' }] }, /clusters\.1\.name: duplicate cluster name "a"/],
    [{ clusters: [{ name: 'Prod' }] }, /clusters\.0\.name: must be a DNS-1123 label/],
    [{ clusters: [{ name: 'a'.repeat(25) }] }, /clusters\.0\.name: must be at most 24 characters/],
    [{ clusters: [{ name: '<!channel>' }] }, /clusters\.0\.name/],
    [{ clusters: [{ name: 'a', relay: 'not an address' }] }, /clusters\.0\.relay: must be host:port/],
    [{ clusters: [{ name: 'a', kube: { kubeconfig: 'x\u0000y' } }] }, /clusters\.0\.kube\.kubeconfig/],
    [{ clusters: [{ name: 'a', kube: { context: 'a b' } }] }, /clusters\.0\.kube\.context/],
    [{ clusters: [{ name: 'a', extra: 1 }] }, /clusters\.0/],
    [{ clusters: Array.from({ length: 33 }, (_, i) => ({ name: `c${i}` })) }, /clusters/],
    [{ clusters: [{ name: 'a', relay: 'r:1' }, { name: 'b' }], collector: relay('x:1') }, /clusters\.1\.relay: .*set relay \(host:port\) for "b"/],
    [{ clusters: [{ name: 'a' }, { name: 'b' }], collector: { source: { kind: 'jsonl-file', path: '/x' } } }, /jsonl-file collector source is one cluster's flows/],
  ])('refuses %j with a clear problem', (extra, problem) => {
    expect(problemsOf({ ...minimal, ...extra }).join('\n')).toMatch(problem);
  });

  it('one cluster needs no relay of its own (collector.source.address is its relay)', () => {
    const config = buildConfig({ ...minimal, collector: relay('x:1'), clusters: [{ name: 'only' }] }, env);
    expect(configForCluster(config, config.clusters![0]!).collector?.source).toMatchObject({ address: 'x:1' });
  });
});
