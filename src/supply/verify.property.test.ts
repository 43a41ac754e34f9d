import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { gs1DateEnd } from './gs1.js';
import { type UnitRecord, type UnitStatus, type VerificationQuery, verify } from './verify.js';

const members = ['m:a', 'm:b', 'm:c', 'm:d'];
const member = fc.constantFrom(...members);
const statuses: UnitStatus[] = ['active', 'dispensed', 'recalled', 'suspect', 'illegitimate', 'destroyed'];
const now = new Date('2026-06-01T12:00:00Z');
const yymmdd = fc
  .tuple(fc.integer({ min: 24, max: 29 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
  .map(([y, m, d]) => [y, m, d].map((n) => String(n).padStart(2, '0')).join(''));
const unitArb: fc.Arbitrary<UnitRecord> = fc
  .record({
    gtin: fc.constantFrom('09506000134352', '09520123456788'),
    serial: fc.constantFrom('S1', 'S2'),
    lot: fc.constantFrom('L1', 'L2'),
    expiry: yymmdd,
    status: fc.constantFrom(...statuses),
    lotRecalled: fc.boolean(),
    custodian: member,
    shippedTo: fc.option(member, { nil: undefined }),
    recentScans: fc.array(
      fc.record({ by: member, at: fc.integer({ min: now.getTime() - 60 * 86_400_000, max: now.getTime() }) }),
      { maxLength: 3 },
    ),
  })
  .map((r) => ({ ...r }));
const queryArb: fc.Arbitrary<VerificationQuery> = fc
  .record({
    gtin: fc.constantFrom('09506000134352', '09520123456788'),
    serial: fc.constantFrom('S1', 'S2'),
    lot: fc.option(fc.constantFrom('L1', 'L2'), { nil: undefined }),
    expiry: fc.option(yymmdd, { nil: undefined }),
    requester: member,
  })
  .map((r) => ({ ...r }));

test('verified means GTIN, serial and every asked field match, and the unit is neither suspect nor illegitimate', () => {
  fc.assert(
    fc.property(fc.option(unitArb, { nil: undefined }), queryArb, (unit, q) => {
      const a = verify(unit, q, now, { responderGLN: '9506000134369' });
      if (!a.data.verified) return;
      assert.ok(unit);
      assert.equal(unit.gtin, q.gtin);
      assert.equal(unit.serial, q.serial);
      if (q.lot !== undefined) assert.equal(unit.lot, q.lot);
      if (q.expiry !== undefined) assert.equal(unit.expiry, q.expiry);
      assert.ok(unit.status === 'active' || unit.status === 'recalled', unit.status);
      assert.ok([unit.custodian, unit.shippedTo].includes(q.requester));
    }),
    { numRuns: 2000 },
  );
});

test('saleable means verified, not recalled, not expired, with no finding, in the hands of the asker', () => {
  fc.assert(
    fc.property(unitArb, queryArb, (unit, q) => {
      const a = verify(unit, q, now, { responderGLN: '9506000134369' });
      assert.equal(a.data.verified === false, a.data.verificationFailureReason !== undefined);
      if (!a.saleable) return;
      assert.ok(a.data.verified);
      assert.deepEqual(a.findings, []);
      assert.equal(a.data.additionalInfo, undefined);
      assert.equal(unit.status, 'active');
      assert.equal(unit.lotRecalled, false);
      assert.ok(now.getTime() < gs1DateEnd(unit.expiry, now));
    }),
    { numRuns: 2000 },
  );
});
