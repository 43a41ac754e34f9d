import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkCaseContents,
  type UnitRecord,
  type VerificationAnswer,
  type VerificationQuery,
  verify,
} from './verify.js';

const now = new Date('2026-06-01T12:00:00Z');
const manufacturer = 'member:manufacturer';
const distributor = 'member:distributor';
const pharmacy = 'member:pharmacy';
const other = 'member:other-pharmacy';
const unit: UnitRecord = {
  gtin: '09506000134352',
  serial: 'S1',
  lot: 'L1',
  expiry: '271231',
  status: 'active',
  lotRecalled: false,
  custodian: pharmacy,
};
const ask: VerificationQuery = {
  gtin: unit.gtin,
  serial: 'S1',
  lot: 'L1',
  expiry: '271231',
  requester: pharmacy,
};
const opts = { responderGLN: '9506000134369' };

type Row = [
  string,
  UnitRecord | undefined,
  Partial<VerificationQuery>,
  Partial<VerificationAnswer['data']> & { verified: boolean },
  boolean,
  string[],
];
const rows: Row[] = [
  ['genuine, in the hands of the asker', unit, {}, { verified: true }, true, []],
  [
    'genuine, asked by the member it is shipped to',
    { ...unit, custodian: distributor, shippedTo: pharmacy },
    {},
    { verified: true },
    true,
    [],
  ],
  ['only GTIN and serial asked', unit, { lot: undefined, expiry: undefined }, { verified: true }, true, []],
  [
    'serial never commissioned',
    undefined,
    {},
    { verified: false, verificationFailureReason: 'No_match_GTIN_Serial' },
    false,
    ['not-commissioned'],
  ],
  [
    'record of another serial',
    unit,
    { serial: 'S2' },
    { verified: false, verificationFailureReason: 'No_match_GTIN_Serial' },
    false,
    ['not-commissioned'],
  ],
  [
    'wrong lot',
    unit,
    { lot: 'L2' },
    { verified: false, verificationFailureReason: 'No_match_GTIN_Serial_Lot' },
    false,
    ['lot-mismatch'],
  ],
  [
    'wrong expiry',
    unit,
    { expiry: '271130' },
    { verified: false, verificationFailureReason: 'No_match_GTIN_Serial_Expiry' },
    false,
    ['expiry-mismatch'],
  ],
  [
    'wrong lot and expiry',
    unit,
    { lot: 'L2', expiry: '271130' },
    { verified: false, verificationFailureReason: 'No_match_GTIN_Serial_Lot_Expiry' },
    false,
    ['lot-mismatch', 'expiry-mismatch'],
  ],
  [
    'expired',
    { ...unit, expiry: '260531' },
    { expiry: '260531' },
    { verified: true, additionalInfo: 'Expired' },
    false,
    ['expired'],
  ],
  [
    'expires at the end of today: still good',
    { ...unit, expiry: '260601' },
    { expiry: '260601' },
    { verified: true },
    true,
    [],
  ],
  [
    'recalled lot',
    { ...unit, lotRecalled: true },
    {},
    { verified: true, additionalInfo: 'Recalled' },
    false,
    ['recalled'],
  ],
  [
    'unit recalled',
    { ...unit, status: 'recalled' },
    {},
    { verified: true, additionalInfo: 'Recalled' },
    false,
    ['recalled'],
  ],
  [
    'recalled and expired: Recalled first, both listed',
    { ...unit, lotRecalled: true, expiry: '260101' },
    { expiry: '260101' },
    { verified: true, additionalInfo: 'Recalled' },
    false,
    ['recalled', 'expired'],
  ],
  [
    'cloned serial: already dispensed',
    { ...unit, status: 'dispensed' },
    {},
    { verified: false, verificationFailureReason: 'Not_for_re-distribution', additionalInfo: 'Suspect' },
    false,
    ['already-dispensed'],
  ],
  [
    'destroyed unit scanned again',
    { ...unit, status: 'destroyed' },
    {},
    { verified: false, verificationFailureReason: 'Not_for_re-distribution', additionalInfo: 'Suspect' },
    false,
    ['destroyed'],
  ],
  [
    'cloned serial: scanned at two places (the genuine holder asks too)',
    { ...unit, recentScans: [{ by: other, at: now.getTime() - 3_600_000 }] },
    {},
    { verified: false, additionalInfo: 'Suspect' },
    false,
    ['seen-at-two-places'],
  ],
  [
    'a scan elsewhere long ago does not count',
    { ...unit, recentScans: [{ by: other, at: now.getTime() - 40 * 86_400_000 }] },
    {},
    { verified: true },
    true,
    [],
  ],
  [
    'scans by earlier holders in the chain are fine',
    { ...unit, recentScans: [{ by: pharmacy, at: now.getTime() - 1000 }] },
    {},
    { verified: true },
    true,
    [],
  ],
  [
    'diversion: asked by a member it was never shipped to',
    { ...unit, custodian: distributor },
    { requester: other },
    { verified: false, verificationFailureReason: 'Not_for_re-distribution', additionalInfo: 'Suspect' },
    false,
    ['not-shipped-to-requester'],
  ],
  [
    'suspect (quarantined)',
    { ...unit, status: 'suspect' },
    {},
    { verified: false, additionalInfo: 'Suspect' },
    false,
    ['suspect'],
  ],
  [
    'illegitimate outranks everything',
    { ...unit, status: 'illegitimate', lotRecalled: true },
    { requester: other },
    { verified: false, verificationFailureReason: 'Not_for_re-distribution', additionalInfo: 'Illegitimate' },
    false,
    ['illegitimate', 'not-shipped-to-requester', 'recalled'],
  ],
  [
    'manufacturer asking about its own unit still in stock',
    { ...unit, custodian: manufacturer },
    { requester: manufacturer },
    { verified: true },
    true,
    [],
  ],
];

describe('verify: the rule table', () => {
  for (const [what, record, change, data, saleable, findings] of rows) {
    test(what, () => {
      const a = verify(record, { ...ask, ...change }, now, opts);
      assert.equal(a.data.verified, data.verified);
      if ('verificationFailureReason' in data)
        assert.equal(a.data.verificationFailureReason, data.verificationFailureReason);
      else if (data.verified) assert.equal(a.data.verificationFailureReason, undefined);
      assert.equal(a.data.additionalInfo, data.additionalInfo);
      assert.equal(a.saleable, saleable);
      assert.deepEqual(a.findings, findings);
    });
  }
  test('the answer carries the responder, the time and the correlation id', () => {
    const a = verify(unit, { ...ask, corrUUID: 'c0ffee' }, now, opts);
    assert.equal(a.responderGLN, '9506000134369');
    assert.equal(a.verificationTimestamp, '2026-06-01T12:00:00.000Z');
    assert.equal(a.corrUUID, 'c0ffee');
  });
});

describe('checkCaseContents', () => {
  const packed = ['u1', 'u2', 'u3'];
  const table: [string, string[], Partial<ReturnType<typeof checkCaseContents>>][] = [
    [
      'exactly what was packed, in any order',
      ['u3', 'u1', 'u2'],
      { matches: true, missing: [], unexpected: [], duplicates: [] },
    ],
    ['one missing', ['u1', 'u3'], { matches: false, missing: ['u2'] }],
    [
      'one swapped for a unit of another case',
      ['u1', 'u2', 'x9'],
      { matches: false, missing: ['u3'], unexpected: ['x9'] },
    ],
    ['one extra', ['u1', 'u2', 'u3', 'x9'], { matches: false, unexpected: ['x9'] }],
    ['the same serial twice', ['u1', 'u2', 'u2', 'u3'], { matches: false, duplicates: ['u2'] }],
    ['empty case', [], { matches: false, missing: ['u1', 'u2', 'u3'] }],
  ];
  for (const [what, scanned, expected] of table) {
    test(what, () => {
      const r = checkCaseContents(packed, scanned);
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(r[k as keyof typeof r], v, k);
    });
  }
});
