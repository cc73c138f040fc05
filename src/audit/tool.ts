// Which tool made an API request, from its User-Agent (and the fieldManager it named). The formats
// are the ones the tools really send:
//   kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b            kubectl (client-go's default, binary name first)
//   Helm/3.14.0 · helm/v0.0.0 (linux/amd64) kubernetes/$Format   Helm 3 (newer releases set their own)
//   argocd-application-controller/v2.10.0+… · argocd-server/…     Argo CD
//   kustomize-controller/v1.2.2 · helm-controller/v0.37.4          Flux
//   HashiCorp/1.0 Terraform/1.5.7                                  the Terraform kubernetes provider
//   anything/v… (os/arch) kubernetes/<commit>                      another client-go program (controllers)
import type { AuditTool } from './types.js';

const BY_PREFIX: ReadonlyArray<[RegExp, AuditTool]> = [
  [/^kubectl(?:\.exe)?\//i, 'kubectl'],
  [/^helm\//i, 'helm'],
  [/^argocd(?:-[a-z-]+)?\//i, 'argocd'],
  [/^kustomize-controller\//i, 'kustomize-controller'],
  [/^helm-controller\//i, 'helm-controller'],
  [/^netpol-responder\//i, 'netpol-responder'],
];

/** client-go's DefaultKubernetesUserAgent: `<binary>/<version> (<os>/<arch>) kubernetes/<commit>`. */
const CLIENT_GO = /^[^\s/]+\/\S+ \([^)]*\/[^)]*\) kubernetes\/\S+/;

const TERRAFORM = /(?:^|\s)Terraform\/\S+/i;

/**
 * The tool behind a request. `botFieldManager` is the bot's own field manager (kube.fieldManager):
 * a write that names it is the bot's even when its client sends a generic User-Agent.
 */
export function classifyTool(userAgent: string, fieldManager?: string, botFieldManager = 'netpol-responder'): AuditTool {
  if (fieldManager !== undefined && fieldManager === botFieldManager) return 'netpol-responder';
  for (const [pattern, tool] of BY_PREFIX) if (pattern.test(userAgent)) return tool;
  if (TERRAFORM.test(userAgent)) return 'terraform';
  if (CLIENT_GO.test(userAgent)) return 'client-go';
  return 'other';
}
