// The simulated API server's audit webhook backend, behaving as kube-apiserver's batch mode does:
// events are buffered (at most 10000; beyond that they are dropped), sent as one
// audit.k8s.io/v1 EventList once 400 are waiting or the oldest has waited long enough, with the
// kubeconfig's bearer token. A batch is sent again (backoff ×1.5, 5 tries) only after a connection
// reset, 500, 504, 429 or a Retry-After answer; any other failure drops it, as the apiserver does.
// The waits are shorter than the apiserver's (30 s batches, 10 s first backoff) so demos see evidence at once.
import type { AuditEvent } from './audit.js';

export interface AuditWebhookTarget {
  /** e.g. http://127.0.0.1:3000/webhooks/k8s-audit */
  url: string;
  token: string;
  /** --audit-webhook-batch-max-size (default 400). */
  batchMaxSize?: number;
  /** --audit-webhook-batch-max-wait (apiserver: 30 s; here 100 ms by default). */
  batchMaxWaitMs?: number;
  /** --audit-webhook-initial-backoff (apiserver: 10 s; here 50 ms by default). */
  initialBackoffMs?: number;
}

export interface AuditWebhookStats {
  batches: number;
  events: number;
  retries: number;
  /** Events lost: a refused batch, retries exhausted, or the buffer full. */
  dropped: number;
  lastError?: string;
}

const BUFFER_SIZE = 10_000;
const STEPS = 5;

function retriable(status: number, retryAfter: string | null): boolean {
  return status === 500 || status === 504 || status === 429 || (retryAfter !== null && status >= 400);
}

export class AuditWebhookSender {
  readonly stats: AuditWebhookStats = { batches: 0, events: 0, retries: 0, dropped: 0 };
  private buffer: AuditEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly target: AuditWebhookTarget) {}

  add(event: AuditEvent): void {
    if (this.closed) return;
    if (this.buffer.length >= BUFFER_SIZE) {
      this.stats.dropped += 1;
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length >= (this.target.batchMaxSize ?? 400)) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.target.batchMaxWaitMs ?? 100);
  }

  /** Sends what is buffered; resolves once every batch so far is delivered or dropped. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const max = this.target.batchMaxSize ?? 400;
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, max);
      this.sending = this.sending.then(() => this.send(batch));
    }
    return this.sending;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private async send(batch: AuditEvent[]): Promise<void> {
    // The webhook backend encodes the list; its items carry no kind/apiVersion of their own.
    const items = batch.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest);
    const body = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });
    let delay = this.target.initialBackoffMs ?? 50;
    for (let attempt = 1; ; attempt++) {
      let again = false;
      try {
        const res = await fetch(this.target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.target.token}` },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.stats.batches += 1;
          this.stats.events += batch.length;
          return;
        }
        this.stats.lastError = `HTTP ${res.status}`;
        again = retriable(res.status, res.headers.get('retry-after'));
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code;
        this.stats.lastError = code ?? (error as Error).message;
        // A reset, or the peer closing a kept-alive connection under us: the apiserver's client sends again too.
        again = code === 'ECONNRESET' || code === 'UND_ERR_SOCKET';
      }
      if (!again || attempt >= STEPS) {
        this.stats.dropped += batch.length;
        return;
      }
      this.stats.retries += 1;
      await new Promise((r) => setTimeout(r, delay * (1 + Math.random() * 0.2)));
      delay *= 1.5;
    }
  }
}
