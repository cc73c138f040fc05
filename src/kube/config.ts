// Where the bot's cluster credentials come from: an explicit kubeconfig, $KUBECONFIG, the
// in-cluster service account, or the usual default (~/.kube/config). Every failure is a
// KubeConfigError whose message says what to change.

import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export class KubeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

export interface LoadKubeConfigOptions {
  kubeconfigPath?: string;
  /** A context of that kubeconfig to use instead of its current one (one bot serving several clusters). */
  context?: string;
  /** Environment to read KUBECONFIG / KUBERNETES_SERVICE_HOST from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): KubeConfig {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  const explicit = opts.kubeconfigPath ?? (env.KUBECONFIG && !env.KUBECONFIG.includes(':') ? env.KUBECONFIG : undefined);
  if (explicit) {
    if (!existsSync(explicit)) {
      throw new KubeConfigError(`kubeconfig file not found: ${explicit} (from KUBECONFIG). Point KUBECONFIG at a readable kubeconfig, or unset it to use the pod's service account.`);
    }
    try {
      kc.loadFromFile(explicit);
    } catch (error) {
      throw new KubeConfigError(`cannot read the kubeconfig ${explicit}: ${firstLine(error)}. Point KUBECONFIG at a valid kubeconfig.`, { cause: error });
    }
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else {
    try {
      kc.loadFromDefault();
    } catch (error) {
      throw new KubeConfigError(`cannot read the Kubernetes configuration: ${firstLine(error)}. Set KUBECONFIG to a valid kubeconfig.`, { cause: error });
    }
  }
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeConfigError(`no context "${opts.context}" in the kubeconfig ${explicit ?? '(default)'}: it has ${known.length > 0 ? known.join(', ') : 'none'}`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new KubeConfigError(
      explicit
        ? `no current cluster in the kubeconfig ${explicit}: set its current-context to a context with a cluster`
        : 'no Kubernetes cluster configured: set KUBECONFIG to a kubeconfig, or run the bot in a pod with its service account (deploy/rbac.yaml)',
    );
  }
  return kc;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
