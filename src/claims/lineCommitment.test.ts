/** Line commitments: equal lines commit equal, every field change differs, the key matters, bad input is refused. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { OTHER_PROVIDER, PATIENT, PAYER, PROVIDER } from '../../test/support/claims.js';
import { CommitmentKeyError } from './claimsError.js';
import { type CommittedLine, LINE_COMMITMENT_DOMAIN, lineCommitment } from './lineCommitment.js';

const key = new Uint8Array(32).fill(7);
const base: CommittedLine = {
  patient: PATIENT,
  provider: PROVIDER,
  servicedDate: '2026-03-02',
  code: 'Z1001',
  modifiers: ['59', '25'],
};

describe('line commitments', () => {
  test('equal lines commit equal: modifier order, duplicates and address case do not matter', () => {
    const c = lineCommitment(key, base);
    assert.match(c, /^0x[0-9a-f]{64}$/);
    assert.equal(lineCommitment(key, { ...base, modifiers: ['25', '59'] }), c);
    assert.equal(lineCommitment(key, { ...base, modifiers: ['25', '59', '25'] }), c);
    assert.equal(lineCommitment(key, { ...base, patient: PATIENT.toLowerCase() as never }), c);
  });

  const changes: [string, Partial<CommittedLine>][] = [
    ['patient', { patient: PAYER }],
    ['provider', { provider: OTHER_PROVIDER }],
    ['date of service', { servicedDate: '2026-03-03' }],
    ['code', { code: 'Z1002' }],
    ['a modifier more', { modifiers: ['59', '25', '76'] }],
    ['a modifier less', { modifiers: ['59'] }],
    ['no modifiers', { modifiers: [] }],
    ['a modifier changed', { modifiers: ['59', 'XU'] }],
  ];
  for (const [name, change] of changes) {
    test(`a change of ${name} gives another commitment`, () => {
      assert.notEqual(lineCommitment(key, { ...base, ...change }), lineCommitment(key, base));
    });
  }

  test('another key gives an unrelated commitment', () => {
    const other = new Uint8Array(32).fill(8);
    assert.notEqual(lineCommitment(other, base), lineCommitment(key, base));
  });

  test('never a plain hash of the fields', () => {
    const plain = `0x${createHash('sha256')
      .update(
        [LINE_COMMITMENT_DOMAIN, base.patient, base.provider, base.servicedDate, base.code, '25,59'].join(
          '|',
        ),
      )
      .digest('hex')}`;
    assert.notEqual(lineCommitment(key, base), plain);
  });

  test('distinct lines never collide (property)', () => {
    const lineArb = fc.record({
      servicedDate: fc.constantFrom('2026-03-02', '2026-03-03', '2026-04-01'),
      code: fc.constantFrom('Z1001', 'Z1002', 'J1100'),
      modifiers: fc.uniqueArray(fc.constantFrom('25', '59', '76', 'XU'), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(lineArb, lineArb, (a, b) => {
        const same =
          a.servicedDate === b.servicedDate &&
          a.code === b.code &&
          [...a.modifiers].sort().join() === [...b.modifiers].sort().join();
        const ca = lineCommitment(key, { ...base, ...a });
        const cb = lineCommitment(key, { ...base, ...b });
        assert.equal(ca === cb, same);
      }),
    );
  });

  const bad: [string, () => unknown][] = [
    ['a short key', () => lineCommitment(new Uint8Array(16), base)],
    ['a key that is not bytes', () => lineCommitment('secret' as never, base)],
    [
      'a patient that is not an address',
      () => lineCommitment(key, { ...base, patient: 'Jane Doe' as never }),
    ],
    ['a provider that is not an address', () => lineCommitment(key, { ...base, provider: '0x12' as never })],
    ['a date that is not YYYY-MM-DD', () => lineCommitment(key, { ...base, servicedDate: '03/02/2026' })],
    ['a code that is not a procedure code', () => lineCommitment(key, { ...base, code: 'office visit' })],
    ['a modifier that is not a modifier code', () => lineCommitment(key, { ...base, modifiers: ['5'] })],
  ];
  for (const [name, f] of bad) test(`refuses ${name}`, () => assert.throws(f, CommitmentKeyError));
});
