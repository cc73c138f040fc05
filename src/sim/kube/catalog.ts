// What one simulated cluster serves: the built-in kinds always, a custom resource only while the
// scenario has its CRD installed. A kind that is not served is absent from discovery and answers
// 404 on its paths, exactly as on a cluster without the CRD. Discovery documents come from here.

import { ALL_TYPES, ALL_VERBS, REVIEWS, type ClusterFeature, type ResourceType, type ReviewType } from './resources.js';

export interface ClusterOptions {
  /** 'cilium' serves CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2). Default 'generic'. */
  cni?: 'cilium' | 'generic';
  /** Serve AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1). */
  adminNetworkPolicy?: boolean;
  /** Serve Argo CD's Application (argoproj.io/v1alpha1). */
  argocd?: boolean;
}

const CNI_VALUES = ['cilium', 'generic'];

/** Refuses a misspelt option rather than silently serving a cluster without the CRD. */
export function checkClusterOptions(opts: unknown): ClusterOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new Error('cluster options must be an object');
  const o = opts as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['cni', 'adminNetworkPolicy', 'argocd'].includes(key)) throw new Error(`unknown cluster option "${key}" (known: cni, adminNetworkPolicy, argocd)`);
  }
  if (o.cni !== undefined && !CNI_VALUES.includes(o.cni as string)) throw new Error(`cluster option cni must be "cilium" or "generic", got ${JSON.stringify(o.cni)}`);
  for (const key of ['adminNetworkPolicy', 'argocd']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw new Error(`cluster option ${key} must be true or false`);
  }
  return { ...o } as ClusterOptions;
}

function featureOn(opts: ClusterOptions, feature: ClusterFeature): boolean {
  switch (feature) {
    case 'cilium':
      return opts.cni === 'cilium';
    case 'adminNetworkPolicy':
      return opts.adminNetworkPolicy === true;
    case 'argocd':
      return opts.argocd === true;
  }
}

function apiResource(rt: ResourceType): object {
  const categories = rt.crd?.categories ?? (rt.resource === 'pods' ? ['all'] : undefined);
  return {
    name: rt.resource,
    singularName: rt.singular,
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: [...ALL_VERBS],
    shortNames: rt.shortNames,
    // `kubectl get all` expands the "all" category; real clusters put pods in it.
    ...(categories ? { categories } : {}),
    storageVersionHash: Buffer.from(`${rt.group}/${rt.resource}`).toString('base64').slice(0, 11),
  };
}

function reviewResource(r: ReviewType): object {
  return { name: r.resource, singularName: r.kind.toLowerCase(), namespaced: false, kind: r.kind, verbs: ['create'] };
}

export function coreVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export class Catalog {
  private opts: ClusterOptions;

  constructor(opts: ClusterOptions = {}) {
    this.opts = checkClusterOptions(opts);
  }

  /** Installs or removes CRDs while the server runs (open watches on a removed kind keep their stream). */
  configure(opts: ClusterOptions): void {
    this.opts = checkClusterOptions(opts);
  }

  options(): ClusterOptions {
    return { ...this.opts };
  }

  served(rt: ResourceType): boolean {
    return rt.crd === undefined || featureOn(this.opts, rt.crd.feature);
  }

  types(): ResourceType[] {
    return ALL_TYPES.filter((rt) => this.served(rt));
  }

  byName(resource: string, group: string, version: string): ResourceType | undefined {
    return this.types().find((r) => r.resource === resource && r.group === group && r.version === version);
  }

  resourceList(group: string, version: string): object | undefined {
    const inGroup = this.types().filter((r) => r.group === group && r.version === version);
    const reviews = REVIEWS.filter((r) => r.group === group && r.version === version);
    if (inGroup.length === 0 && reviews.length === 0) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources: [...inGroup.map(apiResource), ...reviews.map(reviewResource)],
    };
  }

  /** Named groups (built-in first, then custom resources), each with its one version. */
  private groups(): Array<{ name: string; version: string }> {
    const out = new Map<string, string>();
    // Built-in groups first, custom resources' groups after them, as the apiserver lists them.
    const ordered = [...this.types().filter((r) => !r.crd), ...REVIEWS, ...this.types().filter((r) => r.crd)];
    for (const r of ordered) if (r.group !== '' && !out.has(r.group)) out.set(r.group, r.version);
    return [...out.entries()].map(([name, version]) => ({ name, version }));
  }

  private apiGroup(g: { name: string; version: string }): object {
    const gv = { groupVersion: `${g.name}/${g.version}`, version: g.version };
    return { name: g.name, versions: [gv], preferredVersion: gv };
  }

  groupList(): object {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: this.groups().map((g) => this.apiGroup(g)) };
  }

  groupDocument(group: string): object | undefined {
    const g = this.groups().find((x) => x.name === group);
    return g ? { kind: 'APIGroup', apiVersion: 'v1', ...this.apiGroup(g) } : undefined;
  }
}
