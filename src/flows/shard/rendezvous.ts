// Rendezvous (highest random weight) hashing: each key goes to the member with the highest
// weight(member, key). Every replica computes the same answer from the same member list, with no
// coordination; when a member leaves only its keys move (to the next-highest member each), and
// when one joins it takes about 1/N of the keys, only from the others, never between them.
// The weight is a deterministic 53-bit hash of the pair (no Math.random, no per-process seed),
// so separate processes agree.

/** 53-bit hash of a string (two independent 32-bit mixes of its UTF-16 code units). */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The weight of `member` for `key`. The separator keeps ("ab","c") and ("a","bc") apart. */
export function rendezvousWeight(member: string, key: string): number {
  return hash53(`${member}\u0000${key}`);
}

/** The member that owns `key`, or undefined with no members. Ties go to the smaller member id. */
export function ownerOf(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const w = rendezvousWeight(member, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = w;
    }
  }
  return best;
}

/** key → owning member, for every key (duplicates in either list count once). */
export function assignOwners(members: readonly string[], keys: readonly string[]): Map<string, string> {
  const unique = [...new Set(members)];
  const owners = new Map<string, string>();
  if (unique.length === 0) return owners;
  for (const key of new Set(keys)) owners.set(key, ownerOf(key, unique) as string);
  return owners;
}

/** The keys `member` owns among `keys`, sorted. */
export function keysOwnedBy(member: string, members: readonly string[], keys: readonly string[]): string[] {
  const owned: string[] = [];
  for (const [key, owner] of assignOwners(members, keys)) if (owner === member) owned.push(key);
  return owned.sort();
}
