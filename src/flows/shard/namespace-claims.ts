// Who processes a namespace right now, in Redis: the rendezvous assignment says who *should*, but
// during a change two replicas may briefly disagree (one has seen a new member, the other not
// yet). The owner key makes the handover clean: a replica starts a namespace only once it holds
// the key, the previous owner deletes it after it stopped processing and saved the baseline, and
// a dead owner's key runs out with its lease. A key held by someone who is not a live member
// (garbage, or a member long gone) is taken over at once.
import type { RedisClient } from '../../redis/connect.js';

// KEYS[1] owner key; ARGV[1] me, ARGV[2] ttl ms, ARGV[3..] live members. 1 = held by me now.
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
local stale = true
if cur then
  if cur == ARGV[1] then stale = true else
    for i = 3, #ARGV do if ARGV[i] == cur then stale = false end end
  end
end
if not stale then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class NamespaceClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly member: string,
    private readonly ttlMs: number,
  ) {}

  /** Only DNS-1123 names are passed in (flow-owner.ts isNamespaceName), so keys need no escaping. */
  keyOf(namespace: string): string {
    return `${this.prefix}:ns:${namespace}:owner`;
  }

  /** Claims (or renews) each namespace; returns those now held by this member. Failed ones are left out. */
  async claim(namespaces: readonly string[], liveMembers: readonly string[]): Promise<{ held: Set<string>; errors: string[] }> {
    const held = new Set<string>();
    const errors: string[] = [];
    if (namespaces.length === 0) return { held, errors };
    const batch = this.redis.pipeline();
    for (const ns of namespaces) batch.eval(CLAIM, 1, this.keyOf(ns), this.member, String(this.ttlMs), ...liveMembers);
    const results = (await batch.exec()) ?? [];
    namespaces.forEach((ns, i) => {
      const [error, value] = results[i] ?? [new Error('no reply'), null];
      if (error) errors.push(`${ns}: ${error.message}`);
      else if (value === 1) held.add(ns);
    });
    return { held, errors };
  }

  async release(namespace: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keyOf(namespace), this.member);
  }
}
