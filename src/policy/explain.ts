// Human-readable explanation of a decision, used by `analyze --explain` and the Slack bot.
import type { Decision } from './evaluate.js';

export function explainDecision(d: Decision): string {
  const verdict = d.allowed ? 'ALLOWED' : 'DENIED';
  const header = `${d.src} => ${d.dst} : ${d.protocol} ${d.port} ${verdict}`;
  const blocking: string[] = [];
  if (!d.egress.allowed) blocking.push('the source egress');
  if (!d.ingress.allowed) blocking.push('the destination ingress');
  const because = d.allowed ? 'both egress of the source and ingress of the destination allow it' : `denied by ${blocking.join(' and ')}`;
  return [header, `  ${because}`, ...d.reasons.map((r) => `  - ${r}`)].join('\n') + '\n';
}
