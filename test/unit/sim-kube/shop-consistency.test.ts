// The shop's pods (Kubernetes side) and the shop's flows (Hubble side) must describe one cluster:
// every pod a flow names exists, in the same namespace, with the same IP, node and label.
import { describe, expect, it } from 'vitest';
import { SHOP_PODS as FLOW_PODS } from '../../../src/sim/hubble/shop-traffic.js';
import { shopObjects } from '../../../src/sim/scenarios/shop.js';

interface PodObject {
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { nodeName: string };
  status: { podIP: string };
}

describe('shop scenario vs shop traffic', () => {
  const pods = (shopObjects() as PodObject[]).filter((o) => o.kind === 'Pod');

  it.each(Object.entries(FLOW_PODS))('%s in the flows is a pod of the scenario', (_key, flowPod) => {
    const pod = pods.find((p) => p.metadata.name === flowPod.name);
    expect(pod, `pod ${flowPod.name}`).toBeDefined();
    expect(pod?.metadata.namespace).toBe(flowPod.namespace);
    expect(pod?.status.podIP).toBe(flowPod.ip);
    expect(pod?.spec.nodeName).toBe(flowPod.node);
    expect(pod?.metadata.labels[flowPod.labelKey]).toBe(flowPod.app);
  });

  it('gives every pod a distinct IP', () => {
    const ips = pods.map((p) => p.status.podIP);
    expect(new Set(ips).size).toBe(ips.length);
  });
});
