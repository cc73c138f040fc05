// An HTTP reverse proxy on 127.0.0.1 in front of a real stand-in (Slack, the Git host) that a chaos
// scenario can break: answer chosen requests with an error status before they reach the server
// (a load balancer's 502/503, nothing done upstream), or be down altogether (every connection reset).
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxyFault {
  /** Which requests: tested against "METHOD /path?query". */
  match: RegExp;
  status: number;
  /** How many matching requests get the fault before it clears. */
  times: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The status the client got (0: connection reset by the proxy). */
  status: number;
  /** true when the proxy answered itself (a fault or down), the server never saw it. */
  injected: boolean;
}

export interface HttpFaultProxy {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly requests: ProxiedRequest[];
  fail(fault: ProxyFault): void;
  /** true: reset every new request's connection (the host is unreachable); false: forward again. */
  down(on: boolean): void;
  clear(): void;
  close(): Promise<void>;
}

export async function startHttpFaultProxy(target: string): Promise<HttpFaultProxy> {
  const upstream = new URL(target);
  const faults: ProxyFault[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  let isDown = false;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const line = `${req.method ?? 'GET'} ${req.url ?? '/'}`;
    const record = (status: number, injected: boolean): void => {
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', status, injected });
    };
    if (isDown) {
      record(0, true);
      req.socket.destroy();
      return;
    }
    const fault = faults.find((f) => f.times > 0 && f.match.test(line));
    if (fault) {
      fault.times -= 1;
      record(fault.status, true);
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'text/plain', connection: 'close', ...fault.headers }).end(fault.body ?? `injected ${fault.status}`);
      return;
    }
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        record(answer.statusCode ?? 0, false);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => {
      record(0, false);
      req.socket.destroy();
    });
    req.pipe(forwarded);
  };

  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    fail: (fault) => faults.push({ ...fault }),
    down(on) {
      isDown = on;
      // Connections kept alive from before would otherwise still get through.
      if (on) for (const socket of sockets) socket.destroy();
    },
    clear: () => void faults.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
