// Where the bot's Redis is: one server (a URL), a Redis Cluster (startup nodes) or a master
// watched by Sentinels. Pure: the configuration's settings in, connection settings out.
//
// In a Redis Cluster every multi-key operation (the stores' Lua scripts and MULTI blocks, BullMQ's
// scripts) must stay in one hash slot. The key prefix is therefore wrapped in a hash tag there
// ("netpol" becomes "{netpol}"): every key the bot writes starts with it, so all of them share one
// slot. The tag is derived here, never typed by an operator, so it cannot be left out or mistyped.

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisAuth {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | { mode: 'single'; url: string }
  | ({ mode: 'cluster'; nodes: HostPort[]; tls: boolean } & RedisAuth)
  | ({ mode: 'sentinel'; sentinels: HostPort[]; masterName: string; tls: boolean; sentinelPassword?: string } & RedisAuth);

export type RedisMode = RedisTarget['mode'];

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]{1,253})):(\d{1,5})$/;

/** "host:port" or "[v6]:port" as a HostPort, or undefined when it is neither. */
export function parseHostPort(text: string): HostPort | undefined {
  const match = HOST_PORT.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? match[2]) as string, port };
}

/** The prefix every key and queue starts with: hash-tagged in a cluster so all keys share one slot. */
export function effectiveKeyPrefix(keyPrefix: string, mode: RedisMode): string {
  if (/[{}]/.test(keyPrefix) || keyPrefix.length === 0) {
    throw new Error(`redis.keyPrefix "${keyPrefix}" must be non-empty and without braces: in cluster mode the bot adds the hash tag itself`);
  }
  return mode === 'cluster' ? `{${keyPrefix}}` : keyPrefix;
}

/** The Redis hash slot of a key (CRC16/XMODEM of its hash tag, or of the whole key), as Redis computes it. */
export function hashSlot(key: string): number {
  const bytes = Buffer.from(key);
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= (bytes[i] as number) << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** Where the target is, for messages (no passwords). */
export function describeTarget(target: RedisTarget): string {
  const list = (nodes: HostPort[]): string => nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(', ');
  switch (target.mode) {
    case 'single':
      return `Redis at ${redactUrl(target.url)}`;
    case 'cluster':
      return `Redis Cluster (startup nodes ${list(target.nodes)})`;
    case 'sentinel':
      return `Redis master "${target.masterName}" (Sentinels ${list(target.sentinels)})`;
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
