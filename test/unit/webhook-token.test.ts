import { describe, expect, it } from 'vitest';
import { sameDigest, tokenMatches } from '../../src/webhook-token.js';

describe('tokenMatches', () => {
  const secret = 'webhook-secret-0123456789';

  it('accepts only the exact secret', () => {
    expect(tokenMatches(secret, secret)).toBe(true);
    expect(tokenMatches(`${secret} `, secret)).toBe(false);
    expect(tokenMatches(secret.slice(0, -1), secret)).toBe(false);
    expect(tokenMatches(secret.toUpperCase(), secret)).toBe(false);
  });

  it('compares tokens of different lengths without throwing', () => {
    expect(tokenMatches('x', secret)).toBe(false);
    expect(tokenMatches(secret.repeat(100), secret)).toBe(false);
  });

  it('never matches an empty or missing token, nor anything when no secret is configured', () => {
    expect(tokenMatches('', secret)).toBe(false);
    expect(tokenMatches(undefined, secret)).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
    expect(tokenMatches('anything', '')).toBe(false);
    expect(tokenMatches('anything', undefined)).toBe(false);
  });

  it('compares unicode as UTF-8 bytes: look-alikes and other normal forms do not match', () => {
    const unicode = 'clé-🔑-ñandú';
    expect(tokenMatches(unicode, unicode)).toBe(true);
    expect(tokenMatches(unicode.normalize('NFD'), unicode.normalize('NFC'))).toBe(false);
    expect(tokenMatches('clе-🔑-ñandú', unicode)).toBe(false); // Cyrillic е
    expect(tokenMatches('\u0000', '\u0000\u0000')).toBe(false);
  });
});

describe('sameDigest', () => {
  it('is false for different lengths or empty input instead of throwing', () => {
    expect(sameDigest(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
    expect(sameDigest(Buffer.alloc(0), Buffer.alloc(0))).toBe(false);
    expect(sameDigest(Buffer.from('abcd'), Buffer.from('abcd'))).toBe(true);
    expect(sameDigest(Buffer.from('abcd'), Buffer.from('abce'))).toBe(false);
  });
});
