// client-node's API clients with a deadline on every request: without one, an API server that
// accepts a request and never answers holds the step that asked (and its job) forever. A request
// past the deadline is aborted and fails as a network error (status 0), which reads retry and
// containment's idempotent writes retry.
import { createConfiguration, ServerConfiguration, type Configuration, type KubeConfig } from '@kubernetes/client-node';

/** Beyond the apiserver's own 60 s request timeout for most verbs: a healthy answer is never cut. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 65_000;

export function makeApiClientWithTimeout<T>(kc: KubeConfig, api: new (configuration: Configuration) => T, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [
        {
          pre: async (context) => {
            context.setSignal(AbortSignal.timeout(timeoutMs));
            return context;
          },
          post: async (context) => context,
        },
      ],
    }),
  );
}
