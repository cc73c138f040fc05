// Several Kubernetes clusters served by one bot (`clusters:`). Each cluster gets a runtime of its
// own (its API server, relay and policy repositories; its queue, incidents, locks and journal under
// a key prefix of its own), and one Slack front routes commands and clicks to it by name.
import { join } from 'node:path';
import { z } from 'zod';
import { gitSchema } from '../git/config-schema.js';
import type { Config } from './schema.js';

/** A cluster's name: a DNS-1123 label short enough to lead an incident id that still fits a label value. */
export const CLUSTER_NAME_MAX = 24;
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const clusterNameSchema = z
  .string()
  .max(CLUSTER_NAME_MAX, `must be at most ${CLUSTER_NAME_MAX} characters`)
  .regex(CLUSTER_NAME, 'must be a DNS-1123 label (lower-case letters, digits, "-")');

export const clusterSchema = z
  .object({
    name: clusterNameSchema,
    /** Where its API server is: a kubeconfig file and a context in it (default: KUBECONFIG, its current context). */
    kube: z
      .object({
        // eslint-disable-next-line no-control-regex
        kubeconfig: z.string().min(1).max(1024).regex(/^[^\x00-\x1f\x7f]+$/, 'must not contain control characters').optional(),
        context: z.string().min(1).max(253).regex(/^[A-Za-z0-9._@:/-]+$/, 'must be a kubeconfig context name').optional(),
      })
      .strict()
      .default({}),
    /** host:port of its Hubble Relay: replaces collector.source.address for this cluster. */
    relay: z
      .string()
      .regex(/^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be host:port')
      .optional(),
    /** Its policy repositories: replace git.repositories for this cluster (the other git settings are shared). */
    git: z.object({ repositories: gitSchema.shape.repositories }).strict().optional(),
  })
  .strict();

export const clustersSchema = z
  .array(clusterSchema)
  .min(1, 'needs at least one cluster (or leave clusters out for the one cluster of KUBECONFIG)')
  .max(32)
  .superRefine((clusters, ctx) => {
    const seen = new Set<string>();
    clusters.forEach((cluster, index) => {
      if (seen.has(cluster.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate cluster name "${cluster.name}"` });
      seen.add(cluster.name);
    });
  });

export type ClusterConfig = z.infer<typeof clusterSchema>;

/** Problems between `clusters` and the rest of the file (checked once the file parsed). */
export function clusterProblems(config: Pick<Config, 'clusters' | 'collector'>): string[] {
  const clusters = config.clusters ?? [];
  const source = config.collector?.source;
  if (clusters.length < 2 || !source) return [];
  if (source.kind === 'jsonl-file') return ['clusters: a jsonl-file collector source is one cluster\'s flows; with several clusters, give each its relay (clusters[].relay) and use collector.source.kind hubble-relay'];
  return clusters.flatMap((cluster, index) =>
    cluster.relay ? [] : [`clusters.${index}.relay: the collector reads each cluster's flows from its own Hubble Relay; set relay (host:port) for "${cluster.name}"`],
  );
}

/** The key prefix of one cluster's state: the install's prefix and the cluster's name ("." cannot appear in a configured prefix). */
export function clusterKeyPrefix(prefix: string, name: string): string {
  const tagged = prefix.startsWith('{') && prefix.endsWith('}');
  return tagged ? `{${prefix.slice(1, -1)}.${name}}` : `${prefix}.${name}`;
}

/** The configuration one cluster's runtime runs with: its API server, relay, repositories and key prefix. */
export function configForCluster(config: Config, cluster: ClusterConfig): Config {
  const source = config.collector?.source;
  const collector =
    config.collector && source?.kind === 'hubble-relay' && cluster.relay ? { ...config.collector, source: { ...source, address: cluster.relay } } : config.collector;
  const repositories = cluster.git?.repositories ?? config.git?.repositories;
  const git = config.git || cluster.git ? { ...gitSchema.parse({}), ...config.git, repositories: repositories ?? [] } : undefined;
  return {
    ...config,
    redis: { ...config.redis, keyPrefix: clusterKeyPrefix(config.redis.keyPrefix, cluster.name) },
    kubeconfigPath: cluster.kube.kubeconfig ?? config.kubeconfigPath,
    ...(cluster.kube.context ? { kubeContext: cluster.kube.context } : {}),
    ...(collector ? { collector } : {}),
    // Each cluster keeps its own clones: two clusters may follow the same repository at different commits.
    ...(git ? { git: { ...git, dir: join(git.dir, cluster.name) } } : {}),
    clusterName: cluster.name,
  };
}
