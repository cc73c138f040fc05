// A workload → workload:port edge never seen before.
import type { Observation } from '../baseline.js';
import { peerLabel } from '../peers.js';
import type { Anomaly } from '../types.js';
import type { DetectorConfig } from './config.js';
import { anomaly, hours } from './common.js';

export function detectNewEastWestEdge(obs: Observation, config: DetectorConfig): Anomaly | null {
  const side = obs.source;
  if (!config.newEastWestEdge.enabled || !side || side.learning) return null;
  const edge = side.edges[0];
  if (!edge || !edge.isNew || !edge.peer.startsWith('w:')) return null;
  const w = side.workload;
  const target = peerLabel(edge.peer);
  return anomaly(
    'new-east-west-edge',
    'medium',
    `New east-west connection ${w.key} → ${target}:${edge.port}/${edge.protocol}`,
    w,
    {
      metric: 'flows on this edge during the baseline',
      expected: 0,
      observed: 1,
      unit: 'flows',
      description: `${w.key} was watched for ${hours(obs.time - w.firstSeen)} and never connected to ${target} on ${edge.protocol}/${edge.port}`,
    },
    `new-east-west-edge:${w.key}:${edge.peer}:${edge.protocol}/${edge.port}`,
    obs.flow,
    { peer: target, port: String(edge.port), protocol: edge.protocol },
  );
}
