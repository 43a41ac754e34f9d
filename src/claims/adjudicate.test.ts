/**
 * The rule table: one row per case of every claims rule (coverage, exact duplicate with the repeat
 * modifiers, cross-payer duplicate, PTP indicators 0/1/9 with each distinct-service modifier, MUE
 * MAI 1/2/3, evidence of service), each with the line statuses and CARC codes it must produce.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CLAIM_CREATED,
  claim,
  line,
  OTHER_PROVIDER,
  PATIENT,
  PAYER,
  PROVIDER,
  providerLog,
} from '../../test/support/claims.js';
import { adjudicate } from './adjudicate.js';
import type {
  AdjudicationContext,
  ClaimInput,
  ClaimLine,
  CoverageFacts,
  EncounterEvidence,
  PriorLine,
} from './model.js';
import { FRAUD } from './model.js';
import { loadEditTables } from './tableFiles.js';

const tables = loadEditTables();
const evidence = providerLog(['enc-1', 'enc-2']).evidence;
const COVERAGE: CoverageFacts = { status: 'active', start: '2026-01-01', end: '2026-12-31', payer: PAYER };

const ctx = (over: Partial<AdjudicationContext> = {}): AdjudicationContext => ({
  coverage: COVERAGE,
  history: [],
  evidence,
  crossPayerDuplicates: new Set(),
  ...over,
});

const prior = (l: ClaimLine, over: Partial<PriorLine> = {}): PriorLine => ({
  claimId: 'claim-0',
  sequence: l.sequence,
  patient: PATIENT,
  provider: PROVIDER,
  servicedDate: l.servicedDate,
  code: l.code,
  modifiers: l.modifiers,
  quantity: l.quantity,
  net: l.net,
  ...over,
});

/** Line statuses with their CARC codes, e.g. "1:approved 2:denied/236". */
function summary(c: ClaimInput, x: AdjudicationContext): string {
  const d = adjudicate(c, x, tables);
  if (d.kind === 'rejected') return `rejected/${d.carc}`;
  return d.lines
    .map((l) => `${l.sequence}:${l.status}${l.findings.map((f) => `/${f.carc}`).join('')}`)
    .join(' ');
}

interface Row {
  name: string;
  claim: ClaimInput;
  ctx?: Partial<AdjudicationContext>;
  expect: string;
}

function table(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const r of rows) test(r.name, () => assert.equal(summary(r.claim, ctx(r.ctx)), r.expect));
  });
}

const one = (over: Partial<ClaimLine> = {}) => claim([line(1, over)]);

table('coverage in force on the date of service (before adjudication)', [
  { name: 'active and in period', claim: one(), expect: '1:approved' },
  { name: 'no coverage at all', claim: one(), ctx: { coverage: undefined }, expect: 'rejected/31' },
  {
    name: 'coverage cancelled',
    claim: one(),
    ctx: { coverage: { ...COVERAGE, status: 'cancelled' } },
    expect: 'rejected/31',
  },
  {
    name: 'coverage with another payer',
    claim: one(),
    ctx: { coverage: { ...COVERAGE, payer: OTHER_PROVIDER } },
    expect: 'rejected/31',
  },
  {
    name: 'service before the coverage starts',
    claim: one({ servicedDate: '2025-12-31' }),
    expect: 'rejected/26',
  },
  {
    name: 'service after the coverage ended',
    claim: one({ servicedDate: '2027-01-01' }),
    expect: 'rejected/27',
  },
  {
    name: 'one line of several outside the coverage rejects the claim',
    claim: claim([line(1), line(2, { servicedDate: '2027-02-01' })]),
    expect: 'rejected/27',
  },
  { name: 'first day of coverage', claim: one({ servicedDate: '2026-01-01' }), expect: '1:approved' },
  { name: 'last day of coverage', claim: one({ servicedDate: '2026-12-31' }), expect: '1:approved' },
  {
    name: 'open-ended coverage',
    claim: one({ servicedDate: '2030-06-01' }),
    ctx: { coverage: { status: 'active', payer: PAYER } },
    expect: '1:approved',
  },
]);

const billed = line(1, { code: 'Z1030', modifiers: ['25'] });
table('exact duplicate (CARC 18) and the repeat modifiers', [
  {
    name: 'same line already held by the payer',
    claim: claim([billed]),
    ctx: { history: [prior(billed)] },
    expect: '1:denied/18',
  },
  {
    name: 'same modifiers in another order',
    claim: claim([{ ...billed, modifiers: ['LT', '25'] }]),
    ctx: { history: [prior(billed, { modifiers: ['25', 'LT'] })] },
    expect: '1:denied/18',
  },
  {
    name: 'a different charge is not an exact duplicate',
    claim: claim([billed]),
    ctx: { history: [prior(billed, { net: 9_000 })] },
    expect: '1:approved',
  },
  {
    name: 'a different modifier set is not an exact duplicate',
    claim: claim([billed]),
    ctx: { history: [prior(billed, { modifiers: [] })] },
    expect: '1:approved',
  },
  {
    name: 'another provider is not an exact duplicate',
    claim: claim([billed]),
    ctx: { history: [prior(billed, { provider: OTHER_PROVIDER })] },
    expect: '1:approved',
  },
  {
    name: 'another date is not an exact duplicate',
    claim: claim([billed]),
    ctx: { history: [prior(billed, { servicedDate: '2026-03-03' })] },
    expect: '1:approved',
  },
  ...['76', '77', '91'].map((m) => ({
    name: `repeat modifier ${m} on the repeat: allowed`,
    claim: claim([{ ...billed, modifiers: ['25', m] }]),
    ctx: { history: [prior(billed, { modifiers: ['25', m] })] },
    expect: '1:approved',
  })),
  {
    name: 'two identical lines in one claim: the later sequence is the duplicate',
    claim: claim([
      { ...billed, sequence: 2 },
      { ...billed, sequence: 1 },
    ]),
    expect: '1:approved 2:denied/18',
  },
  {
    name: 'two identical lines, the second with 76: both allowed',
    claim: claim([billed, { ...billed, sequence: 2, modifiers: ['25', '76'] }]),
    expect: '1:approved 2:approved',
  },
]);

table('duplicate across payers (CARC 22, pended)', [
  {
    name: 'a line the chain holds under another payer',
    claim: claim([line(1), line(2, { code: 'Z1031' })]),
    ctx: { crossPayerDuplicates: new Set([2]) },
    expect: '1:approved 2:pended/22',
  },
]);

const col1 = (over: Partial<ClaimLine> = {}) => line(1, { code: 'Z1001', ...over });
const col2 = (code: string, over: Partial<ClaimLine> = {}) => line(2, { code, ...over });
table('unbundling: procedure-to-procedure pairs (CARC 236)', [
  {
    name: 'indicator 0: never together',
    claim: claim([col1(), col2('Z1002')]),
    expect: '1:approved 2:denied/236',
  },
  {
    name: 'indicator 0: a distinct-service modifier does not help',
    claim: claim([col1(), col2('Z1002', { modifiers: ['59'] })]),
    expect: '1:approved 2:denied/236',
  },
  {
    name: 'indicator 1 without a modifier',
    claim: claim([col1(), col2('Z1003')]),
    expect: '1:approved 2:denied/236',
  },
  ...['59', 'XE', 'XS', 'XP', 'XU'].map((m) => ({
    name: `indicator 1 with ${m} on the column-two line`,
    claim: claim([col1(), col2('Z1003', { modifiers: [m] })]),
    expect: '1:approved 2:approved',
  })),
  {
    name: 'indicator 1 with 59 on the column-one line',
    claim: claim([col1({ modifiers: ['59'] }), col2('Z1003')]),
    expect: '1:approved 2:approved',
  },
  {
    name: 'indicator 1 with a modifier that is not distinct-service (76)',
    claim: claim([col1(), col2('Z1003', { modifiers: ['76'] })]),
    expect: '1:approved 2:denied/236',
  },
  {
    name: 'indicator 9: the edit is deleted',
    claim: claim([line(1, { code: 'Z1004' }), col2('Z1006')]),
    expect: '1:approved 2:approved',
  },
  {
    name: 'different dates of service',
    claim: claim([col1(), col2('Z1002', { servicedDate: '2026-03-03' })]),
    expect: '1:approved 2:approved',
  },
  { name: 'column two alone', claim: claim([col2('Z1002')]), expect: '2:approved' },
  {
    name: 'column one already billed the same day by the same provider',
    claim: claim([col2('Z1002')]),
    ctx: { history: [prior(col1())] },
    expect: '2:denied/236',
  },
  {
    name: 'column one billed the same day by another provider',
    claim: claim([col2('Z1002')]),
    ctx: { history: [prior(col1(), { provider: OTHER_PROVIDER })] },
    expect: '2:approved',
  },
  {
    name: 'indicator 1: column one in history with XU',
    claim: claim([col2('Z1003')]),
    ctx: { history: [prior(col1({ modifiers: ['XU'] }))] },
    expect: '2:approved',
  },
]);

table('medically unlikely edits (CARC 151)', [
  { name: 'MAI 1: at the limit', claim: one({ code: 'Z1020', quantity: 4 }), expect: '1:approved' },
  {
    name: 'MAI 1: over the limit on one line',
    claim: one({ code: 'Z1020', quantity: 5 }),
    expect: '1:denied/151',
  },
  {
    name: 'MAI 1: a line edit, so two lines under the limit pass even if their sum is over',
    claim: claim([
      line(1, { code: 'Z1020', quantity: 3 }),
      line(2, { code: 'Z1020', quantity: 3, modifiers: ['76'] }),
    ]),
    expect: '1:approved 2:approved',
  },
  {
    name: 'MAI 2: sum over lines within the limit',
    claim: claim([line(1, { code: 'Z1021' }), line(2, { code: 'Z1021', modifiers: ['76'] })]),
    expect: '1:approved 2:approved',
  },
  {
    name: 'MAI 2: sum over lines over the limit denies every line of that day',
    claim: claim([line(1, { code: 'Z1021', quantity: 2 }), line(2, { code: 'Z1021', modifiers: ['76'] })]),
    expect: '1:denied/151 2:denied/151',
  },
  {
    name: 'MAI 2: sum with a claim already held over the limit',
    claim: one({ code: 'Z1021' }),
    ctx: { history: [prior(line(9, { code: 'Z1021', quantity: 2 }), { claimId: 'claim-0' })] },
    expect: '1:denied/151',
  },
  {
    name: 'MAI 2: units another provider billed do not count',
    claim: one({ code: 'Z1021' }),
    ctx: { history: [prior(line(9, { code: 'Z1021', quantity: 2 }), { provider: OTHER_PROVIDER })] },
    expect: '1:approved',
  },
  {
    name: 'MAI 2: another day does not count',
    claim: claim([
      line(1, { code: 'Z1021', quantity: 2 }),
      line(2, { code: 'Z1021', servicedDate: '2026-03-03' }),
    ]),
    expect: '1:approved 2:approved',
  },
  { name: 'MAI 3: at the limit', claim: one({ code: 'Z1022', quantity: 3 }), expect: '1:approved' },
  {
    name: 'MAI 3: over the limit across lines',
    claim: claim([line(1, { code: 'Z1022', quantity: 3 }), line(2, { code: 'Z1022', modifiers: ['76'] })]),
    expect: '1:denied/151 2:denied/151',
  },
  { name: 'a code with no MUE', claim: one({ code: 'Z1099', quantity: 999 }), expect: '1:approved' },
]);

const late = providerLog(['enc-1'], { anchoredAt: CLAIM_CREATED + 1 }).evidence;
table('evidence of service (phantom billing, CARC 252, pended)', [
  { name: 'the Encounter is proven in an anchored head', claim: one(), expect: '1:approved' },
  {
    name: 'two Encounters, both proven',
    claim: one({ encounters: ['enc-1', 'enc-2'] }),
    expect: '1:approved',
  },
  { name: 'the line names no Encounter', claim: one({ encounters: [] }), expect: '1:pended/252' },
  { name: 'no evidence for the Encounter', claim: one({ encounters: ['enc-9'] }), expect: '1:pended/252' },
  {
    name: 'one of two Encounters unproven',
    claim: one({ encounters: ['enc-1', 'enc-9'] }),
    expect: '1:pended/252',
  },
  {
    name: 'the provider says the Encounter does not exist',
    claim: one(),
    ctx: {
      evidence: new Map([['enc-1', { ...(evidence.get('enc-1') as EncounterEvidence), exists: false }]]),
    },
    expect: '1:pended/252',
  },
  {
    name: 'the head was anchored after the claim',
    claim: one(),
    ctx: { evidence: late },
    expect: '1:pended/252',
  },
]);

describe('the claim', () => {
  test('approved with one line denied: state approved, flags and amounts add up', () => {
    const d = adjudicate(claim([col1(), col2('Z1002', { unitPrice: 2_500 })]), ctx(), tables);
    assert.equal(d.kind, 'adjudicated');
    if (d.kind !== 'adjudicated') return;
    assert.equal(d.state, 'approved');
    assert.equal(d.fraudFlags, FRAUD.unbundling);
    assert.equal(d.submitted, 12_500);
    assert.equal(d.benefit, 10_000);
  });
  test('every line denied: state denied', () => {
    const d = adjudicate(one({ code: 'Z1020', quantity: 9 }), ctx(), tables);
    assert.equal(d.kind === 'adjudicated' && d.state, 'denied');
    assert.equal(d.kind === 'adjudicated' && d.fraudFlags, FRAUD.unitsOverLimit);
  });
  test('any line pended: state pended, even beside a denied line', () => {
    const d = adjudicate(
      claim([line(1, { code: 'Z1020', quantity: 9 }), line(2, { encounters: [] })]),
      ctx(),
      tables,
    );
    assert.equal(d.kind === 'adjudicated' && d.state, 'pended');
    assert.equal(d.kind === 'adjudicated' && d.fraudFlags, FRAUD.unitsOverLimit | FRAUD.noEvidenceOfService);
  });
  test('MAI 3 findings are appealable, MAI 1 and 2 are not', () => {
    const appealable = (c: ClaimInput) => {
      const d = adjudicate(c, ctx(), tables);
      return d.kind === 'adjudicated'
        ? d.lines.flatMap((l) => l.findings.map((f) => f.appealable === true))
        : [];
    };
    assert.deepEqual(appealable(one({ code: 'Z1022', quantity: 4 })), [true]);
    assert.deepEqual(appealable(one({ code: 'Z1021', quantity: 3 })), [false]);
    assert.deepEqual(appealable(one({ code: 'Z1020', quantity: 5 })), [false]);
  });
  test('names the tables it applied with their hashes', () => {
    const d = adjudicate(one(), ctx(), tables);
    assert.deepEqual(d.kind === 'adjudicated' && d.tables.map((t) => t.name), ['ptp.v1.json', 'mue.v1.json']);
    assert.ok(d.kind === 'adjudicated' && d.tables.every((t) => /^[0-9a-f]{64}$/.test(t.sha256)));
  });
});
