// New egress to an external IP (and its CIDR) or a DNS name the workload never talked to.
import type { Baseline, Observation } from '../baseline.js';
import { peerKind, peerLabel } from '../peers.js';
import type { Anomaly } from '../types.js';
import type { DetectorConfig } from './config.js';
import { anomaly, hours } from './common.js';

export function detectNewExternalEgress(obs: Observation, baseline: Baseline, config: DetectorConfig): Anomaly | null {
  const side = obs.source;
  if (!config.newExternalEgress.enabled || !side || side.learning || side.edges.length === 0) return null;
  // Fast exit for the usual flow: with no new edge, either nothing is external or a known name covers it.
  if (!side.edges.some((e) => e.isNew)) return null;
  // An IP edge is external only when the baseline also filed it under a CIDR (see Baseline.side).
  const hasCidr = side.edges.some((e) => peerKind(e.peer) === 'cidr');
  const external = side.edges.filter((e) => {
    const kind = peerKind(e.peer);
    return kind === 'cidr' || kind === 'dns' || (kind === 'ip' && hasCidr);
  });
  if (external.length === 0) return null;
  // Known if any of its names (IP, CIDR, DNS name) was seen before: a rotating cloud IP behind a known name is fine.
  if (external.some((e) => !e.isNew)) return null;
  const primary = external.find((e) => peerKind(e.peer) === 'ip') ?? external[0];
  if (!primary) return null;
  const w = side.workload;
  const known = baseline.edgesOf(w, obs.time).filter((e) => e.direction === 'egress' && ['ip', 'cidr', 'dns'].includes(peerKind(e.peer)) && !external.some((x) => x.peer === e.peer)).length;
  const cidr = external.find((e) => peerKind(e.peer) === 'cidr');
  const target = peerLabel(primary.peer);
  const isIp = peerKind(primary.peer) === 'ip';
  const portText = primary.port ? `:${primary.port}` : '';
  return anomaly(
    'new-external-egress',
    isIp ? 'high' : 'medium',
    `${w.key} sent traffic to ${isIp ? 'external IP' : 'DNS name'} ${target}${portText} (${primary.protocol}) it has never contacted`,
    w,
    {
      metric: 'flows to this external peer during the baseline',
      expected: 0,
      observed: 1,
      unit: 'flows',
      description: `${w.key} was watched for ${hours(obs.time - w.firstSeen)} and never reached ${target}${cidr ? ` nor ${peerLabel(cidr.peer)}` : ''}; it has ${known} other known external peer${known === 1 ? '' : 's'}`,
    },
    `new-external-egress:${w.key}:${primary.peer}`,
    obs.flow,
    { peer: target, port: String(primary.port), protocol: primary.protocol, ...(cidr ? { cidr: peerLabel(cidr.peer) } : {}), verdict: obs.flow.verdict },
  );
}
