// The Kubernetes API's start-up check: read the bot's own namespace, which proves at once that the
// server answers, that it accepts the credentials and that RBAC lets the bot read namespaces.
// Refused credentials or permissions are fatal, with the fix; an unreachable or failing server
// (network, 5xx, 429, no answer in time) is worth retrying.
import { KubeApiError } from '../kube/errors.js';
import type { ClusterAccess } from '../playbook/steps/types.js';
import type { Verdict } from './backoff.js';
import { StartupError } from './startup-error.js';

export async function kubeApiCheck(cluster: Pick<ClusterAccess, 'namespaceExists'>, namespace: string, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeApiError({ status: 0, reason: 'Timeout', message: `no answer within ${timeoutMs} ms` })), timeoutMs);
  });
  const call = cluster.namespaceExists(namespace);
  call.catch(() => undefined);
  try {
    await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function judgeKubeError(error: unknown, server = 'the Kubernetes API server'): Verdict {
  if (!(error instanceof KubeApiError)) {
    return { retry: false, error: new StartupError(`cannot use the Kubernetes API at ${server}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }) };
  }
  if (error.status === 401) {
    return {
      retry: false,
      error: new StartupError(
        `the Kubernetes API at ${server} refused the bot's credentials (401 Unauthorized): check the token or client certificate in the kubeconfig (KUBECONFIG), or the pod's service account`,
        { cause: error },
      ),
    };
  }
  if (error.status === 403) {
    return {
      retry: false,
      error: new StartupError(`the Kubernetes API at ${server} does not let the bot read namespaces (403 Forbidden): apply deploy/rbac.yaml and run the bot as its service account`, {
        cause: error,
      }),
    };
  }
  if (error.retryable) return { retry: true, reason: `Kubernetes API at ${server}: ${error.status === 0 ? error.reason : `HTTP ${error.status} ${error.reason}`}: ${error.message}` };
  return { retry: false, error: new StartupError(`the Kubernetes API at ${server} answered HTTP ${error.status} ${error.reason}: ${error.message}`, { cause: error }) };
}
