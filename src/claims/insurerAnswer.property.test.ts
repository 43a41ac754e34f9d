/**
 * The insurer's stored documents are kept as validated without the R4 validator (src/fhir/validate.ts
 * `built`), so their builders must make valid R4 from every Claim medchain accepts and every
 * decision: open-ended claims (lines, codes, modifiers, units, amounts, dates, diagnoses,
 * encounters, insurances) under open-ended contexts (coverage, history, evidence, cross-payer
 * hits), each ClaimResponse and ExplanationOfBenefit validated in full as the record service
 * validates an incoming resource. And `built` itself: validated in full under the test runner,
 * not validated again outside it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Claim, ClaimItem } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { fhirClaim, PATIENT, PAYER, PROVIDER, providerLog } from '../../test/support/claims.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { built, revise, validateIncoming } from '../fhir/validate.js';
import { adjudicate } from './adjudicate.js';
import { insurerClaimCopy } from './claimDocuments.js';
import { parseValidClaim } from './fhirClaim.js';
import { insurerAnswer } from './insurerAnswer.js';
import type { AdjudicationContext, PriorLine } from './model.js';
import { loadEditTables } from './tableFiles.js';

before(() => loadFhirDefinitions());
const tables = loadEditTables();
const CLAIM_ID = `0x${'ab'.repeat(32)}` as const;
const SALT = `0x${'cd'.repeat(32)}` as const;

const itemShape = fc.record({
  code: fc.constantFrom('Z1001', 'Z1002', 'Z1003', 'Z1020', 'Z1030', 'A0428', 'G0008'),
  system: fc.constantFrom('urn:medchain:procedure', 'https://bluebutton.cms.gov/resources/codesystem/hcpcs'),
  modifiers: fc.uniqueArray(fc.constantFrom('59', '76', '91', 'XE', 'LT', '25'), { maxLength: 4 }),
  quantity: fc.integer({ min: 1, max: 9 }),
  cents: fc.integer({ min: 1, max: 5_000_000 }),
  day: fc.integer({ min: 1, max: 28 }),
  encounters: fc.constantFrom([] as string[], ['enc-1'], ['enc-1', 'enc-2'], ['enc-9']),
  pointers: fc.boolean(),
});

/** A Claim `parseValidClaim` accepts, of 1..6 lines, with or without diagnoses and a second insurance. */
const fhirClaims = fc
  .record({
    items: fc.array(itemShape, { minLength: 1, maxLength: 6 }),
    diagnoses: fc.integer({ min: 0, max: 3 }),
    institutional: fc.boolean(),
    secondInsurance: fc.boolean(),
  })
  .map(({ items, diagnoses, institutional, secondInsurance }): Claim => {
    const item: ClaimItem[] = items.map((it, i) => ({
      sequence: i + 1,
      productOrService: { coding: [{ system: it.system, code: it.code }] },
      ...(it.modifiers.length > 0 ? { modifier: it.modifiers.map((code) => ({ coding: [{ code }] })) } : {}),
      servicedDate: `2026-03-${String(it.day).padStart(2, '0')}`,
      quantity: { value: it.quantity },
      unitPrice: { value: it.cents / 100, currency: 'USD' },
      net: { value: (it.cents * it.quantity) / 100, currency: 'USD' },
      ...(it.pointers && diagnoses > 0 ? { diagnosisSequence: [1] } : {}),
      ...(it.encounters.length > 0
        ? { encounter: it.encounters.map((e) => ({ reference: `Encounter/${e}` })) }
        : {}),
    }));
    const total = items.reduce((n, it) => n + it.cents * it.quantity, 0);
    // The shared fixture's Claim (patient, provider, insurer, dates), its lines and the rest drawn.
    const { diagnosis: _d, item: _i, total: _t, ...base } = fhirClaim();
    return {
      ...base,
      type: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/claim-type',
            code: institutional ? 'institutional' : 'professional',
          },
        ],
      },
      insurance: [
        { sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-1' } },
        ...(secondInsurance
          ? [{ sequence: 2, focal: false, coverage: { reference: 'Coverage/cov-2' } }]
          : []),
      ],
      ...(diagnoses > 0
        ? {
            diagnosis: Array.from({ length: diagnoses }, (_, i) => ({
              sequence: i + 1,
              diagnosisCodeableConcept: {
                coding: [
                  { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: ['R51.9', 'J06.9', 'M54.5'][i] },
                ],
              },
            })),
          }
        : {}),
      item,
      total: { value: total / 100, currency: 'USD' },
    };
  });

/** Coverage none, active or lapsed; evidence or not; some history and cross-payer hits. */
const contexts = fc.record({
  coverage: fc.constantFrom('none', 'active', 'lapsed'),
  evidence: fc.boolean(),
  repeatFirstLine: fc.boolean(),
  cross: fc.boolean(),
});

describe('the insurer’s stored documents are valid R4 for every accepted Claim and decision', () => {
  test('ClaimResponse (both) and ExplanationOfBenefit validate in full', () => {
    fc.assert(
      fc.property(fhirClaims, contexts, (body, c) => {
        const { claim, fhir: submitted } = parseValidClaim(structuredClone(body));
        const first = claim.lines[0];
        const history: PriorLine[] =
          c.repeatFirstLine && first
            ? [
                {
                  claimId: 'older',
                  sequence: 1,
                  patient: claim.patient,
                  provider: claim.provider,
                  servicedDate: first.servicedDate,
                  code: first.code,
                  modifiers: first.modifiers,
                  quantity: first.quantity,
                  net: first.net,
                },
              ]
            : [];
        const ctx: AdjudicationContext = {
          coverage:
            c.coverage === 'none'
              ? undefined
              : c.coverage === 'active'
                ? { status: 'active', start: '2026-01-01', payer: PAYER }
                : { status: 'active', start: '2025-01-01', end: '2025-12-31', payer: PAYER },
          history,
          evidence: providerLog(c.evidence ? ['enc-1', 'enc-2'] : []).evidence,
          crossPayerDuplicates: new Set(c.cross ? [1] : []),
        };
        const decision = adjudicate(claim, ctx, tables);
        const copy = revise(
          submitted,
          insurerClaimCopy(submitted, {
            claimId: CLAIM_ID,
            provider: PROVIDER,
            patientId: 'pat-1',
            patient: PATIENT,
            coverageId: 'cov-9',
          }),
        );
        const docs = insurerAnswer(submitted, copy, decision, {
          id: 'doc-1',
          created: '2026-03-10T12:00:05.000Z',
          claimId: CLAIM_ID,
          patient: PATIENT,
          patientId: 'pat-1',
          salt: SALT,
        });
        // As the record service validates what enters it (structure, required bindings, real dates).
        for (const [doc, type] of [
          [docs.ownResponse, 'ClaimResponse'],
          [docs.eob, 'ExplanationOfBenefit'],
          [docs.answer, 'ClaimResponse'],
        ] as const) {
          try {
            validateIncoming(structuredClone(doc), type);
          } catch (err) {
            const issues = (err as { issues?: unknown }).issues;
            assert.fail(
              `${type} (${decision.kind}): ${(err as Error).message} ${JSON.stringify(issues ?? '')}`,
            );
          }
        }
        assert.equal(docs.eob.item?.length, claim.lines.length);
      }),
      { numRuns: 150 },
    );
  });
});

describe('built', () => {
  const invalid = { resourceType: 'ClaimResponse', status: 'not-a-status' } as never;

  test('under the test runner it validates in full: an invalid built resource is refused', () => {
    assert.ok(process.env.NODE_TEST_CONTEXT, 'this test runs under node --test');
    assert.throws(() => built(invalid, 'ClaimResponse'), /not valid FHIR R4/);
  });

  test('outside it, the resource is kept as validated without the validator (only its type checked)', () => {
    const module = fileURLToPath(new URL('../fhir/validate.ts', import.meta.url));
    const script = `
      const { built, isValidated } = await import(${JSON.stringify(module)});
      const r = built({ resourceType: 'ClaimResponse', status: 'not-a-status' }, 'ClaimResponse');
      let wrongType = 'accepted';
      try { built({ resourceType: 'Claim' }, 'ClaimResponse'); } catch { wrongType = 'refused'; }
      console.log(JSON.stringify({ kept: isValidated(r), frozen: Object.isFrozen(r), wrongType }));`;
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.MEDCHAIN_CHECK_BUILT;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `the child failed: ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() as string), {
      kept: true,
      frozen: true,
      wrongType: 'refused',
    });
  });
});
