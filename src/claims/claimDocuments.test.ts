/**
 * The stored shapes of claim documents: the Claim out of a $submit body (Claim or PAS Bundle, bad
 * bodies named), the insurer's copy and back (parseClaim reads the round trip as the original),
 * the dispute facts on the EOB, and the payer's held lines rebuilt from its Claim and ClaimResponse.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Claim, ExplanationOfBenefit } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { fhirClaim, PATIENT, PROVIDER } from '../../test/support/claims.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import {
  CLAIM_ID_SYSTEM,
  claimIdOf,
  claimOfSubmitBody,
  disputeExtension,
  disputeFactsOf,
  documentId,
  insurerClaimCopy,
  priorLinesOf,
  submittedClaimOf,
} from './claimDocuments.js';
import { buildClaimResponse } from './claimResponse.js';
import { ClaimMalformedError } from './claimsError.js';
import { parseClaim } from './fhirClaim.js';
import type { Decision } from './model.js';

loadFhirDefinitions();
const CLAIM_ID = `0x${'c1'.repeat(32)}` as Hex;
const SALT = `0x${'5a'.repeat(32)}` as Hex;

describe('claimOfSubmitBody', () => {
  test('a Claim, or the one Claim of a Bundle', () => {
    const c = fhirClaim();
    assert.equal(claimOfSubmitBody(c), c);
    assert.equal(
      claimOfSubmitBody({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'Patient' } }, { resource: c }],
      }),
      c,
    );
  });
  for (const [name, body] of [
    ['null', null],
    ['an array', []],
    ['a Patient', { resourceType: 'Patient' }],
    ['a Bundle without entries', { resourceType: 'Bundle' }],
    [
      'a Bundle of two Claims',
      { resourceType: 'Bundle', entry: [{ resource: fhirClaim() }, { resource: fhirClaim() }] },
    ],
  ] as const)
    test(`refuses ${name}`, () => assert.throws(() => claimOfSubmitBody(body), ClaimMalformedError));
});

describe('the insurer’s copy', () => {
  test('carries the claim id, its own Patient and Coverage, absolute references to the provider, and parses back as sent', () => {
    const sent = fhirClaim();
    const copy = insurerClaimCopy(sent, {
      claimId: CLAIM_ID,
      provider: PROVIDER,
      patientId: 'p-9',
      patient: PATIENT,
      coverageId: 'cov-ins',
    });
    assert.equal(copy.id, documentId(CLAIM_ID));
    assert.equal(claimIdOf(copy), CLAIM_ID);
    assert.equal(copy.patient.reference, 'Patient/p-9');
    assert.equal(copy.insurance[0]?.coverage.reference, 'Coverage/cov-ins');
    assert.equal(
      copy.item?.[0]?.encounter?.[0]?.reference,
      `urn:medchain:member:${PROVIDER}/Encounter/enc-1`,
    );
    const back = parseClaim(submittedClaimOf(copy, PROVIDER));
    assert.deepEqual(back, parseClaim(sent), 'the provider’s own Claim id comes back too');
  });
});

describe('dispute facts', () => {
  test('round trip, and absent or malformed facts are none', () => {
    const eob = {
      resourceType: 'ExplanationOfBenefit',
      extension: [disputeExtension(CLAIM_ID, SALT)],
    } as ExplanationOfBenefit;
    assert.deepEqual(disputeFactsOf(eob), { claimId: CLAIM_ID, salt: SALT });
    assert.equal(disputeFactsOf({ resourceType: 'ExplanationOfBenefit' } as ExplanationOfBenefit), undefined);
    const bad = structuredClone(eob);
    (bad.extension?.[0]?.extension?.[1] as { valueString: string }).valueString = '0x12';
    assert.equal(disputeFactsOf(bad), undefined);
  });
});

describe('priorLinesOf', () => {
  const claim: Claim = { ...fhirClaim(), identifier: [{ system: CLAIM_ID_SYSTEM, value: CLAIM_ID }] };
  const line = (sequence: number, status: 'approved' | 'denied' | 'pended') => ({
    sequence,
    status,
    findings:
      status === 'approved'
        ? []
        : [{ rule: 'x', carc: status === 'denied' ? '18' : '252', effect: status, text: 't' } as const],
    submitted: 100,
    benefit: status === 'approved' ? 100 : 0,
  });
  const decided = (a: 'approved' | 'denied' | 'pended', b: 'approved' | 'denied' | 'pended'): Decision => ({
    kind: 'adjudicated',
    state: 'approved',
    lines: [line(1, a), line(2, b)],
    fraudFlags: 0,
    submitted: 200,
    benefit: 0,
    tables: [],
  });
  const opts = { id: 'r', created: '2026-03-10T12:00:00Z' };
  test('approved and pended lines are held, denied ones are not', () => {
    const held = priorLinesOf(claim, buildClaimResponse(claim, decided('approved', 'pended'), opts));
    assert.deepEqual(
      held.map((l) => [l.sequence, l.code, l.modifiers, l.quantity, l.net, l.servicedDate]),
      [
        [1, 'Z1001', [], 1, 10_000, '2026-03-02'],
        [2, 'Z1003', ['59'], 2, 2_500, '2026-03-02'],
      ],
    );
    assert.equal(held[0]?.patient, PATIENT);
    assert.equal(held[0]?.provider, PROVIDER);
    assert.deepEqual(
      priorLinesOf(claim, buildClaimResponse(claim, decided('denied', 'approved'), opts)).map(
        (l) => l.sequence,
      ),
      [2],
    );
  });
  test('a rejected claim holds nothing', () => {
    const rejected: Decision = { kind: 'rejected', carc: '27', text: 'lapsed' };
    assert.deepEqual(priorLinesOf(claim, buildClaimResponse(claim, rejected, opts)), []);
  });
});
