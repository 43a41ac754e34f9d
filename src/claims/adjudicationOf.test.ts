/**
 * The Adjudication rebuilt from a stored ClaimResponse (adjudicationOf.ts): adjudicate with the
 * real rules, build the ClaimResponse, rebuild, and the line amounts, statuses, CARCs and the 835
 * written from it are the same; unreadable responses are refused by name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import { claim, line, PATIENT, providerLog } from '../../test/support/claims.js';
import { adjudicated, adjudicationContext, paymentRun, RUN_PAYEE } from '../../test/support/remittance.js';
import { adjudicate } from './adjudicate.js';
import { adjudicationOf } from './adjudicationOf.js';
import { buildClaimResponse } from './claimResponse.js';
import { ClaimDocumentError } from './claimsError.js';
import type { Adjudication, AdjudicationContext, ClaimInput, ClaimLine, PriorLine } from './model.js';
import { loadEditTables } from './tableFiles.js';
import { writeRemittance835 } from './x12/remittance835.js';

const tables = loadEditTables();
const fhir = (c: ClaimInput) => ({ resourceType: 'Claim', id: c.id }) as Claim;
const responseOf = (c: ClaimInput, a: Adjudication): ClaimResponse =>
  buildClaimResponse(fhir(c), a, { id: 'r-1', created: '2026-03-10T12:00:00Z' });

const priorOf = (l: ClaimLine): PriorLine => ({
  claimId: 'claim-0',
  sequence: l.sequence,
  patient: PATIENT,
  provider: RUN_PAYEE.chainAddress,
  servicedDate: l.servicedDate,
  code: l.code,
  modifiers: l.modifiers,
  quantity: l.quantity,
  net: l.net,
});

/** What the 835 writer and the payment run use of an adjudication. */
const used = (a: Adjudication) => ({
  state: a.state,
  submitted: a.submitted,
  benefit: a.benefit,
  fraudFlags: a.fraudFlags,
  lines: a.lines.map((l) => ({
    sequence: l.sequence,
    status: l.status,
    submitted: l.submitted,
    benefit: l.benefit,
    findings: l.findings.map((f) => ({
      rule: f.rule,
      carc: f.carc,
      effect: f.effect,
      flag: f.flag,
      appealable: f.appealable ?? false,
      text: f.text,
    })),
  })),
});

const rows: { name: string; claim: ClaimInput; ctx?: AdjudicationContext; carcs: string[] }[] = [
  {
    name: 'clean, two lines',
    claim: claim([
      line(1),
      line(2, { code: 'Z1021', modifiers: ['59', 'LT'], quantity: 2, unitPrice: 2_500 }),
    ]),
    carcs: ['', ''],
  },
  {
    name: 'exact duplicate (CARC 18)',
    claim: claim([line(1)], { id: 'claim-dup' }),
    ctx: adjudicationContext({ history: [priorOf(line(1))] }),
    carcs: ['18'],
  },
  {
    name: 'units over the MUE on one line (CARC 151), the other paid',
    claim: claim([line(1, { code: 'Z1020', quantity: 5 }), line(2, { code: 'Z1030', unitPrice: 4_050 })]),
    carcs: ['151', ''],
  },
  {
    name: 'no evidence of service (pended, CARC 252)',
    claim: claim([line(1, { encounters: ['enc-9'] })]),
    ctx: adjudicationContext({ evidence: providerLog([]).evidence }),
    carcs: ['252'],
  },
  {
    name: 'across payers (pended, CARC 22)',
    claim: claim([line(1)]),
    ctx: adjudicationContext({ crossPayerDuplicates: new Set([1]) }),
    carcs: ['22'],
  },
  {
    name: 'duplicate and across payers on one line: both findings, in order',
    claim: claim([line(1)]),
    ctx: adjudicationContext({ history: [priorOf(line(1))], crossPayerDuplicates: new Set([1]) }),
    carcs: ['18,22'],
  },
];

describe('adjudication rebuilt from the stored ClaimResponse', () => {
  for (const r of rows) {
    test(`${r.name}: same amounts, statuses, CARCs and flags`, () => {
      const d = adjudicate(r.claim, r.ctx ?? adjudicationContext(), tables);
      assert.equal(d.kind, 'adjudicated');
      const a = d as Adjudication;
      assert.deepEqual(
        a.lines.map((l) => l.findings.map((f) => f.carc).join(',')),
        r.carcs,
        'the row adjudicates as it says',
      );
      const back = adjudicationOf(responseOf(r.claim, a), r.claim);
      assert.deepEqual(used(back), used(a));
    });
  }

  test('the 835 written from the rebuilt adjudication is the one written from the original', () => {
    for (const r of rows) {
      const rc = adjudicated(r.claim, tables, r.ctx ?? adjudicationContext());
      if (rc.adjudication.state === 'pended') continue; // not remitted
      const back = adjudicationOf(responseOf(r.claim, rc.adjudication), r.claim);
      assert.equal(
        writeRemittance835(paymentRun([{ ...rc, adjudication: back }])),
        writeRemittance835(paymentRun([rc])),
        r.name,
      );
    }
  });

  test('an MAI 3 finding stays appealable', () => {
    const c = claim([line(1, { code: 'Z1022', quantity: 2 }), line(2, { code: 'Z1022', quantity: 2 })]);
    const a = adjudicate(c, adjudicationContext(), tables) as Adjudication;
    const mai3 = a.lines.flatMap((l) => l.findings).filter((f) => f.appealable);
    assert.equal(mai3.length, 2, 'both lines of the code over the MAI 3 limit are appealable');
    const back = adjudicationOf(responseOf(c, a), c);
    assert.deepEqual(back.lines.flatMap((l) => l.findings).filter((f) => f.appealable).length, mai3.length);
  });

  const good = () => {
    const c = claim([line(1)]);
    return { c, r: responseOf(c, adjudicate(c, adjudicationContext(), tables) as Adjudication) };
  };
  for (const [name, spoil] of [
    ['a rejected claim (outcome error)', (r: ClaimResponse) => Object.assign(r, { outcome: 'error' })],
    ['no item for a line', (r: ClaimResponse) => Object.assign(r, { item: [] })],
    [
      'no benefit amount',
      (r: ClaimResponse) => {
        r.item?.[0]?.adjudication?.splice(1, 1);
      },
    ],
    [
      'a reason with no CARC',
      (r: ClaimResponse) => {
        r.item?.[0]?.adjudication?.push({
          category: {
            coding: [
              {
                system: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudicationDiscriminator',
                code: 'denialreason',
              },
            ],
          },
          reason: { text: 'no code' },
        });
      },
    ],
  ] as const) {
    test(`refuses ${name}`, () => {
      const { c, r } = good();
      spoil(r);
      assert.throws(() => adjudicationOf(r, c), ClaimDocumentError);
    });
  }
});
