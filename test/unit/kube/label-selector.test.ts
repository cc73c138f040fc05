import { describe, expect, it } from 'vitest';
import {
  LabelSelectorSyntaxError,
  MAX_SELECTOR_LENGTH,
  formatLabelSelector,
  labelKeyError,
  labelValueError,
  parseLabelSelector,
  selectorMatches,
} from '../../../src/kube/label-selector.js';

describe('parseLabelSelector: accepted syntax', () => {
  it('returns an empty selector for empty or blank text', () => {
    expect(parseLabelSelector('')).toEqual({ matchLabels: {}, matchExpressions: [] });
    expect(parseLabelSelector('   ')).toEqual({ matchLabels: {}, matchExpressions: [] });
  });

  it('parses equality with = and ==', () => {
    expect(parseLabelSelector('app=x')).toEqual({ matchLabels: { app: 'x' }, matchExpressions: [] });
    expect(parseLabelSelector('app==x')).toEqual({ matchLabels: { app: 'x' }, matchExpressions: [] });
  });

  it('parses != as NotIn with one value', () => {
    expect(parseLabelSelector('env!=prod').matchExpressions).toEqual([{ key: 'env', operator: 'NotIn', values: ['prod'] }]);
  });

  it('parses in and notin sets, sorting and de-duplicating values', () => {
    expect(parseLabelSelector('tier in (b,a,b)').matchExpressions).toEqual([{ key: 'tier', operator: 'In', values: ['a', 'b'] }]);
    expect(parseLabelSelector('tier notin (x)').matchExpressions).toEqual([{ key: 'tier', operator: 'NotIn', values: ['x'] }]);
  });

  it('parses exists and does-not-exist', () => {
    expect(parseLabelSelector('canary').matchExpressions).toEqual([{ key: 'canary', operator: 'Exists' }]);
    expect(parseLabelSelector('!legacy').matchExpressions).toEqual([{ key: 'legacy', operator: 'DoesNotExist' }]);
  });

  it('parses the incident example with mixed requirements and spaces', () => {
    expect(parseLabelSelector('app=x,tier in (a,b)')).toEqual({
      matchLabels: { app: 'x' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
    });
    expect(parseLabelSelector(' app = x , tier in ( a , b ) , !old , new ')).toEqual({
      matchLabels: { app: 'x' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'old', operator: 'DoesNotExist' },
        { key: 'new', operator: 'Exists' },
      ],
    });
  });

  it('accepts prefixed keys and dotted values', () => {
    expect(parseLabelSelector('app.kubernetes.io/name=web.v2').matchLabels).toEqual({ 'app.kubernetes.io/name': 'web.v2' });
    expect(parseLabelSelector('kubernetes.io/metadata.name in (db)').matchExpressions[0]?.key).toBe('kubernetes.io/metadata.name');
  });

  it('accepts the empty value, like kubectl (app= and in ())', () => {
    expect(parseLabelSelector('app=').matchLabels).toEqual({ app: '' });
    expect(parseLabelSelector('app in ()').matchExpressions).toEqual([{ key: 'app', operator: 'In', values: [''] }]);
  });

  it('treats in/notin as keys when not followed by a set', () => {
    expect(parseLabelSelector('in=1').matchLabels).toEqual({ in: '1' });
  });

  it('allows the same key twice with the same value', () => {
    expect(parseLabelSelector('a=1,a=1').matchLabels).toEqual({ a: '1' });
  });
});

describe('parseLabelSelector: malformed and hostile input', () => {
  const bad: Array<[string, RegExp]> = [
    [',', /expected a label key/],
    ['app=x,', /trailing ","/],
    ['app=x,,tier=y', /expected a label key/],
    ['=x', /expected a label key/],
    ['app x', /expected an operator/],
    ['app in a,b', /expected "\(" after set operator/],
    ['app in (a,b', /expected "," or "\)"/],
    ['app in (a b)', /expected "," or "\)"/],
    ['app in (a,=)', /expected a value or "\)"/],
    ['app notin', /expected "\(" after set operator/],
    ['app=(x)', /expected a value after "="/],
    ['app>1', /operator ">" is not supported/],
    ['app<1', /operator "<" is not supported/],
    ['!', /expected a label key, found end of selector/],
    ['!app=x', /expected "," between requirements/],
    ['-app=x', /name part must consist of alphanumeric/],
    ['app_=x', /name part must consist of alphanumeric/],
    ['Bad Key=x', /expected an operator/],
    ['UPPER.example.com/name=x', /prefix part must be a lowercase RFC 1123 subdomain/],
    ['/name=x', /prefix part must be non-empty/],
    ['example.com/=x', /name part must be non-empty/],
    [`${'k'.repeat(64)}=x`, /no more than 63 characters/],
    [`app=${'v'.repeat(64)}`, /value .*no more than 63 characters/],
    ['app=-bad-', /value "-bad-"/],
    ['app=a/b', /value "a\/b"/],
    ['app in (ok,bad value)', /expected "," or "\)"/],
    ['a=1,a=2', /conflicting values "1" and "2" for key "a"/],
    ['app=x\ny=z', /control character/],
    ['app=\u0000', /control character/],
  ];
  it.each(bad)('rejects %j', (text, pattern) => {
    expect(() => parseLabelSelector(text)).toThrow(LabelSelectorSyntaxError);
    expect(() => parseLabelSelector(text)).toThrow(pattern);
  });

  it('names the selector in the message, truncated when long', () => {
    try {
      parseLabelSelector(`${'a=b,'.repeat(40)}!`);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LabelSelectorSyntaxError);
      expect((error as Error).message).toMatch(/^invalid label selector "a=b,a=b.*…": /);
      expect((error as LabelSelectorSyntaxError).selector.length).toBe(161);
    }
  });

  it('refuses oversized input before parsing it', () => {
    const huge = 'a=b,'.repeat(MAX_SELECTOR_LENGTH);
    expect(() => parseLabelSelector(huge)).toThrow(/longer than 4096 characters/);
  });

  it('refuses non-string input at run time', () => {
    expect(() => parseLabelSelector(42 as unknown as string)).toThrow(/must be a string/);
  });
});

describe('labelKeyError / labelValueError', () => {
  it('accepts valid keys and values', () => {
    expect(labelKeyError('app')).toBeUndefined();
    expect(labelKeyError('k8s-app')).toBeUndefined();
    expect(labelKeyError('app.kubernetes.io/part-of')).toBeUndefined();
    expect(labelValueError('')).toBeUndefined();
    expect(labelValueError('v1.2_3-x')).toBeUndefined();
  });
  it('explains invalid keys and values', () => {
    expect(labelKeyError(`${'a'.repeat(254)}/x`)).toMatch(/253/);
    expect(labelKeyError('a/b/c')).toMatch(/name part/);
    expect(labelValueError('_x')).toMatch(/must start and end/);
  });
});

describe('selectorMatches', () => {
  const labels = { app: 'web', tier: 'frontend' };
  it('matches matchLabels and every operator with Kubernetes semantics', () => {
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'api' } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'x'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['x'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['frontend'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['a'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'missing', operator: 'In', values: [''] }] }, labels)).toBe(false);
  });
  it('treats missing labels as none and an unknown operator as no match', () => {
    expect(selectorMatches({ matchLabels: { a: 'b' } }, undefined)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Gt' as never }] }, labels)).toBe(false);
  });
  it('agrees with parseLabelSelector on parsed text', () => {
    expect(selectorMatches(parseLabelSelector('app=web,tier in (frontend),!legacy'), labels)).toBe(true);
    expect(selectorMatches(parseLabelSelector('app!=web'), labels)).toBe(false);
  });
});

describe('formatLabelSelector', () => {
  it('round-trips through parseLabelSelector', () => {
    for (const text of ['app=x', 'b=2,a=1', 'tier in (a,b)', 'x notin (y)', 'k', '!k', 'app=x,tier in (a,b),!old']) {
      const parsed = parseLabelSelector(text);
      expect(parseLabelSelector(formatLabelSelector(parsed))).toEqual(parsed);
    }
  });
});
