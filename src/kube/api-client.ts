// client-node's API clients with a deadline on every request: without one, an API server that
// accepts a request and never answers holds the step that asked (and its job) forever. A request
// past the deadline is aborted and fails as a network error (status 0), which reads retry and
// containment's idempotent writes retry.
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { createConfiguration, ServerConfiguration, type Configuration, type KubeConfig, type RequestContext, type SecurityAuthentication } from '@kubernetes/client-node';

/** Beyond the apiserver's own 60 s request timeout for most verbs: a healthy answer is never cut. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 65_000;

/** TLS identities (a kubeconfig's CA and client certificate) with a kept agent; a rotated one adds one. */
const MAX_AGENTS = 16;
const agents = new Map<string, HttpsAgent>();

/**
 * The kubeconfig's authentication, with one agent per TLS identity. client-node makes a new agent
 * for every request, so every request built its TLS context again (parsing the CA and the client
 * certificate) and ran a full handshake: under fifty incidents, a tenth of the event loop, and as
 * much of the API server's. Here the agent and its context are kept: each request still opens its
 * own connection (a kept-alive one the server dropped would fail the request on it), and resumes
 * the TLS session. A proxy's agent is left as client-node made it.
 */
export function tlsReusingAuthentication(kc: KubeConfig): SecurityAuthentication {
  return {
    getName: () => kc.getName(),
    async applySecurityAuthentication(context: RequestContext) {
      await kc.applySecurityAuthentication(context);
      const made = context.getAgent();
      if (!(made instanceof HttpsAgent) || made.constructor !== HttpsAgent) return;
      const o = made.options;
      const identity = JSON.stringify([o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map((v) => (v === undefined ? null : String(v))));
      let agent = agents.get(identity);
      if (!agent) {
        // Let go, not destroyed: requests in flight on it finish.
        if (agents.size >= MAX_AGENTS) agents.delete(agents.keys().next().value as string);
        const secureContext = createSecureContext({ ca: o.ca, cert: o.cert, key: o.key, pfx: o.pfx, passphrase: o.passphrase });
        agent = new HttpsAgent({ ...o, secureContext });
        agents.set(identity, agent);
      }
      context.setAgent(agent);
    },
  };
}

export function makeApiClientWithTimeout<T>(kc: KubeConfig, api: new (configuration: Configuration) => T, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: tlsReusingAuthentication(kc) },
      promiseMiddleware: [
        {
          pre: async (context) => {
            // A deadline the authentication already set (the CLI's --request-timeout) is kept: the sooner one wins.
            const deadline = AbortSignal.timeout(timeoutMs);
            const given = context.getSignal();
            context.setSignal(given ? AbortSignal.any([given, deadline]) : deadline);
            return context;
          },
          post: async (context) => context,
        },
      ],
    }),
  );
}
