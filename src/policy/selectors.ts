// Kubernetes label selectors (matchLabels + matchExpressions): validation, matching, and a
// canonical key so that equal selectors share one cached result.

export type Labels = Readonly<Record<string, string>>;

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export interface Requirement {
  key: string;
  operator: Operator;
  values: readonly string[];
}

export interface Selector {
  /** Sorted by key, then operator: the canonical form. Empty = selects everything. */
  requirements: readonly Requirement[];
  key: string;
}

export const SELECT_ALL: Selector = { requirements: [], key: '{}' };

// Label key: optional DNS-subdomain prefix + "/" + name of at most 63 characters.
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function labelKeyError(key: unknown): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'label key must be a non-empty string';
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return `label key "${key}" has an invalid prefix`;
  }
  if (!NAME_PART.test(name)) return `label key "${key}" is invalid (at most 63 characters: alphanumerics, "-", "_", ".")`;
  return undefined;
}

export function labelValueError(value: unknown): string | undefined {
  if (typeof value !== 'string') return `label value ${JSON.stringify(value)} must be a string`;
  if (!VALUE.test(value)) return `label value "${value}" is invalid (at most 63 characters: alphanumerics, "-", "_", ".")`;
  return undefined;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Parses a LabelSelector object; null/undefined/{} select everything. Returns an error string when invalid. */
export function parseSelector(raw: unknown): Selector | string {
  if (raw === null || raw === undefined) return SELECT_ALL;
  if (!isRecord(raw)) return 'selector must be an object with matchLabels and/or matchExpressions';
  for (const field of Object.keys(raw)) {
    if (field !== 'matchLabels' && field !== 'matchExpressions') return `selector has unknown field "${field}"`;
  }
  const reqs: Requirement[] = [];
  const { matchLabels, matchExpressions } = raw;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isRecord(matchLabels)) return 'matchLabels must be a map of key: value';
    for (const [key, value] of Object.entries(matchLabels)) {
      const err = labelKeyError(key) ?? labelValueError(value);
      if (err) return `matchLabels: ${err}`;
      reqs.push({ key, operator: 'In', values: [value as string] });
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) return 'matchExpressions must be a list';
    for (const [i, expr] of matchExpressions.entries()) {
      if (!isRecord(expr)) return `matchExpressions[${i}] must be an object`;
      const { key, operator, values } = expr;
      const keyErr = labelKeyError(key);
      if (keyErr) return `matchExpressions[${i}]: ${keyErr}`;
      if (typeof operator !== 'string' || !OPERATORS.includes(operator)) {
        return `matchExpressions[${i}]: operator ${JSON.stringify(operator)} is not one of In, NotIn, Exists, DoesNotExist`;
      }
      const list = values === undefined || values === null ? [] : values;
      if (!Array.isArray(list)) return `matchExpressions[${i}]: values must be a list`;
      if ((operator === 'In' || operator === 'NotIn') && list.length === 0) {
        return `matchExpressions[${i}]: operator ${operator} needs at least one value`;
      }
      if ((operator === 'Exists' || operator === 'DoesNotExist') && list.length > 0) {
        return `matchExpressions[${i}]: operator ${operator} takes no values`;
      }
      for (const v of list) {
        const err = labelValueError(v);
        if (err) return `matchExpressions[${i}]: ${err}`;
      }
      reqs.push({ key: key as string, operator: operator as Operator, values: [...new Set(list as string[])].sort() });
    }
  }
  return makeSelector(reqs);
}

export function makeSelector(reqs: Requirement[]): Selector {
  if (reqs.length === 0) return SELECT_ALL;
  const sorted = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0));
  const key = sorted.map((r) => `${r.key} ${r.operator} ${r.values.join(',')}`).join(' & ');
  return { requirements: sorted, key };
}

export function matches(selector: Selector, labels: Labels): boolean {
  for (const r of selector.requirements) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.operator) {
      case 'In':
        if (!has || !r.values.includes(labels[r.key] as string)) return false;
        break;
      case 'NotIn':
        if (has && r.values.includes(labels[r.key] as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

export function isSelectAll(selector: Selector): boolean {
  return selector.requirements.length === 0;
}

/** Human-readable form used in explanations and lint messages, e.g. `app=web, tier in (a,b)`. */
export function formatSelector(selector: Selector): string {
  if (selector.requirements.length === 0) return '(all)';
  return selector.requirements
    .map((r) => {
      switch (r.operator) {
        case 'In':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
      return '';
    })
    .join(', ');
}
