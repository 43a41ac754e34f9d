/**
 * ClaimResponse and ExplanationOfBenefit from real adjudications of a FHIR Claim: valid R4 (the
 * @medplum/core validator), item adjudication with CARC reasons, outcomes per claim state.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { validateResource } from '@medplum/core';
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import { fhirClaim, PAYER, providerLog } from '../../test/support/claims.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { adjudicate } from './adjudicate.js';
import { CARC_SYSTEM } from './carc.js';
import { buildClaimResponse, buildExplanationOfBenefit } from './claimResponse.js';
import { parseClaim } from './fhirClaim.js';
import type { AdjudicationContext } from './model.js';
import { loadEditTables } from './tableFiles.js';

before(() => loadFhirDefinitions());
const tables = loadEditTables();
const ctx = (over: Partial<AdjudicationContext> = {}): AdjudicationContext => ({
  coverage: { status: 'active', start: '2026-01-01', payer: PAYER },
  history: [],
  evidence: providerLog(['enc-1']).evidence,
  crossPayerDuplicates: new Set(),
  ...over,
});
const opts = { id: 'cr-1', created: '2026-03-10T12:00:05Z' };

function answer(claim: Claim, c: AdjudicationContext) {
  const decision = adjudicate(parseClaim(claim), c, tables);
  const response = buildClaimResponse(claim, decision, opts);
  const eob = buildExplanationOfBenefit(claim, decision, { ...opts, id: 'eob-1', claimResponseId: 'cr-1' });
  validateResource(response);
  validateResource(eob);
  return { decision, response, eob };
}

const reasons = (r: ClaimResponse) =>
  (r.item ?? []).map((i) =>
    (i.adjudication ?? [])
      .filter((a) => a.reason)
      .map(
        (a) =>
          `${a.reason?.coding?.[0]?.system === CARC_SYSTEM ? 'CARC' : '?'} ${a.reason?.coding?.[0]?.code}`,
      ),
  );

describe('ClaimResponse and ExplanationOfBenefit', () => {
  test('a clean claim: complete, both lines paid in full, valid R4', () => {
    const { response, eob } = answer(fhirClaim(), ctx());
    assert.equal(response.outcome, 'complete');
    assert.deepEqual(reasons(response), [[], []]);
    const benefit = response.total?.find((t) => t.category.coding?.[0]?.code === 'benefit');
    assert.deepEqual(benefit?.amount, { value: 125, currency: 'USD' });
    assert.equal(eob.outcome, 'complete');
    assert.equal(eob.item?.length, 2);
    assert.equal(eob.claimResponse?.reference, 'ClaimResponse/cr-1');
    assert.equal(eob.insurance?.[0]?.coverage.reference, 'Coverage/cov-1');
  });

  test('an unbundled line: denied with CARC 236 under denialreason, benefit 0 for it', () => {
    const claim = fhirClaim();
    delete claim.item?.[1]?.modifier; // Z1003 with Z1001, indicator 1, no distinct-service modifier
    const { response, eob } = answer(claim, ctx());
    assert.equal(response.outcome, 'complete');
    assert.deepEqual(reasons(response), [[], ['CARC 236']]);
    const denied = response.item?.[1]?.adjudication?.find((a) => a.reason);
    assert.equal(denied?.category.coding?.[0]?.code, 'denialreason');
    assert.deepEqual(
      response.item?.[1]?.adjudication?.find((a) => a.category.coding?.[0]?.code === 'benefit')?.amount,
      { value: 0, currency: 'USD' },
    );
    assert.deepEqual(
      eob.item?.[1]?.adjudication?.filter((a) => a.reason).map((a) => a.reason?.coding?.[0]?.code),
      ['236'],
    );
  });

  test('no evidence of service: partial (pended) with CARC 252', () => {
    const { response } = answer(fhirClaim(), ctx({ evidence: new Map() }));
    assert.equal(response.outcome, 'partial');
    assert.deepEqual(reasons(response), [['CARC 252'], ['CARC 252']]);
  });

  test('coverage ended: error with the CARC as the error code, no items', () => {
    const { response, eob } = answer(
      fhirClaim(),
      ctx({ coverage: { status: 'active', end: '2026-02-28', payer: PAYER } }),
    );
    assert.equal(response.outcome, 'error');
    assert.equal(response.item, undefined);
    assert.deepEqual(response.error?.[0]?.code.coding?.[0], { system: CARC_SYSTEM, code: '27' });
    assert.equal(eob.outcome, 'error');
  });

  test('neither resource carries fraud flags', () => {
    const { decision, response, eob } = answer(fhirClaim(), ctx({ crossPayerDuplicates: new Set([1]) }));
    assert.ok(decision.kind === 'adjudicated' && decision.fraudFlags !== 0);
    assert.doesNotMatch(JSON.stringify([response, eob]), /fraud|flag/i);
  });
});
