// Who is calling, what they may not do, and which requests should fail on purpose. Tests use
// deny() to reproduce RBAC denials and injectFault() to exercise retries.

import { randomBytes } from 'node:crypto';
import type { ResourceName, Verb } from './resources.js';

export interface DenyRule {
  /** Only this user; every user when absent. */
  user?: string;
  verb: Verb;
  resource: ResourceName;
  /** Only in this namespace; everywhere when absent. */
  namespace?: string;
}

export interface FaultRule {
  verb?: Verb;
  resource?: ResourceName;
  /** HTTP status to answer with, e.g. 500, 503, 409, 429. */
  status: number;
  /** How many matching requests fail before the fault clears itself. */
  times: number;
  message?: string;
  /** Sent as Retry-After (seconds) with 429/503. */
  retryAfterSeconds?: number;
}

export interface DelayRule {
  verb?: Verb;
  resource?: ResourceName;
  /** How long the server waits before handling each matching request. */
  ms: number;
  /** How many matching requests are slowed before the rule clears itself. */
  times: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  user?: string;
  verb?: Verb;
  resource?: ResourceName;
  namespace?: string;
  contentType?: string;
}

export interface RequestTarget {
  user: string;
  verb: Verb;
  resource: ResourceName;
  namespace?: string;
}

export class AccessControl {
  private readonly tokens = new Map<string, string>();
  private readonly denials: DenyRule[] = [];
  private faults: FaultRule[] = [];
  private delays: DelayRule[] = [];

  constructor(users: Record<string, string>) {
    for (const [token, user] of Object.entries(users)) this.tokens.set(token, user);
  }

  userForToken(token: string): string | undefined {
    return this.tokens.get(token);
  }

  /** The bearer token of `user`, minting one when the user is new. */
  tokenFor(user: string): string {
    for (const [token, name] of this.tokens) if (name === user) return token;
    const token = `sim-${randomBytes(16).toString('hex')}`;
    this.tokens.set(token, user);
    return token;
  }

  deny(rule: DenyRule): () => void {
    const copy = { ...rule };
    this.denials.push(copy);
    return () => {
      const i = this.denials.indexOf(copy);
      if (i >= 0) this.denials.splice(i, 1);
    };
  }

  clearDenials(): void {
    this.denials.length = 0;
  }

  /** The denials that apply to `user` (rules for every user included), as copies. */
  denialsFor(user: string): DenyRule[] {
    return this.denials.filter((d) => d.user === undefined || d.user === user).map((d) => ({ ...d }));
  }

  isDenied(t: RequestTarget): boolean {
    return this.denials.some(
      (d) =>
        (d.user === undefined || d.user === t.user) &&
        d.verb === t.verb &&
        d.resource === t.resource &&
        (d.namespace === undefined || d.namespace === t.namespace),
    );
  }

  injectFault(rule: FaultRule): void {
    if (!Number.isInteger(rule.times) || rule.times < 1) throw new Error('injectFault: times must be a positive integer');
    if (!Number.isInteger(rule.status) || rule.status < 400 || rule.status > 599) throw new Error('injectFault: status must be an HTTP error code');
    this.faults.push({ ...rule });
  }

  clearFaults(): void {
    this.faults = [];
    this.delays = [];
  }

  injectDelay(rule: DelayRule): void {
    if (!Number.isInteger(rule.times) || rule.times < 1) throw new Error('injectDelay: times must be a positive integer');
    if (!Number.isFinite(rule.ms) || rule.ms < 0 || rule.ms > 600_000) throw new Error('injectDelay: ms must be between 0 and 600000');
    this.delays.push({ ...rule });
  }

  /** Consumes one matching delay, if any, and returns its length in ms (0 when none). */
  takeDelay(t: RequestTarget): number {
    const delay = this.delays.find((d) => (d.verb === undefined || d.verb === t.verb) && (d.resource === undefined || d.resource === t.resource));
    if (!delay) return 0;
    delay.times--;
    if (delay.times <= 0) this.delays.splice(this.delays.indexOf(delay), 1);
    return delay.ms;
  }

  /** Consumes one matching fault, if any. */
  takeFault(t: RequestTarget): FaultRule | undefined {
    const fault = this.faults.find((f) => (f.verb === undefined || f.verb === t.verb) && (f.resource === undefined || f.resource === t.resource));
    if (!fault) return undefined;
    fault.times--;
    if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return { ...fault };
  }
}
