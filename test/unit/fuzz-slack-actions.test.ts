// Property tests: Block Kit button values as they come back in a block_actions payload (the
// parsers decode them before any action runs; a value they refuse leaves everything as it was).
// Runs per property: FUZZ_RUNS (default 200, fixed seed; more runs go in chunks of 1000, seeds seed, seed+1, ...); e.g. `FUZZ_RUNS=20000 npx vitest run test/unit/fuzz-slack-actions.test.ts`.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseButtonValue } from '../../src/slack/blocks.js';
import { parseIncidentButton, parseStrongerButton } from '../../src/slack/contain-blocks.js';
import { parseRestoreButton, parseSourceButton } from '../../src/slack/restore-blocks.js';
import { expectNoPollution, FUZZ_TIMEOUT_MS, fuzzAssert, fuzzOptions, mutationsOf, oddValue, toJsonText } from '../helpers/fuzz.js';

const SEED = 13_101;

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });
afterEach(() => expectNoPollution());

const INCIDENT = 'inc-20260302-a1b2';
// Values as the bot writes them (blocks.ts, contain-blocks.ts, restore-blocks.ts).
const approval = { incidentId: INCIDENT, stepId: 'deny-all' };
const stronger = { incidentId: INCIDENT, strategy: 'namespace-deny' };

/** A value as Slack hands it back: usually a string, but a tampered payload can carry anything. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 600 }),
  fc.json({ maxDepth: 4 }),
  oddValue,
  mutationsOf(approval).map(toJsonText),
  mutationsOf(stronger).map(toJsonText),
  fc.constantFrom(`${INCIDENT}:plan-1:3`, `${INCIDENT}:2`, `${INCIDENT}:plan-1:99999999999`, `${INCIDENT}:-1`, `${INCIDENT}:1e3`, `${INCIDENT}:0x10`),
  fc.tuple(fc.string({ maxLength: 70 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 12 })).map((parts) => parts.join(':')),
  fc.integer({ min: 1, max: 200_000 }).map((n) => `{"incidentId":"${'a'.repeat(n)}","stepId":"x"}`),
  fc.integer({ min: 1, max: 50_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
);

const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

describe('button values: anything decodes to a well-formed value or undefined', () => {
  it('approval buttons (parseButtonValue)', async () => {
    await fuzzAssert(
      fc.property(anyValue, (value) => {
        const parsed = parseButtonValue(asString(value));
        if (parsed === undefined) return;
        expect(Object.keys(parsed).sort()).toEqual(['incidentId', 'stepId']);
        expect(parsed.incidentId).toMatch(/^[a-z0-9-]{1,64}$/);
        expect(parsed.stepId).toMatch(/^[a-z0-9-]{1,32}$/);
      }),
      fuzzOptions(SEED),
    );
  });

  it('containment buttons (parseStrongerButton, parseIncidentButton)', async () => {
    await fuzzAssert(
      fc.property(anyValue, (value) => {
        const parsed = parseStrongerButton(value);
        if (parsed !== undefined) {
          expect(parsed.incidentId).toMatch(/^[a-z0-9][a-z0-9-]{2,63}$/);
          expect(parsed.strategy).toMatch(/^[a-z-]{1,40}$/);
        }
        const id = parseIncidentButton(value);
        if (id !== undefined) expect(id).toMatch(/^[a-z0-9][a-z0-9-]{2,63}$/);
      }),
      fuzzOptions(SEED + 1),
    );
  });

  it('restore buttons (parseRestoreButton, parseSourceButton)', async () => {
    await fuzzAssert(
      fc.property(anyValue, (value) => {
        const restore = parseRestoreButton(value);
        if (restore !== undefined) {
          expect(typeof restore.incidentId === 'string' && typeof restore.planId === 'string').toBe(true);
          expect(Number.isSafeInteger(restore.n) && restore.n >= 0).toBe(true);
        }
        const source = parseSourceButton(value);
        if (source !== undefined) expect(Number.isSafeInteger(source.index) && source.index >= 0).toBe(true);
      }),
      fuzzOptions(SEED + 2),
    );
  });

  it('the values the bot writes still decode (the mutations start from real values)', () => {
    expect(parseButtonValue(JSON.stringify(approval))).toEqual(approval);
    expect(parseStrongerButton(JSON.stringify(stronger))).toEqual(stronger);
  });
});
