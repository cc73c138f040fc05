// client-node's API clients with a deadline on every request: without one, an API server that
// accepts a request and never answers holds the step that asked (and its job) forever. A request
// past the deadline is aborted and fails as a network error (status 0), which reads retry and
// containment's idempotent writes retry.
import type { ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { createConfiguration, HttpMethod, ServerConfiguration, wrapHttpLibrary, type Configuration, type HttpLibrary, type KubeConfig, type RequestContext, type SecurityAuthentication } from '@kubernetes/client-node';

/** Beyond the apiserver's own 60 s request timeout for most verbs: a healthy answer is never cut. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 65_000;

/** TLS identities (a kubeconfig's CA and client certificate) with a kept agent; a rotated one adds one. */
const MAX_AGENTS = 16;
const agents = new Map<string, KeptAliveAgent>();
/** The agent on the same TLS context that opens a connection per request, for each kept one. */
const freshAgentOf = new WeakMap<KeptAliveAgent, HttpsAgent>();

/**
 * How long a connection with no request on it is kept for the next one. Well under the idle
 * timeouts servers close connections at (Node's 5 s, announced, minus its 1 s margin; Go's, the
 * API server's, far longer), so the server does not close one just as a request goes out on it.
 */
export const IDLE_CONNECTION_MS = 2_000;

/**
 * An HTTPS agent whose connections outlive a request: a burst (fifty incidents' reads and writes)
 * goes over a few connections instead of a TLS handshake and a new connection each, which cost
 * the bot and the API server a tenth of their time under load. A connection nobody uses for
 * IDLE_CONNECTION_MS is closed; a request's own deadline is the client's signal, never a socket
 * timeout, so a reused connection's idle timer is cleared.
 */
export class KeptAliveAgent extends HttpsAgent {
  override keepSocketAlive(socket: Duplex): boolean {
    const keep = (HttpsAgent.prototype.keepSocketAlive as unknown as (this: HttpsAgent, s: Duplex) => boolean).call(this, socket);
    (socket as Socket).setTimeout(IDLE_CONNECTION_MS);
    return keep;
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    super.reuseSocket(socket, request);
    (socket as Socket).setTimeout(0);
  }
}

/**
 * Requests that may go out on a kept connection: those that can be sent again if the connection
 * turns out to be dead (the server closed it as the request went out) without doing anything
 * twice. Reads; server-side apply and JSON merge patches (RFC 7386), which give the same object
 * however often they run; and a replace that names the resourceVersion it read, which the
 * server refuses (409) once the first one landed, as callers of a conditional write expect.
 * Creates, deletes and other patches get a connection of their own, as client-node gives every request.
 */
export function repeatable(context: RequestContext): boolean {
  const method = context.getHttpMethod();
  if (method === HttpMethod.GET || method === HttpMethod.HEAD) return true;
  if (method === HttpMethod.PATCH) {
    const type = Object.entries(context.getHeaders()).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
    return type === 'application/apply-patch+yaml' || type === 'application/merge-patch+json';
  }
  return method === HttpMethod.PUT && conditional(context.getBody());
}

/** A written object that carries metadata.resourceVersion. */
function conditional(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    const version = (JSON.parse(body) as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
    return typeof version === 'string' && version !== '';
  } catch {
    return false;
  }
}

/**
 * The kubeconfig's authentication, with agents kept per TLS identity. client-node makes a new
 * agent for every request, so every request built its TLS context again (parsing the CA and the
 * client certificate) and ran a full handshake on a new connection: under fifty incidents, a
 * tenth of the event loop, and as much of the API server's. Here the TLS context is kept, with
 * two agents on it: a repeatable request goes over a kept connection (KeptAliveAgent), any other
 * over a new one that resumes the TLS session (the choice is made as the request is sent, in
 * retryingHttpLibrary). A proxy's agent is left as client-node made it.
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
        // Let go, not destroyed: requests in flight on them finish.
        if (agents.size >= MAX_AGENTS) agents.delete(agents.keys().next().value as string);
        const secureContext = createSecureContext({ ca: o.ca, cert: o.cert, key: o.key, pfx: o.pfx, passphrase: o.passphrase });
        agent = new KeptAliveAgent({ ...o, secureContext, keepAlive: true });
        freshAgentOf.set(agent, new HttpsAgent({ ...o, secureContext }));
        agents.set(identity, agent);
      }
      // The kept agent; a request that is not repeatable is moved to the fresh one when it is sent
      // (retryingHttpLibrary), once the middleware has set its content type.
      context.setAgent(agent);
    },
  };
}

/** client-node's own HTTP library (node-fetch). */
const fetchLibrary = createConfiguration().httpApi;

/** The server closed the connection before answering: on a kept connection, it had gone idle-dead. */
function connectionDropped(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown };
  return e?.name !== 'AbortError' && (e?.code === 'ECONNRESET' || e?.code === 'EPIPE');
}

/**
 * client-node's HTTP library, sending a repeatable request once more, on a new connection, when
 * its connection was dropped under it: a kept connection the server closed just as the request
 * went out (an API server restart, an idle timeout shorter than ours) fails that way.
 */
const retryingHttpLibrary: HttpLibrary = wrapHttpLibrary({
  async send(request) {
    const agent = request.getAgent();
    const fresh = agent instanceof KeptAliveAgent ? freshAgentOf.get(agent) : undefined;
    if (fresh && !repeatable(request)) request.setAgent(fresh);
    try {
      return await fetchLibrary.send(request).toPromise();
    } catch (error) {
      if (!repeatable(request) || !connectionDropped(error) || request.getSignal()?.aborted) throw error;
      // On a new connection: after a restart every kept one is dead, and the next kept one would fail too.
      if (fresh) request.setAgent(fresh);
      return fetchLibrary.send(request).toPromise();
    }
  },
});

export function makeApiClientWithTimeout<T>(kc: KubeConfig, api: new (configuration: Configuration) => T, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: tlsReusingAuthentication(kc) },
      httpApi: retryingHttpLibrary,
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
