/**
 * Reading a decision back from the documents claimResponse.ts writes: per line status, amounts and
 * reasons; the evidence-of-service finding (CARC 252 pended = no evidence; rejected before
 * adjudication = not checked); fraud flag names of the chain's bits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Claim } from '@medplum/fhirtypes';
import { buildExplanationOfBenefit } from './claimResponse.js';
import { eobSummary, evidenceFinding, fraudFlagNames, lineDecision } from './claimSummary.js';
import { type Adjudication, type Decision, FRAUD } from './model.js';

const item = (sequence: number, date: string) => ({
  sequence,
  productOrService: { coding: [{ system: 'urn:medchain:procedure', code: `Z10${sequence}0` }] },
  servicedDate: date,
  quantity: { value: 1 },
  unitPrice: { value: 100, currency: 'USD' },
  net: { value: 100, currency: 'USD' },
});
const claim = {
  resourceType: 'Claim',
  id: 'c-1',
  provider: {
    identifier: { system: 'urn:medchain:member', value: '0x2222222222222222222222222222222222222222' },
  },
  item: [item(1, '2026-03-03'), item(2, '2026-03-02')],
} as unknown as Claim;
const opts = { id: 'e-1', created: '2026-03-10T12:00:00Z', claimResponseId: 'e-1' };

const adjudicated = (lines: Adjudication['lines']): Adjudication => ({
  kind: 'adjudicated',
  state: lines.some((l) => l.status === 'pended') ? 'pended' : 'approved',
  lines,
  fraudFlags: 0,
  submitted: 20_000,
  benefit: lines.reduce((n, l) => n + l.benefit, 0),
  tables: [],
});

describe('eobSummary', () => {
  test('an approved claim: vouched, paid amounts, earliest date, provider', () => {
    const d = adjudicated([
      { sequence: 1, status: 'approved', findings: [], submitted: 10_000, benefit: 10_000 },
      { sequence: 2, status: 'approved', findings: [], submitted: 10_000, benefit: 10_000 },
    ]);
    const s = eobSummary(buildExplanationOfBenefit(claim, d, opts));
    assert.equal(s.evidence, 'vouched');
    assert.equal(s.servicedDate, '2026-03-02');
    assert.equal(s.billedCents, 20_000);
    assert.equal(s.paidCents, 20_000);
    assert.equal(s.provider, '0x2222222222222222222222222222222222222222');
    assert.deepEqual(
      s.lines.map((l) => [l.code, l.status]),
      [
        ['Z1010', 'approved'],
        ['Z1020', 'approved'],
      ],
    );
  });
  test('a line pended CARC 252 means no evidence of the visit', () => {
    const d = adjudicated([
      { sequence: 1, status: 'approved', findings: [], submitted: 10_000, benefit: 10_000 },
      {
        sequence: 2,
        status: 'pended',
        findings: [
          {
            rule: 'phantom',
            carc: '252',
            effect: 'pended',
            flag: 'noEvidenceOfService',
            text: 'no evidence',
          },
        ],
        submitted: 10_000,
        benefit: 0,
      },
    ]);
    const s = eobSummary(buildExplanationOfBenefit(claim, d, opts));
    assert.equal(s.evidence, 'no-evidence');
    assert.deepEqual(s.lines[1]?.reasons, [{ carc: '252', text: 'no evidence', effect: 'pended' }]);
    assert.equal(s.lines[1]?.status, 'pended');
  });
  test('another pended reason (CARC 22) is not an evidence finding', () => {
    const lines = [
      lineDecision(1, [
        {
          category: { coding: [{ system: 'urn:medchain:adjudication', code: 'pended' }] },
          reason: { coding: [{ system: 'https://x12.org/codes/claim-adjustment-reason-codes', code: '22' }] },
        },
      ]),
    ];
    assert.equal(lines[0]?.status, 'pended');
    assert.equal(evidenceFinding(true, lines), 'vouched');
  });
  test('a claim rejected before adjudication was never checked, and pays nothing', () => {
    const d: Decision = { kind: 'rejected', carc: '27', text: 'coverage ended' };
    const s = eobSummary(buildExplanationOfBenefit(claim, d, opts));
    assert.equal(s.evidence, 'not-checked');
    assert.equal(s.paidCents, 0);
    assert.equal(s.billedCents, 20_000);
  });
});

test('fraudFlagNames names each bit in bit order', () => {
  assert.deepEqual(fraudFlagNames(0), []);
  assert.deepEqual(fraudFlagNames(FRAUD.noEvidenceOfService | FRAUD.duplicate), [
    'duplicate',
    'noEvidenceOfService',
  ]);
  assert.deepEqual(fraudFlagNames(31).length, 5);
});
