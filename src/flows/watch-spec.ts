// A traffic watch registration checked before anything is written (pure): the worker's input,
// and the spec the collector reads back from Redis (which could be corrupt or from elsewhere).
import type { LabelSelectorSpec } from '../incident/model.js';
import { labelKeyError, labelValueError } from '../kube/label-selector.js';
import { DEFAULT_DNS_TARGET, type DnsTarget, type WatchScope, type WatchSpec } from './scope-watch.js';

export class TrafficWatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrafficWatchError';
  }
}

export const WATCH_LIMITS = {
  /** Longest window: a traffic check is minutes at most, not a standing watch. */
  maxWindowMs: 3_600_000,
  maxPodNames: 1000,
  maxSelectorTerms: 32,
  maxSelectorValues: 64,
  maxSamples: 20,
  /** Largest serialized spec accepted back from Redis. */
  maxSpecBytes: 256 * 1024,
} as const;

export const DEFAULT_SAMPLES = { forwarded: 5, dropped: 3 } as const;

const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function checkIncidentId(id: unknown): string {
  if (typeof id !== 'string' || !INCIDENT_ID.test(id)) throw new TrafficWatchError(`incident id must be 1-63 letters, digits, '.', '_' or '-' (got ${shown(id)})`);
  return id;
}

function checkNamespace(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length > 63 || !DNS1123_LABEL.test(value)) throw new TrafficWatchError(`${what} must be a namespace name (DNS-1123 label, at most 63 characters), got ${shown(value)}`);
  return value;
}

function checkLabels(value: unknown, what: string): Record<string, string> {
  if (!isRecord(value)) throw new TrafficWatchError(`${what} must be an object of label key → value`);
  const entries = Object.entries(value);
  if (entries.length > WATCH_LIMITS.maxSelectorTerms) throw new TrafficWatchError(`${what} has ${entries.length} labels; at most ${WATCH_LIMITS.maxSelectorTerms}`);
  const out: Record<string, string> = {};
  for (const [key, v] of entries) {
    const keyError = labelKeyError(key);
    if (keyError) throw new TrafficWatchError(`${what}: label key ${shown(key)}: ${keyError}`);
    if (typeof v !== 'string') throw new TrafficWatchError(`${what}: value of ${shown(key)} must be a string`);
    const valueError = labelValueError(v);
    if (valueError) throw new TrafficWatchError(`${what}: value of ${shown(key)}: ${valueError}`);
    out[key] = v;
  }
  return out;
}

function checkSelector(value: unknown): LabelSelectorSpec {
  if (!isRecord(value)) throw new TrafficWatchError('scope.labelSelector must be an object with matchLabels and/or matchExpressions');
  const unknown = Object.keys(value).filter((k) => k !== 'matchLabels' && k !== 'matchExpressions');
  if (unknown.length > 0) throw new TrafficWatchError(`scope.labelSelector has unknown field ${shown(unknown[0])}`);
  const selector: LabelSelectorSpec = {};
  if (value.matchLabels !== undefined) selector.matchLabels = checkLabels(value.matchLabels, 'scope.labelSelector.matchLabels');
  if (value.matchExpressions !== undefined) {
    const exprs = value.matchExpressions;
    if (!Array.isArray(exprs)) throw new TrafficWatchError('scope.labelSelector.matchExpressions must be a list');
    if (exprs.length > WATCH_LIMITS.maxSelectorTerms) throw new TrafficWatchError(`scope.labelSelector.matchExpressions has ${exprs.length} terms; at most ${WATCH_LIMITS.maxSelectorTerms}`);
    selector.matchExpressions = exprs.map((expr: unknown, i) => {
      const at = `scope.labelSelector.matchExpressions[${i}]`;
      if (!isRecord(expr)) throw new TrafficWatchError(`${at} must be an object`);
      const key = typeof expr.key === 'string' ? expr.key : '';
      const keyError = labelKeyError(key);
      if (keyError) throw new TrafficWatchError(`${at}.key ${shown(expr.key)}: ${keyError}`);
      const operator = expr.operator;
      if (typeof operator !== 'string' || !OPERATORS.has(operator)) throw new TrafficWatchError(`${at}.operator must be In, NotIn, Exists or DoesNotExist, got ${shown(operator)}`);
      const op = operator as 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
      const values = expr.values ?? [];
      if (!Array.isArray(values) || values.length > WATCH_LIMITS.maxSelectorValues || values.some((v) => typeof v !== 'string' || labelValueError(v) !== undefined)) {
        throw new TrafficWatchError(`${at}.values must be a list of at most ${WATCH_LIMITS.maxSelectorValues} label values`);
      }
      const needsValues = op === 'In' || op === 'NotIn';
      if (needsValues !== values.length > 0) throw new TrafficWatchError(`${at}: ${op} ${needsValues ? 'needs values' : 'takes no values'}`);
      return needsValues ? { key, operator: op, values: values as string[] } : { key, operator: op };
    });
  }
  return selector;
}

export function checkScope(value: unknown): WatchScope {
  if (!isRecord(value)) throw new TrafficWatchError('scope must be an object { namespace, podNames, labelSelector? }');
  const namespace = checkNamespace(value.namespace, 'scope.namespace');
  const pods = value.podNames;
  if (!Array.isArray(pods)) throw new TrafficWatchError('scope.podNames must be a list of pod names (empty for none)');
  if (pods.length > WATCH_LIMITS.maxPodNames) throw new TrafficWatchError(`scope.podNames has ${pods.length} names; at most ${WATCH_LIMITS.maxPodNames}`);
  for (const p of pods) {
    if (typeof p !== 'string' || p.length > 253 || !DNS1123_SUBDOMAIN.test(p)) throw new TrafficWatchError(`scope.podNames: ${shown(p)} is not a pod name`);
  }
  const scope: WatchScope = { namespace, podNames: [...new Set(pods as string[])] };
  if (value.labelSelector !== undefined) scope.labelSelector = checkSelector(value.labelSelector);
  return scope;
}

export function checkDns(value: unknown): DnsTarget {
  if (value === undefined) return { namespace: DEFAULT_DNS_TARGET.namespace, podLabels: { ...DEFAULT_DNS_TARGET.podLabels } };
  if (!isRecord(value)) throw new TrafficWatchError('dns must be an object { namespace, podLabels }');
  return { namespace: checkNamespace(value.namespace, 'dns.namespace'), podLabels: checkLabels(value.podLabels ?? {}, 'dns.podLabels') };
}

function checkCount(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > WATCH_LIMITS.maxSamples) throw new TrafficWatchError(`${what} must be an integer from 0 to ${WATCH_LIMITS.maxSamples}, got ${shown(value)}`);
  return value;
}

export interface WatchInput {
  incidentId: unknown;
  scope: unknown;
  fromMs: unknown;
  untilMs: unknown;
  dns?: unknown;
  samples?: unknown;
}

/** The registration as a spec, or a TrafficWatchError saying what is wrong. */
export function checkWatchSpec(input: WatchInput): WatchSpec {
  const incidentId = checkIncidentId(input.incidentId);
  const scope = checkScope(input.scope);
  const { fromMs, untilMs } = input;
  if (typeof fromMs !== 'number' || !Number.isFinite(fromMs) || fromMs <= 0) throw new TrafficWatchError(`fromMs must be an epoch time in milliseconds, got ${shown(fromMs)}`);
  if (typeof untilMs !== 'number' || !Number.isFinite(untilMs)) throw new TrafficWatchError(`untilMs must be an epoch time in milliseconds, got ${shown(untilMs)}`);
  if (untilMs <= fromMs) throw new TrafficWatchError(`the window is empty: untilMs (${untilMs}) is not after fromMs (${fromMs})`);
  if (untilMs - fromMs > WATCH_LIMITS.maxWindowMs) throw new TrafficWatchError(`the window is ${Math.round((untilMs - fromMs) / 1000)} s; at most ${WATCH_LIMITS.maxWindowMs / 1000} s`);
  const dns = checkDns(input.dns);
  const samples = input.samples === undefined ? {} : input.samples;
  if (!isRecord(samples)) throw new TrafficWatchError('samples must be an object { forwarded, dropped }');
  return {
    incidentId,
    scope,
    dns,
    fromMs,
    untilMs,
    samples: {
      forwarded: checkCount(samples.forwarded, DEFAULT_SAMPLES.forwarded, 'samples.forwarded'),
      dropped: checkCount(samples.dropped, DEFAULT_SAMPLES.dropped, 'samples.dropped'),
    },
  };
}

/** A spec read back from Redis: the same checks, on JSON. */
export function parseWatchSpec(json: string): WatchSpec {
  if (json.length > WATCH_LIMITS.maxSpecBytes) throw new TrafficWatchError(`watch spec is ${json.length} bytes; at most ${WATCH_LIMITS.maxSpecBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new TrafficWatchError('watch spec is not JSON');
  }
  if (!isRecord(value)) throw new TrafficWatchError('watch spec is not an object');
  return checkWatchSpec(value as unknown as WatchInput);
}
