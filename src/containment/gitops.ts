// Which GitOps tool manages an object, read from its labels, annotations and managedFields
// managers (pure). A patch on such an object may be reverted by the tool's reconciliation, so the
// proposal says so and the strategy suspends what it can.

export type GitOpsTool = 'flux' | 'argocd' | 'helm';

export interface GitOpsOwner {
  tool: GitOpsTool;
  /** What manages it, e.g. `Kustomization flux-system/apps`, `Application argocd/shop`. */
  owner: string;
  /** The Argo CD Application, when known (for skip-reconcile). */
  application?: { name: string; namespace?: string };
  /** How it was recognised, e.g. `label kustomize.toolkit.fluxcd.io/name`. */
  evidence: string;
}

export const FLUX_RECONCILE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/reconcile';
export const FLUX_RECONCILE_DISABLED = 'disabled';
export const ARGOCD_SKIP_RECONCILE_ANNOTATION = 'argocd.argoproj.io/skip-reconcile';

interface ObjectLike {
  metadata?: {
    labels?: Record<string, string> | null;
    annotations?: Record<string, string> | null;
    managedFields?: Array<{ manager?: string }> | null;
  } | null;
}

const FLUX_MANAGERS = new Set(['kustomize-controller', 'helm-controller']);
const ARGO_MANAGERS = new Set(['argocd-controller', 'argocd-application-controller']);

function managers(obj: ObjectLike): string[] {
  return (obj.metadata?.managedFields ?? []).map((m) => m.manager ?? '').filter(Boolean);
}

/** Argo CD's annotation tracking id: `<app>:<group>/<kind>:<namespace>/<name>`; the app may be `ns_app`. */
function argoApplicationFromTrackingId(id: string): { name: string; namespace?: string } | undefined {
  const app = id.split(':')[0];
  if (!app) return undefined;
  const underscore = app.indexOf('_');
  return underscore > 0 ? { namespace: app.slice(0, underscore), name: app.slice(underscore + 1) } : { name: app };
}

/** Every GitOps tool that claims the object (usually one; Flux's helm-controller also leaves Helm's marks). */
export function gitOpsOwners(obj: ObjectLike): GitOpsOwner[] {
  const labels = obj.metadata?.labels ?? {};
  const annotations = obj.metadata?.annotations ?? {};
  const owners: GitOpsOwner[] = [];
  const fluxKs = labels['kustomize.toolkit.fluxcd.io/name'];
  const fluxHelm = labels['helm.toolkit.fluxcd.io/name'];
  const fluxManager = managers(obj).find((m) => FLUX_MANAGERS.has(m));
  if (fluxKs) {
    owners.push({ tool: 'flux', owner: `Kustomization ${labels['kustomize.toolkit.fluxcd.io/namespace'] ?? '?'}/${fluxKs}`, evidence: 'label kustomize.toolkit.fluxcd.io/name' });
  } else if (fluxHelm) {
    owners.push({ tool: 'flux', owner: `HelmRelease ${labels['helm.toolkit.fluxcd.io/namespace'] ?? '?'}/${fluxHelm}`, evidence: 'label helm.toolkit.fluxcd.io/name' });
  } else if (fluxManager) {
    owners.push({ tool: 'flux', owner: `Flux ${fluxManager}`, evidence: `managedFields manager ${fluxManager}` });
  }
  const trackingId = annotations['argocd.argoproj.io/tracking-id'];
  const argoInstance = labels['app.kubernetes.io/instance'];
  const argoManager = managers(obj).find((m) => ARGO_MANAGERS.has(m));
  const trackedApp = trackingId ? argoApplicationFromTrackingId(trackingId) : undefined;
  if (trackedApp) {
    owners.push({ tool: 'argocd', owner: `Application ${trackedApp.namespace ? `${trackedApp.namespace}/` : ''}${trackedApp.name}`, application: trackedApp, evidence: 'annotation argocd.argoproj.io/tracking-id' });
  } else if (argoManager) {
    // Argo CD's label tracking reuses app.kubernetes.io/instance; trust it only next to Argo's own manager.
    const application = argoInstance ? { name: argoInstance } : undefined;
    owners.push({ tool: 'argocd', owner: application ? `Application ${application.name}` : `Argo CD ${argoManager}`, ...(application ? { application } : {}), evidence: `managedFields manager ${argoManager}` });
  }
  const helmRelease = annotations['meta.helm.sh/release-name'];
  if (labels['app.kubernetes.io/managed-by'] === 'Helm' || helmRelease || managers(obj).includes('helm')) {
    const release = helmRelease ? `${annotations['meta.helm.sh/release-namespace'] ?? '?'}/${helmRelease}` : undefined;
    owners.push({ tool: 'helm', owner: release ? `Helm release ${release}` : 'Helm', evidence: helmRelease ? 'annotation meta.helm.sh/release-name' : 'label app.kubernetes.io/managed-by=Helm' });
  }
  return owners;
}

/** One line for the proposal: what will happen to a patch on this object. */
export function gitOpsWarning(owner: GitOpsOwner, argoSkipReconcile: boolean): string {
  switch (owner.tool) {
    case 'flux':
      return `managed by ${owner.owner}: the patch sets ${FLUX_RECONCILE_ANNOTATION}: ${FLUX_RECONCILE_DISABLED} so Flux leaves it alone while contained (removed on lift)`;
    case 'argocd':
      return argoSkipReconcile && owner.application
        ? `managed by Argo CD ${owner.owner}: the bot sets ${ARGOCD_SKIP_RECONCILE_ANNOTATION}: "true" on the Application while contained`
        : `managed by Argo CD ${owner.owner}: self-heal will revert the patch; the bot re-applies it when that happens`;
    case 'helm':
      return `managed by ${owner.owner}: the next helm upgrade reverts the patch; the bot re-applies it when that happens`;
  }
}
