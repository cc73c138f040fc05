import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignOwners, hash53, keysOwnedBy, ownerOf, rendezvousWeight } from '../../../src/flows/shard/rendezvous.js';
import { FUZZ_TIMEOUT_MS, fuzzAssert, fuzzOptions, HOSTILE_KEYS } from '../../helpers/fuzz.js';

const namespaces = (n: number): string[] => Array.from({ length: n }, (_, i) => `team${i}`);
const members = (n: number): string[] => Array.from({ length: n }, (_, i) => `collector-${i}-${(i * 7919).toString(16)}`);

function counts(owners: Map<string, string>): Map<string, number> {
  const c = new Map<string, number>();
  for (const m of owners.values()) c.set(m, (c.get(m) ?? 0) + 1);
  return c;
}

describe('rendezvous assignment', () => {
  it('balances: with 2..10 members and 3000 namespaces every member gets its share within 15%', () => {
    const keys = namespaces(3000);
    for (let n = 2; n <= 10; n++) {
      const owners = assignOwners(members(n), keys);
      expect(owners.size).toBe(3000);
      const share = 3000 / n;
      for (const m of members(n)) {
        const got = counts(owners).get(m) ?? 0;
        expect(Math.abs(got - share) / share, `member ${m} of ${n}: ${got}`).toBeLessThan(0.15);
      }
    }
  });

  it('minimal movement: when a member leaves only its namespaces move; when one joins only namespaces it takes move', async () => {
    await fuzzAssert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 2, maxLength: 8 }), fc.uniqueArray(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 200 }), fc.nat(), (ms, keys, pick) => {
        const before = assignOwners(ms, keys);
        const leaving = ms[pick % ms.length] as string;
        const after = assignOwners(ms.filter((m) => m !== leaving), keys);
        for (const key of keys) {
          if (before.get(key) !== leaving) expect(after.get(key)).toBe(before.get(key));
          else expect(after.get(key)).not.toBe(leaving);
        }
        // The reverse: the member joining again takes back exactly what it had; nothing else moves.
        const rejoined = assignOwners([...ms.filter((m) => m !== leaving), leaving], keys);
        expect(rejoined).toEqual(before);
      }),
      { ...fuzzOptions(1301) },
    );
  }, FUZZ_TIMEOUT_MS);

  it('a joining member takes about 1/(N+1) of the namespaces, all from the others, none moved between old members', () => {
    const keys = namespaces(2000);
    const before = assignOwners(members(4), keys);
    const after = assignOwners(members(5), keys);
    let moved = 0;
    for (const key of keys) {
      if (before.get(key) === after.get(key)) continue;
      moved += 1;
      expect(after.get(key)).toBe(members(5)[4]);
    }
    expect(moved / 2000).toBeGreaterThan(0.15);
    expect(moved / 2000).toBeLessThan(0.25);
  });

  it('does not depend on the order of the member list, duplicates or the process', () => {
    const keys = namespaces(300);
    const ms = members(5);
    const a = assignOwners(ms, keys);
    expect(assignOwners([...ms].reverse(), keys)).toEqual(a);
    expect(assignOwners([...ms, ...ms], [...keys, ...keys])).toEqual(a);
    // Another Node process computes the same owners (no per-process seed).
    const script = `import('./src/flows/shard/rendezvous.ts').then((m) => console.log(JSON.stringify([...m.assignOwners(${JSON.stringify(ms)}, ${JSON.stringify(keys)})])))`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
    expect(new Map(JSON.parse(out) as [string, string][])).toEqual(a);
    // Pinned values: a change of the hash would move every namespace of a running cluster at upgrade.
    expect(hash53('team1')).toBe(7153530264122137);
    expect(rendezvousWeight('collector-a', 'db')).toBe(5353887497024843);
    expect(rendezvousWeight('a', 'b')).toBe(hash53('a\u0000b'));
    expect(rendezvousWeight('ab', 'c')).not.toBe(rendezvousWeight('a', 'bc'));
  });

  it('no members: nobody owns anything; one member owns everything', () => {
    expect(assignOwners([], namespaces(10)).size).toBe(0);
    expect(ownerOf('x', [])).toBeUndefined();
    expect(keysOwnedBy('solo', ['solo'], namespaces(10))).toEqual(namespaces(10).sort());
  });

  it('hostile names are just strings: prototype keys, very long, control characters and unicode hash safely', () => {
    const hostile = [...HOSTILE_KEYS, '', 'a'.repeat(100_000), '\u0000\u0001', '{tag}', '../../etc', 'ns\nwith\nnewlines', '😀', '\ud800'];
    const owners = assignOwners(members(3), hostile);
    expect(owners.size).toBe(hostile.length);
    for (const key of hostile) expect(members(3)).toContain(owners.get(key));
    for (const key of hostile) {
      const w = rendezvousWeight('m', key);
      expect(Number.isSafeInteger(w) && w >= 0).toBe(true);
    }
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });
});
