// The manifests in deploy/ are what users apply first: they must parse, carry a configuration the
// bot accepts, and point their probes at paths the bot serves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { buildConfig } from '../../src/config/load.js';

const deploy = join(import.meta.dirname, '../../deploy');
const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };

interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}

/** Manifests as plain data; the tests read the few fields they check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = Record<string, any>;

function documents(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(deploy, file), 'utf8'));
  for (const doc of docs) expect(doc.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Manifest);
}

describe('deploy/kubernetes.yaml', () => {
  const objects = documents('kubernetes.yaml');
  const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
  const config = buildConfig(parse(configMap.data['netpol-responder.yaml'] as string), env);
  const deployments = objects.filter((o) => o.kind === 'Deployment');

  it('holds a configuration the bot accepts, with a collector and metrics', () => {
    expect(config.collector?.source.kind).toBe('hubble-relay');
    expect(config.metrics?.port).toBe(9464);
  });

  it('runs every role once across its Deployments, in the namespace and service account of rbac.yaml', () => {
    const rbac = documents('rbac.yaml');
    const account = rbac.find((o) => o.kind === 'ServiceAccount')!;
    const roles = deployments.flatMap((d) => {
      expect(d.metadata.namespace).toBe(account.metadata.namespace);
      expect(d.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
      const args = (d.spec.template.spec.containers[0] as Container).args;
      return args[args.indexOf('--roles') + 1]!.split(',');
    });
    expect(roles.sort()).toEqual(['collector', 'web', 'worker']);
  });

  it('probes the metrics port at the paths the bot serves', () => {
    for (const deployment of deployments) {
      const container = deployment.spec.template.spec.containers[0] as Container;
      const metricsPort = container.ports.find((p) => p.name === 'metrics');
      expect(metricsPort?.containerPort).toBe(config.metrics?.port);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    }
    const service = objects.find((o) => o.kind === 'Service')!;
    const web = deployments.find((d) => (d.spec.template.spec.containers[0] as Container).args.join(' ').includes('web'))!;
    expect(web.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect((web.spec.template.spec.containers[0] as Container).ports.find((p) => p.name === 'slack')?.containerPort).toBe(config.slack.port);
  });
});
