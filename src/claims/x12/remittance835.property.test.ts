/**
 * Property: for random payment runs of claims adjudicated by the real rule engine (duplicates,
 * pairs, unit limits, missing evidence all happen), with random patient shares on approved lines,
 * the written 835 parses with node-x12, reconciles, and reads back the adjudicated amounts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { claim, line, PATIENT, PROVIDER } from '../../../test/support/claims.js';
import { adjudicated, adjudicationContext, paymentRun } from '../../../test/support/remittance.js';
import type { PriorLine } from '../model.js';
import { loadEditTables } from '../tableFiles.js';
import { type Adjustment835, type Claim835, read835 } from './read835.js';
import {
  isRemittable,
  type PatientShare,
  type RemittanceClaim,
  writeRemittance835,
} from './remittance835.js';

const tables = loadEditTables();
const CODES = ['Z1001', 'Z1002', 'Z1003', 'Z1004', 'Z1006', 'Z1020', 'Z1021', 'Z1022', 'Z1030'];
const MODIFIERS = ['59', '76', '91', 'XE', '25', 'LT'];

const lineShape = fc.record({
  code: fc.constantFrom(...CODES),
  modifiers: fc.uniqueArray(fc.constantFrom(...MODIFIERS), { maxLength: 4 }),
  quantity: fc.integer({ min: 1, max: 6 }),
  unitPrice: fc.integer({ min: 1, max: 500_000 }),
  servicedDate: fc.constantFrom('2026-03-02', '2026-03-03'),
  encounters: fc.constantFrom(['enc-1'], ['enc-2'], ['enc-1'], ['enc-9']),
});

const claimShape = fc.record({
  lines: fc.array(lineShape, { minLength: 1, maxLength: 6 }),
  history: fc.array(lineShape, { maxLength: 3 }),
  shares: fc.array(
    fc.record({ carc: fc.constantFrom('1', '2', '3'), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
    {
      maxLength: 6,
    },
  ),
});

test('random adjudicated runs: the 835 parses, reconciles and reads back the adjudication', () => {
  fc.assert(
    fc.property(
      fc.array(claimShape, { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 1, max: 999_999_999 }),
      (shapes, control) => {
        const all: RemittanceClaim[] = shapes.map((s, i) => {
          const c = claim(
            s.lines.map((l, j) => line(j + 1, l)),
            { id: `claim-${i + 1}` },
          );
          const history: PriorLine[] = s.history.map((h, j) => ({
            ...line(j + 1, h),
            claimId: 'claim-0',
            patient: PATIENT,
            provider: PROVIDER,
          }));
          const rc = adjudicated(c, tables, adjudicationContext({ history }));
          const shares = new Map<number, PatientShare>();
          for (const [j, l] of rc.adjudication.lines.entries()) {
            const sh = s.shares[j];
            if (sh && l.status === 'approved')
              shares.set(l.sequence, { carc: sh.carc, cents: Math.floor(l.benefit * sh.fraction) });
          }
          return { ...rc, patientShare: shares };
        });
        const claims = all.filter((c) => isRemittable(c.adjudication));
        fc.pre(claims.length > 0);
        const text = writeRemittance835(paymentRun(claims, { controlNumber: control }));
        const { remittance, problems } = read835(text);
        assert.deepEqual(problems, []);
        assert.ok(remittance);
        const share = (rc: RemittanceClaim) =>
          [...(rc.patientShare?.values() ?? [])].reduce((n, s) => n + s.cents, 0);
        const expectedTotal = claims.reduce((n, rc) => n + rc.adjudication.benefit - share(rc), 0);
        assert.equal(remittance.payment.cents, expectedTotal);
        assert.equal(remittance.payment.handling, expectedTotal > 0 ? 'I' : 'H');
        assert.equal(remittance.claims.length, claims.length);
        for (const [i, rc] of claims.entries()) {
          const got: Claim835 | undefined = remittance.claims[i];
          assert.ok(got);
          assert.equal(got.id, rc.claim.id);
          assert.equal(got.status, rc.adjudication.state === 'denied' ? '4' : '1');
          assert.equal(got.charge, rc.adjudication.submitted);
          assert.equal(got.paid, rc.adjudication.benefit - share(rc));
          assert.equal(got.patientResponsibility, share(rc));
          assert.deepEqual(
            got.lines.map((l) => [Number(l.lineControl), l.code, l.modifiers, l.units]),
            rc.claim.lines.map((l) => [l.sequence, l.code, l.modifiers, l.quantity]),
          );
          for (const [j, adj] of rc.adjudication.lines.entries()) {
            const cas: Adjustment835[] = got.lines[j]?.adjustments ?? [];
            if (adj.status === 'denied') {
              assert.deepEqual(cas, [
                {
                  group: 'CO',
                  reason: adj.findings.find((f) => f.effect === 'denied')?.carc,
                  cents: adj.submitted,
                },
              ]);
            } else {
              assert.ok(cas.every((a) => a.group === 'PR'));
            }
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});
