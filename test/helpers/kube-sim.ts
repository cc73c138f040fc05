// Raw HTTPS requests to the simulated Kubernetes API server, for tests that must send what no
// client library would (malformed bodies, wrong content types, huge payloads).

import { request } from 'node:https';
import type { KubeApiSim } from '../../src/sim/kube/index.js';

export interface SimResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary response shapes
}

export function simRequest(
  sim: KubeApiSim,
  method: string,
  path: string,
  opts: { body?: string | Buffer; contentType?: string; user?: string; token?: string | null; accept?: string; headers?: Record<string, string> } = {},
): Promise<SimResponse> {
  const token = opts.token === undefined ? sim.tokenFor(opts.user ?? 'netpol-sim-admin') : opts.token;
  const url = new URL(path, sim.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: sim.caPem,
        headers: {
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(opts.contentType ? { 'Content-Type': opts.contentType } : {}),
          ...(opts.accept ? { Accept: opts.accept } : {}),
          ...(opts.body !== undefined ? { 'Content-Length': Buffer.byteLength(opts.body) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
