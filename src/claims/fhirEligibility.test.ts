/** inForceOn at its bounds, and the response built for each finding is valid R4 (@medplum/core). */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { validateResource } from '@medplum/core';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { eligibilityResponse, inForceOn } from './fhirEligibility.js';
import type { CoverageFacts } from './model.js';

const PAYER = '0x3333333333333333333333333333333333333333' as const;
before(() => loadFhirDefinitions());

test('in force: active, from start to end inclusive', () => {
  const f = (over: Partial<CoverageFacts>): CoverageFacts => ({ status: 'active', payer: PAYER, ...over });
  const rows: [CoverageFacts, string, boolean][] = [
    [f({}), '2026-03-02', true],
    [f({ start: '2026-03-02' }), '2026-03-02', true],
    [f({ start: '2026-03-03' }), '2026-03-02', false],
    [f({ end: '2026-03-02' }), '2026-03-02', true],
    [f({ end: '2026-03-01' }), '2026-03-02', false],
    [f({ status: 'cancelled' }), '2026-03-02', false],
    [f({ status: 'draft', start: '2020-01-01' }), '2026-03-02', false],
  ];
  for (const [facts, date, want] of rows) assert.equal(inForceOn(facts, date), want, JSON.stringify(facts));
});

test('every finding gives a valid R4 CoverageEligibilityResponse', () => {
  const q = {
    patient: '0x1111111111111111111111111111111111111111' as const,
    insurer: PAYER,
    provider: undefined,
    purposes: ['validation' as const],
    servicedDate: '2026-03-02',
    requestId: 'r-1',
    memberNumber: 'M-1',
  };
  for (const finding of [
    { kind: 'covered' as const, facts: { status: 'active' as const, payer: PAYER } },
    { kind: 'no-match' as const },
  ]) {
    const r = eligibilityResponse(q, finding, new Date('2026-03-02T10:00:00Z'));
    validateResource(r);
    assert.equal(r.outcome, finding.kind === 'covered' ? 'complete' : 'error');
    assert.equal(r.request.identifier?.value, 'r-1');
  }
});
