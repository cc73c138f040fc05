// Runs network test cases through the policy engine. A case may stand for several connections:
// a workload whose pods differ in labels is one decision per pod class, and a CIDR is one decision
// per address block (see AddressBlocks). `expect: allow` passes only when every one is allowed,
// `expect: deny` only when none is; anything in between is "partial" and fails either way. Pure.
import { decide, explainDecision, QueryError, resolveEndpoints, type Decision, type Endpoint, type PolicyIndex, type Protocol } from '../policy/index.js';
import { atomsOf, formatIp, formatIpRange, type IpFamily, type IpSet } from '../policy/ip-set.js';
import { printable } from '../printable.js';
import type { NetTestCase } from './cases.js';
import { parseTestEndpoint, type TestEndpoint } from './endpoint.js';

export interface CaseResult {
  case: NetTestCase;
  /** True when every connection the case stands for is allowed. */
  allowed: boolean;
  /** allow: all allowed; deny: none; partial: some; error: the case could not be evaluated. */
  got: 'allow' | 'deny' | 'partial' | 'error';
  pass: boolean;
  /**
   * The `analyze --explain` text: for a failure, of the decisions that contradict the expectation
   * (the first few); for a pass, of the first decision; for an error, the error.
   */
  reason: string;
  error?: string;
  /** Connections decided (pod classes × address blocks) and how many the engine allows. */
  checked: number;
  allowedCount: number;
}

/** Decisions explained in a failure's reason; the rest are counted. */
const EXPLAINED = 3;

/**
 * The address space cut at every address-block boundary of every policy: NetworkPolicy ipBlocks
 * (with their excepts) and the networks, node addresses, CIDRs and entities of ANP/BANP/CNP rules,
 * as connectivity and containment cut it. Each block is wholly inside or wholly outside every
 * set a rule can match, so every rule matches all of its addresses or none, and one address
 * decides for the whole block: testing each block of a CIDR is exact, not a sample.
 */
class AddressBlocks {
  private readonly byFamily = new Map<IpFamily, Array<[bigint, bigint]>>();

  constructor(private readonly index: PolicyIndex) {}

  private atoms(family: IpFamily): Array<[bigint, bigint]> {
    let atoms = this.byFamily.get(family);
    if (!atoms) {
      const sets: IpSet[] = [];
      for (const p of this.index.policies.values()) for (const r of [...p.ingress, ...p.egress]) sets.push(r.ips);
      if (this.index.extended) sets.push(...this.index.extended.ingressIps, ...this.index.extended.egressIps);
      atoms = atomsOf(family, sets);
      this.byFamily.set(family, atoms);
    }
    return atoms;
  }

  /** The blocks that make up [start, end], clipped to it, in address order. */
  within(family: IpFamily, start: bigint, end: bigint): Array<[bigint, bigint]> {
    const atoms = this.atoms(family);
    let lo = 0;
    let hi = atoms.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((atoms[mid] as [bigint, bigint])[1] < start) lo = mid + 1;
      else hi = mid;
    }
    const out: Array<[bigint, bigint]> = [];
    for (let i = lo; i < atoms.length; i++) {
      const [s, e] = atoms[i] as [bigint, bigint];
      if (s > end) break;
      out.push([s > start ? s : start, e < end ? e : end]);
    }
    return out;
  }
}

function endpointsOf(index: PolicyIndex, blocks: AddressBlocks, text: string): Endpoint[] {
  const parsed: TestEndpoint | string = parseTestEndpoint(text);
  if (typeof parsed === 'string') throw new QueryError(parsed);
  if (parsed.kind === 'address') {
    return blocks.within(parsed.family, parsed.start, parsed.end).map(([start, end]) => {
      const whole = start === parsed.start && end === parsed.end;
      const label = whole ? parsed.text : start === end ? formatIp(parsed.family, start) : formatIpRange(parsed.family, start, end);
      return { kind: 'ip', address: { family: parsed.family, value: start }, label };
    });
  }
  const endpoints = resolveEndpoints(index, parsed.text);
  if (endpoints.length === 0) throw new QueryError(`"${printable(text, 100)}" has no pods in the input`);
  // Pod classes of one workload share its label: name a pod of each so explanations can be told apart.
  if (endpoints.length === 1) return endpoints;
  return endpoints.map((e) => (e.kind === 'class' ? { ...e, label: `${e.label} (pod ${index.classes[e.classId]?.pods[0]?.name ?? '?'})` } : e));
}

function explainSome(decisions: readonly Decision[], more: number, what: string): string {
  const parts = decisions.map((d) => explainDecision(d).trimEnd());
  if (more > 0) parts.push(`… and ${more} more ${what}`);
  return parts.join('\n');
}

function errorResult(c: NetTestCase, message: string): CaseResult {
  return { case: c, allowed: false, got: 'error', pass: false, reason: message, error: message, checked: 0, allowedCount: 0 };
}

function runOne(index: PolicyIndex, blocks: AddressBlocks, c: NetTestCase): CaseResult {
  const port = typeof c.port === 'string' && /^\d+$/.test(c.port) ? Number(c.port) : c.port;
  let checked = 0;
  let allowedCount = 0;
  let first: Decision | undefined;
  // Kept: the first few decisions each way (one of the two lists contradicts the expectation).
  const allowed: Decision[] = [];
  const denied: Decision[] = [];
  try {
    const srcs = endpointsOf(index, blocks, c.from);
    const dsts = endpointsOf(index, blocks, c.to);
    for (const s of srcs) {
      for (const d of dsts) {
        const decision = decide(index, s, d, port, c.protocol as Protocol);
        checked += 1;
        first ??= decision;
        if (decision.allowed) {
          allowedCount += 1;
          if (allowed.length < EXPLAINED) allowed.push(decision);
        } else if (denied.length < EXPLAINED) denied.push(decision);
      }
    }
  } catch (error) {
    if (error instanceof QueryError) return errorResult(c, error.message);
    throw error;
  }
  if (!first) return errorResult(c, 'no connection to decide');
  const got = allowedCount === checked ? 'allow' : allowedCount === 0 ? 'deny' : 'partial';
  const pass = got === c.expect;
  let reason: string;
  if (pass) reason = explainDecision(first).trimEnd();
  else {
    const contradicting = c.expect === 'allow' ? denied : allowed;
    const total = c.expect === 'allow' ? checked - allowedCount : allowedCount;
    const head = checked > 1 ? `${allowedCount} of ${checked} connections (pod classes × address blocks) are allowed\n` : '';
    reason = head + explainSome(contradicting, total - contradicting.length, c.expect === 'allow' ? 'denied' : 'allowed');
  }
  return { case: c, allowed: allowedCount === checked, got, pass, reason, checked, allowedCount };
}

/** Evaluates every case; a case that cannot be evaluated (unknown workload...) is an error result, never a throw. */
export function runCases(index: PolicyIndex, cases: readonly NetTestCase[]): CaseResult[] {
  const blocks = new AddressBlocks(index);
  return cases.map((c) => runOne(index, blocks, c));
}
