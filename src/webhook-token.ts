// The one comparison every webhook route uses for its shared secret. Comparing the strings
// directly (=== or a byte loop that stops early) leaks through timing how much of a guess was
// right; comparing SHA-256 digests with timingSafeEqual takes the same time whatever the guess,
// and hashing first makes the lengths equal, so the secret's length is not leaked either.
import { createHash, timingSafeEqual } from 'node:crypto';

/** True only when both buffers have the same length and the same bytes, in constant time for that length. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** A presented token against the configured secret: an empty or missing one never matches. */
export function tokenMatches(given: string | undefined, expected: string | undefined): boolean {
  if (!expected || given === undefined || given === '') return false;
  return sameDigest(sha256(given), sha256(expected));
}
