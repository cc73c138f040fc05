// A person or a controller acting on the simulated cluster with their own identity and tool: the
// request carries their bearer token and the User-Agent their tool sends, so the audit log (and the
// bot's trace) sees who did what with which tool, as on a real cluster.
import { request } from 'node:https';
import type { KubeApiSim } from './index.js';

/** User agents as the real tools send them. */
export const USER_AGENTS = {
  kubectl: 'kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b',
  argocd: 'argocd-application-controller/v2.11.3+unknown (linux/amd64) kubernetes/$Format',
  kustomizeController: 'kustomize-controller/v1.3.0',
} as const;

export interface ActorRequest {
  user: string;
  userAgent: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  contentType?: string;
}

/** Sends one request as `user` with `userAgent`; resolves with the status and the parsed body. */
export function actAs(sim: KubeApiSim, req: ActorRequest): Promise<{ status: number; body: unknown }> {
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  return new Promise((resolve, reject) => {
    const call = request(
      new URL(req.path, sim.url),
      {
        method: req.method,
        ca: sim.caPem,
        headers: {
          Authorization: `Bearer ${sim.tokenFor(req.user)}`,
          'User-Agent': req.userAgent,
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': req.contentType ?? 'application/json', 'Content-Length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    call.on('error', reject);
    if (payload) call.write(payload);
    call.end();
  });
}

/** `kubectl apply -f` of a NetworkPolicy that does not exist yet, as `user` (client-side apply creates it). */
export async function kubectlCreateNetworkPolicy(sim: KubeApiSim, user: string, policy: { metadata: { namespace: string } }): Promise<void> {
  const out = await actAs(sim, {
    user,
    userAgent: USER_AGENTS.kubectl,
    method: 'POST',
    path: `/apis/networking.k8s.io/v1/namespaces/${policy.metadata.namespace}/networkpolicies?fieldManager=kubectl-client-side-apply&fieldValidation=Strict`,
    body: policy,
  });
  if (out.status >= 300) throw new Error(`kubectl apply as ${user} failed: ${out.status} ${JSON.stringify(out.body).slice(0, 300)}`);
}

/** `kubectl patch networkpolicy <name> --type merge -p <patch>` as `user` (e.g. an out-of-band edit). */
export async function kubectlPatchNetworkPolicy(sim: KubeApiSim, user: string, ref: { namespace: string; name: string }, patch: Record<string, unknown>): Promise<void> {
  const out = await actAs(sim, {
    user,
    userAgent: USER_AGENTS.kubectl,
    method: 'PATCH',
    path: `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(ref.namespace)}/networkpolicies/${encodeURIComponent(ref.name)}?fieldManager=kubectl-patch`,
    body: patch,
    contentType: 'application/merge-patch+json',
  });
  if (out.status >= 300) throw new Error(`kubectl patch as ${user} failed: ${out.status} ${JSON.stringify(out.body).slice(0, 300)}`);
}
