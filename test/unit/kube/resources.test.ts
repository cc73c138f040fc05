// namespaceOfObject: the namespace of a list item that nothing checked, whatever the item is.
import { describe, expect, it } from 'vitest';
import { namespaceOfObject } from '../../../src/kube/resources.js';

describe('namespaceOfObject', () => {
  it('a string metadata.namespace, including the empty one', () => {
    expect(namespaceOfObject({ metadata: { namespace: 'api', name: 'x' } })).toBe('api');
    expect(namespaceOfObject({ metadata: { namespace: '' } })).toBe('');
  });

  it('undefined for anything else: no metadata, a non-string namespace, null, primitives, arrays', () => {
    for (const item of [null, undefined, 7, 'api', [], {}, { metadata: null }, { metadata: 'api' }, { metadata: { namespace: 7 } }, { metadata: { namespace: ['api'] } }, { metadata: { namespace: { toString: () => 'api' } } }]) {
      expect(namespaceOfObject(item)).toBeUndefined();
    }
  });

  it('does not read through the prototype: a __proto__ key stays a key', () => {
    const item = JSON.parse('{"__proto__": {"metadata": {"namespace": "api"}}}') as unknown;
    expect(namespaceOfObject(item)).toBeUndefined();
  });
});
