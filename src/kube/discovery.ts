// Which of the kinds the bot knows the cluster serves, from the API's discovery documents, with a
// reason a person can read ("policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy is served").
// The containment code picks its "auto" strategy from this.

import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1APIResourceList } from '@kubernetes/client-node';
import { DEFAULT_REQUEST_TIMEOUT_MS, makeApiClientWithTimeout } from './api-client.js';
import { explainKubeError, toKubeApiError } from './errors.js';
import { KINDS, crdName, kindLabel, type KindInfo, type KindName } from './kinds.js';

export interface KindAvailability {
  kind: KindName;
  served: boolean;
  reason: string;
}

export type Discovery = Record<KindName, KindAvailability>;

/** The answer for one kind, given its group/version's resource list (undefined: not served). */
export function availability(info: KindInfo, list: Pick<V1APIResourceList, 'resources'> | undefined): KindAvailability {
  const label = kindLabel(info);
  const gv = info.group ? `${info.group}/${info.version}` : info.version;
  const crd = info.custom ? ` (CRD ${crdName(info)} is not installed)` : '';
  if (!list) return { kind: info.kind, served: false, reason: `${label} is not served: the cluster has no API ${gv}${crd}` };
  const found = (list.resources ?? []).find((r) => r.name === info.plural);
  if (!found) return { kind: info.kind, served: false, reason: `${label} is not served: ${gv} has no resource ${info.plural}${crd}` };
  if (found.kind !== info.kind) return { kind: info.kind, served: false, reason: `${label} is not served: ${gv} serves ${info.plural} as kind ${found.kind}` };
  return { kind: info.kind, served: true, reason: `${label} is served` };
}

/**
 * Asks discovery once per group/version. A group the cluster does not have answers 404, which
 * means "not served"; any other failure (403, network, no answer within `timeoutMs`) is thrown,
 * since the answer is unknown. Through the bot's own client, like every other call: a request
 * timeout, and the TLS agent kept for this identity (a containment asks twice).
 */
export async function discoverKinds(kc: KubeConfig, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<Discovery> {
  const custom = makeApiClientWithTimeout(kc, CustomObjectsApi, timeoutMs);
  const core = makeApiClientWithTimeout(kc, CoreV1Api, timeoutMs);
  const lists = new Map<string, Promise<V1APIResourceList | undefined>>();
  const fetchList = (info: KindInfo): Promise<V1APIResourceList | undefined> => {
    const key = `${info.group}/${info.version}`;
    let pending = lists.get(key);
    if (!pending) {
      pending = (async () => {
        try {
          return info.group ? await custom.getAPIResources({ group: info.group, version: info.version }) : await core.getAPIResources();
        } catch (error) {
          const e = toKubeApiError(error, `discover ${key}`);
          if (e.status === 404) return undefined;
          throw explainKubeError(e, { verb: 'get', group: info.group, version: info.version, kind: info.kind, resource: info.plural, custom: info.custom });
        }
      })();
      lists.set(key, pending);
    }
    return pending;
  };
  const entries = await Promise.all(Object.values(KINDS).map(async (info) => [info.kind, availability(info, await fetchList(info))] as const));
  return Object.fromEntries(entries) as Discovery;
}

