/**
 * Properties of the rule engine over open-ended claims: the array order of lines and history never
 * matters, a repeat modifier never yields CARC 18, and the claim's state, flags and amounts always
 * follow from its lines.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { claim, line, PATIENT, PAYER, PROVIDER, providerLog } from '../../test/support/claims.js';
import { adjudicate } from './adjudicate.js';
import { CARC } from './carc.js';
import { REPEAT_MODIFIERS } from './codes.js';
import type { AdjudicationContext, ClaimLine, PriorLine } from './model.js';
import { FRAUD } from './model.js';
import { loadEditTables } from './tableFiles.js';

const tables = loadEditTables();
const evidence = providerLog(['enc-1']).evidence;
const CODES = ['Z1001', 'Z1002', 'Z1003', 'Z1004', 'Z1005', 'Z1006', 'Z1020', 'Z1021', 'Z1022', 'Z1030'];
const MODIFIERS = ['59', '76', '77', '91', 'XE', 'XU', '25', 'LT'];

const lineShape = fc.record({
  code: fc.constantFrom(...CODES),
  modifiers: fc.uniqueArray(fc.constantFrom(...MODIFIERS), { maxLength: 3 }),
  quantity: fc.integer({ min: 1, max: 6 }),
  unitPrice: fc.constantFrom(1_000, 2_500, 10_000),
  servicedDate: fc.constantFrom('2026-03-02', '2026-03-03'),
  encounters: fc.constantFrom(['enc-1'], ['enc-9'], [] as string[]),
});

/**
 * A claim of 1..8 lines with unique sequences and a history, both drawn from a small pool of line
 * shapes (so exact duplicates, same-day pairs and unit sums happen often), and cross-payer hits.
 */
const scenario = fc
  .record({
    pool: fc.array(lineShape, { minLength: 1, maxLength: 4 }),
    picks: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
    historyPicks: fc.array(fc.nat(), { maxLength: 6 }),
    cross: fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 2 }),
  })
  .map(({ pool, picks, historyPicks, cross }) => ({
    lines: picks.map((p) => pool[p % pool.length] as (typeof pool)[number]),
    history: historyPicks.map((p) => pool[p % pool.length] as (typeof pool)[number]),
    cross,
  }))
  .map(({ lines, history, cross }) => {
    const claimLines: ClaimLine[] = lines.map((l, i) => line(i + 1, l));
    const prior: PriorLine[] = history.map((h, i) => ({
      ...line(i + 1, h),
      claimId: 'claim-0',
      patient: PATIENT,
      provider: PROVIDER,
    }));
    const ctx: AdjudicationContext = {
      coverage: { status: 'active', start: '2026-01-01', payer: PAYER },
      history: prior,
      evidence,
      crossPayerDuplicates: new Set(cross),
    };
    return { claimLines, ctx };
  });

/** A permutation of `xs` chosen by fast-check. */
const shuffled = <T>(xs: readonly T[], keys: readonly number[]) =>
  xs
    .map((x, i) => ({ x, k: keys[i % Math.max(keys.length, 1)] ?? 0, i }))
    .sort((a, b) => a.k - b.k || b.i - a.i)
    .map((e) => e.x);

describe('adjudication properties', () => {
  test('independent of the order of the lines and of the history', () => {
    fc.assert(
      fc.property(
        scenario,
        fc.array(fc.nat(), { minLength: 1, maxLength: 16 }),
        ({ claimLines, ctx }, keys) => {
          const a = adjudicate(claim(claimLines), ctx, tables);
          const b = adjudicate(
            claim(shuffled(claimLines, keys)),
            { ...ctx, history: shuffled(ctx.history, [...keys].reverse()) },
            tables,
          );
          assert.deepEqual(b, a);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a line with a repeat modifier (76, 77, 91) never gets CARC 18', () => {
    fc.assert(
      fc.property(scenario, ({ claimLines, ctx }) => {
        const d = adjudicate(claim(claimLines), ctx, tables);
        if (d.kind !== 'adjudicated') return;
        for (const l of d.lines) {
          const billed = claimLines.find((c) => c.sequence === l.sequence) as ClaimLine;
          if (billed.modifiers.some((m) => REPEAT_MODIFIERS.has(m))) {
            assert.ok(!l.findings.some((f) => f.carc === CARC.duplicate), `line ${l.sequence}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test('state, flags and amounts follow from the lines', () => {
    fc.assert(
      fc.property(scenario, ({ claimLines, ctx }) => {
        const d = adjudicate(claim(claimLines), ctx, tables);
        assert.equal(d.kind, 'adjudicated');
        if (d.kind !== 'adjudicated') return;
        assert.equal(d.lines.length, claimLines.length);
        const statuses = d.lines.map((l) => l.status);
        const expected = statuses.includes('pended')
          ? 'pended'
          : statuses.every((s) => s === 'denied')
            ? 'denied'
            : 'approved';
        assert.equal(d.state, expected);
        let flags = 0;
        for (const l of d.lines) {
          for (const f of l.findings) if (f.flag) flags |= FRAUD[f.flag];
          assert.equal(l.status === 'approved', l.findings.length === 0);
          assert.equal(
            l.status === 'denied',
            l.findings.some((f) => f.effect === 'denied'),
          );
          assert.equal(l.benefit, l.status === 'approved' ? l.submitted : 0);
        }
        assert.equal(d.fraudFlags, flags);
        assert.equal(
          d.benefit,
          d.lines.reduce((n, l) => n + l.benefit, 0),
        );
        assert.ok(d.benefit <= d.submitted);
      }),
      { numRuns: 300 },
    );
  });
});
