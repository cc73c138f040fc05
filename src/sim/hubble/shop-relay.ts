// The embedded environment's Hubble Relay: the stand-in on 127.0.0.1 preloaded with the shop's
// normal traffic (the relay's history), and the incident published when the demo says so.
import { FakeHubbleRelay } from './relay-server.js';
import { containedTraffic, shopTimeline, shopTraffic, type ContainedTrafficOptions, type HubbleRecord, type ShopTrafficOptions } from './shop-traffic.js';

/** The embedded environment's collector clock stands this long after the incident's start. */
export const SHOP_FLOW_CLOCK_OFFSET_MS = 3_600_000;

export interface ShopRelay {
  relay: FakeHubbleRelay;
  /** host:port for HubbleRelayClient / FlowCollector. */
  address: string;
  /** Epoch ms (flow time) where the incident starts. */
  incidentStart: number;
  /** Flows of the normal phase, in the relay's buffer from the start. */
  historyFlows: number;
  /** The collector's flow clock in the embedded environment (incidentStart + 1 h, standing still). */
  flowNow: number;
  /** Publishes the incident phase (policy drops, then exfiltration), once. Returns the flows published. */
  triggerIncident(): number;
  /**
   * Publishes flows of the contained postgres-0 (see containedTraffic), stamped from `start`
   * (default flowNow + 1 s: inside a traffic watch registered just before). Returns the flows published.
   */
  emitAfterContainment(options?: Partial<ContainedTrafficOptions>): number;
  stop(): Promise<void>;
}

/**
 * Flow times are the scenario's own (DEFAULT_SHOP_TRAFFIC.start unless given): a collector in front
 * of it should use `now: () => timeline.end` (or a clock at least that late) so none counts as skewed.
 */
export async function startShopRelay(options: Partial<ShopTrafficOptions> = {}, port = 0): Promise<ShopRelay> {
  const timeline = shopTimeline(options);
  const normal: HubbleRecord[] = [];
  const incident: HubbleRecord[] = [];
  for (const record of shopTraffic(options)) (Date.parse(record.time) < timeline.incidentStart ? normal : incident).push(record);
  const relay = new FakeHubbleRelay({ capacity: normal.length + incident.length + 1 });
  await relay.start(port);
  relay.publish(normal);
  let triggered = false;
  return {
    relay,
    address: relay.address,
    incidentStart: timeline.incidentStart,
    historyFlows: normal.length,
    flowNow: timeline.incidentStart + SHOP_FLOW_CLOCK_OFFSET_MS,
    triggerIncident: () => {
      if (triggered) return 0;
      triggered = true;
      relay.publish(incident);
      return incident.length;
    },
    emitAfterContainment: (contained = {}) => {
      const records = containedTraffic({ start: timeline.incidentStart + SHOP_FLOW_CLOCK_OFFSET_MS + 1000, ...contained });
      relay.publish(records);
      return records.length;
    },
    stop: () => relay.stop(),
  };
}
