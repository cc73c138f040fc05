// Where the bot's cluster credentials come from: an explicit kubeconfig, $KUBECONFIG, the
// in-cluster service account, or the usual default (~/.kube/config).

import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface LoadKubeConfigOptions {
  kubeconfigPath?: string;
  /** Environment to read KUBECONFIG / KUBERNETES_SERVICE_HOST from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): KubeConfig {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  const explicit = opts.kubeconfigPath ?? (env.KUBECONFIG && !env.KUBECONFIG.includes(':') ? env.KUBECONFIG : undefined);
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`kubeconfig file not found: ${explicit}`);
    kc.loadFromFile(explicit);
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(`no current cluster in the Kubernetes configuration${explicit ? ` (${explicit})` : ''}: check current-context`);
  }
  return kc;
}
