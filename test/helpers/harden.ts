// The shop as the baseline generator sees it: its live objects and the edges its normal traffic
// teaches the flow collector (shared by the hardening tests).
import { SHOP_PORTS, shopObjects } from '../../src/sim/scenarios/shop.js';

type Obj = Record<string, unknown>;

/** LiveObjects from a list of objects with their kinds. */
export function liveOf(objects: readonly unknown[]) {
  const kind = (k: string) => (objects as Obj[]).filter((o) => o.kind === k);
  return { namespaces: kind('Namespace'), pods: kind('Pod'), networkPolicies: kind('NetworkPolicy') };
}

export const shopLive = liveOf(shopObjects());
export const DNS = (src: string) => ({ src, dst: 'kube-system/kube-dns', port: 53, protocol: 'UDP' });
export const SHOP_EDGES = [
  { src: 'frontend/web', dst: 'api/orders', port: SHOP_PORTS.orders, protocol: 'TCP' },
  { src: 'api/orders', dst: 'api/payments', port: SHOP_PORTS.payments, protocol: 'TCP' },
  { src: 'api/orders', dst: 'db/postgres', port: SHOP_PORTS.postgres, protocol: 'TCP' },
  { src: 'api/orders', dst: 'db/redis-cache', port: SHOP_PORTS.redis, protocol: 'TCP' },
  ...['frontend/web', 'api/orders', 'api/payments', 'db/postgres', 'db/redis-cache'].map(DNS),
];
