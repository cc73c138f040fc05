// kubectl label-selector syntax (`app=x,tier in (a,b),!legacy`) parsed into the structured
// form NetworkPolicies use ({matchLabels, matchExpressions}). Pure: no I/O, no client library.

import { printable } from '../printable.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorExpression {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

export interface ParsedLabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: SelectorExpression[];
}

export class LabelSelectorSyntaxError extends Error {
  constructor(
    readonly selector: string,
    readonly detail: string,
  ) {
    // Both echo the user's text: control characters escaped, cut so the message stays short.
    super(`invalid label selector "${printable(selector, 80)}": ${printable(detail, 300)}`);
    this.name = 'LabelSelectorSyntaxError';
  }
}

/** Longer selectors are refused outright: nobody types them, and they bound the parser's work. */
export const MAX_SELECTOR_LENGTH = 4096;

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key (Kubernetes qualified name), or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253) return 'prefix part must be no more than 253 characters';
    if (!DNS1123_SUBDOMAIN.test(prefix)) return 'prefix part must be a lowercase RFC 1123 subdomain';
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is (the empty value is valid). */
export function labelValueError(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!NAME_PART.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'op'; text: '=' | '==' | '!=' | '!' | '(' | ')' | ','; at: number };

const SPECIAL = new Set(['=', '!', '(', ')', ',']);

function tokenize(text: string, fail: (detail: string) => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) fail(`control character at position ${i}`);
    if (ch === '=' && text[i + 1] === '=') {
      tokens.push({ kind: 'op', text: '==', at: i });
      i += 2;
    } else if (ch === '!' && text[i + 1] === '=') {
      tokens.push({ kind: 'op', text: '!=', at: i });
      i += 2;
    } else if (SPECIAL.has(ch)) {
      tokens.push({ kind: 'op', text: ch as '=' | '!' | '(' | ')' | ',', at: i });
      i++;
    } else if (ch === '<' || ch === '>') {
      fail(`operator "${ch}" is not supported (use =, ==, !=, in, notin, exists or !key)`);
    } else {
      const start = i;
      while (i < text.length) {
        const c = text[i] as string;
        if (c === ' ' || c === '\t' || SPECIAL.has(c) || c === '<' || c === '>') break;
        if (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) break;
        i++;
      }
      tokens.push({ kind: 'word', text: text.slice(start, i), at: start });
    }
  }
  return tokens;
}

/**
 * Parses kubectl selector syntax: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
 * `k` (exists) and `!k` (does not exist), joined by commas. Throws LabelSelectorSyntaxError
 * naming the problem. An empty string selects everything.
 */
export function parseLabelSelector(text: string): ParsedLabelSelector {
  const fail = (detail: string): never => {
    throw new LabelSelectorSyntaxError(text, detail);
  };
  if (typeof text !== 'string') fail('selector must be a string');
  if (text.length > MAX_SELECTOR_LENGTH) fail(`longer than ${MAX_SELECTOR_LENGTH} characters`);
  const result: ParsedLabelSelector = { matchLabels: {}, matchExpressions: [] };
  if (text.trim() === '') return result;

  const tokens = tokenize(text, fail);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const describe = (t: Token | undefined): string => (t ? `"${t.text}" at position ${t.at}` : 'end of selector');

  const readKey = (): string => {
    const t = peek();
    if (!t || t.kind !== 'word') return fail(`expected a label key, found ${describe(t)}`);
    pos++;
    const problem = labelKeyError(t.text);
    if (problem) fail(`key "${t.text}": ${problem}`);
    return t.text;
  };
  const checkValue = (value: string): string => {
    const problem = labelValueError(value);
    if (problem) fail(`value "${value}": ${problem}`);
    return value;
  };
  const readValueList = (): string[] => {
    const open = peek();
    if (!open || open.text !== '(') return fail(`expected "(" after set operator, found ${describe(open)}`);
    pos++;
    const values: string[] = [];
    while (true) {
      const t = peek();
      if (t && t.kind === 'word') {
        values.push(checkValue(t.text));
        pos++;
      } else if (t && (t.text === ',' || t.text === ')')) {
        // An empty slot, as in `(a,,b)` or `()`, is the empty value, like kubectl.
        values.push('');
      } else {
        return fail(`expected a value or ")", found ${describe(t)}`);
      }
      const sep = peek();
      if (sep && sep.text === ',') {
        pos++;
        continue;
      }
      if (sep && sep.text === ')') {
        pos++;
        break;
      }
      return fail(`expected "," or ")" in value list, found ${describe(sep)}`);
    }
    return [...new Set(values)].sort();
  };
  const addMatchLabel = (key: string, value: string): void => {
    const existing = result.matchLabels[key];
    if (existing !== undefined && existing !== value) {
      fail(`conflicting values "${existing}" and "${value}" for key "${key}"`);
    }
    result.matchLabels[key] = value;
  };

  while (true) {
    const first = peek();
    if (first && first.text === '!') {
      pos++;
      result.matchExpressions.push({ key: readKey(), operator: 'DoesNotExist' });
    } else {
      const key = readKey();
      const op = peek();
      if (!op || op.text === ',') {
        result.matchExpressions.push({ key, operator: 'Exists' });
      } else if (op.text === '=' || op.text === '==' || op.text === '!=') {
        pos++;
        const v = peek();
        let value = '';
        if (v && v.kind === 'word') {
          value = checkValue(v.text);
          pos++;
        } else if (v && v.text !== ',') {
          fail(`expected a value after "${op.text}", found ${describe(v)}`);
        }
        if (op.text === '!=') result.matchExpressions.push({ key, operator: 'NotIn', values: [value] });
        else addMatchLabel(key, value);
      } else if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
        pos++;
        const values = readValueList();
        result.matchExpressions.push({ key, operator: op.text === 'in' ? 'In' : 'NotIn', values });
      } else {
        fail(`expected an operator (=, ==, !=, in, notin) or "," after key "${key}", found ${describe(op)}`);
      }
    }
    const sep = peek();
    if (!sep) break;
    if (sep.text !== ',') fail(`expected "," between requirements, found ${describe(sep)}`);
    pos++;
    if (!peek()) fail('trailing "," with no requirement after it');
  }
  return result;
}

/**
 * Whether `labels` satisfy a structured selector, with Kubernetes semantics: every matchLabels
 * entry and every expression must hold; NotIn and DoesNotExist hold when the key is absent.
 */
export function selectorMatches(
  selector: { matchLabels?: Record<string, string> | null; matchExpressions?: SelectorExpression[] | null },
  labels: Record<string, string> | undefined | null,
): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(have, expr.key);
    const value = have[expr.key];
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!present || !values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Renders a structured selector back to kubectl syntax (stable order), e.g. for `?labelSelector=`. */
export function formatLabelSelector(selector: ParsedLabelSelector): string {
  const parts: string[] = [];
  for (const key of Object.keys(selector.matchLabels).sort()) parts.push(`${key}=${selector.matchLabels[key]}`);
  for (const e of selector.matchExpressions) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}
