// Slack requests sent and timed from a thread of their own. The benchmark's main thread also runs
// the simulated API server and the Slack stand-in, which are busy under load: an acknowledgement
// timed there would include the time that thread took to notice the answer, and a click sent from
// there the time it took to send it, neither of which is the bot's.
import { Worker } from 'node:worker_threads';

export interface Ack {
  status: number;
  body: string;
  ackMs: number;
  /** Epoch ms when the request left for the bot (the start of a click → contained). */
  sentAt: number;
}

const ACK_THREAD = `
  const { register } = await import('tsx/esm/api');
  register();
  const { slackRequestHeaders } = await import(${JSON.stringify(new URL('../../src/sim/slack/driver.ts', import.meta.url).href)});
  const { parentPort, workerData } = await import('node:worker_threads');
  const { performance } = await import('node:perf_hooks');
  const { appUrl, signingSecret } = workerData;
  parentPort.on('message', async ({ id, body }) => {
    try {
      const headers = slackRequestHeaders(signingSecret, Math.floor(Date.now() / 1000), body);
      const sentAt = Date.now();
      const started = performance.now();
      const response = await fetch(appUrl, { method: 'POST', headers, body });
      const text = await response.text();
      parentPort.postMessage({ id, ack: { status: response.status, body: text, ackMs: performance.now() - started, sentAt } });
    } catch (error) {
      parentPort.postMessage({ id, error: String(error?.cause ?? error) });
    }
  });
  parentPort.postMessage({ ready: true });
`;

export interface AckThread {
  /** Signs and posts a form body to the bot's Slack endpoint; resolves with the answer and its time. */
  send(body: string): Promise<Ack>;
  stop(): Promise<void>;
}

export async function startAckThread(appUrl: string, signingSecret: string): Promise<AckThread> {
  const worker = new Worker(ACK_THREAD, { eval: true, workerData: { appUrl, signingSecret } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  const waiting = new Map<number, { resolve: (ack: Ack) => void; reject: (error: Error) => void }>();
  let next = 0;
  worker.on('message', (m: { id: number; ack?: Ack; error?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ack) w.resolve(m.ack);
    else w.reject(new Error(m.error ?? 'no answer'));
  });
  return {
    send: (body) =>
      new Promise<Ack>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, body });
      }),
    stop: async () => {
      await worker.terminate();
    },
  };
}
