/**
 * The X12 835 remittance: a table of payment runs written and read back with node-x12, each
 * reconciling and carrying the expected CLP/CAS/BPR values; the writer's refusals; and the
 * corruption table proving the reconciliation catches a wrong amount, count or control number.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { getAddress } from 'viem';
import { claim, line, OTHER_PROVIDER, PATIENT } from '../../../test/support/claims.js';
import { adjudicated, adjudicationContext, paymentRun, RUN_PAYEE } from '../../../test/support/remittance.js';
import { RemittanceError } from '../claimsError.js';
import type { ClaimLine, PriorLine } from '../model.js';
import { loadEditTables } from '../tableFiles.js';
import { type Claim835, parseCents, read835 } from './read835.js';
import { isRemittable, type PaymentRun, writeRemittance835, x12Amount } from './remittance835.js';
import { writeRemittanceFile } from './remittanceFile.js';

const tables = loadEditTables();

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

/** A claim read back as "status charge paid patient | line: code+mods charge/paid units CAS...". */
function summary(c: Claim835): string {
  const lines = c.lines.map((l) => {
    const cas = l.adjustments.map((a) => ` ${a.group}-${a.reason}:${a.cents}`).join('');
    return `${[l.code, ...l.modifiers].join('+')} ${l.charge}/${l.paid} x${l.units}${cas}`;
  });
  return `${c.status} ${c.charge} ${c.paid} ${c.patientResponsibility} | ${lines.join(' | ')}`;
}

function readBack(run: PaymentRun) {
  const text = writeRemittance835(run);
  const { remittance, problems } = read835(text);
  assert.deepEqual(problems, [], `the 835 reconciles:\n${text}`);
  assert.ok(remittance);
  return { text, remittance };
}

interface RunRow {
  name: string;
  run: () => PaymentRun;
  /** BPR01 BPR02(cents) BPR04. */
  bpr: string;
  claims: string[];
}

const clean = claim([
  line(1),
  line(2, { code: 'Z1021', modifiers: ['59', 'LT'], quantity: 2, unitPrice: 2_500 }),
]);
const duplicate = claim([line(1)], { id: 'claim-dup' });
const mue = claim([line(1, { code: 'Z1020', quantity: 5 }), line(2, { code: 'Z1030', unitPrice: 4_050 })], {
  id: 'claim-mue',
});

const rows: RunRow[] = [
  {
    name: 'approved claim: paid at charge, no adjustment',
    run: () => paymentRun([adjudicated(clean, tables)]),
    bpr: 'I 15000 CHK',
    claims: ['1 15000 15000 0 | Z1020 10000/10000 x1 | Z1021+59+LT 5000/5000 x2'],
  },
  {
    name: 'denied exact duplicate: CLP02 4, CO-18 for the charge, a zero notification-only BPR',
    run: () =>
      paymentRun([adjudicated(duplicate, tables, adjudicationContext({ history: [priorOf(line(1))] }))]),
    bpr: 'H 0 NON',
    claims: ['4 10000 0 0 | Z1020 10000/0 x1 CO-18:10000'],
  },
  {
    name: 'partial MUE denial: the line over the MAI 1 limit is CO-151, the rest paid',
    run: () => paymentRun([adjudicated(mue, tables)]),
    bpr: 'I 4050 CHK',
    claims: ['1 54050 4050 0 | Z1020 50000/0 x5 CO-151:50000 | Z1030 4050/4050 x1'],
  },
  {
    name: 'patient coinsurance: PR-2 on the line, CLP05 its sum, paid less the share',
    run: () =>
      paymentRun([
        adjudicated(clean, tables, undefined, { patientShare: new Map([[1, { carc: '2', cents: 2_005 }]]) }),
      ]),
    bpr: 'I 12995 CHK',
    claims: ['1 15000 12995 2005 | Z1020 10000/7995 x1 PR-2:2005 | Z1021+59+LT 5000/5000 x2'],
  },
  {
    name: 'a run of several claims: BPR02 is the sum of their CLP04',
    run: () =>
      paymentRun([
        adjudicated(clean, tables),
        adjudicated(duplicate, tables, adjudicationContext({ history: [priorOf(line(1))] })),
        adjudicated(mue, tables),
      ]),
    bpr: 'I 19050 CHK',
    claims: [
      '1 15000 15000 0 | Z1020 10000/10000 x1 | Z1021+59+LT 5000/5000 x2',
      '4 10000 0 0 | Z1020 10000/0 x1 CO-18:10000',
      '1 54050 4050 0 | Z1020 50000/0 x5 CO-151:50000 | Z1030 4050/4050 x1',
    ],
  },
];

describe('payment runs written as 835 and read back with node-x12', () => {
  for (const r of rows) {
    test(r.name, () => {
      const { remittance } = readBack(r.run());
      const p = remittance.payment;
      assert.equal(`${p.handling} ${p.cents} ${p.method}`, r.bpr);
      assert.equal(p.date, '20260402');
      assert.equal(remittance.traceNumber, 'TRACE0001');
      assert.equal(remittance.version, '005010X221A1');
      assert.deepEqual(remittance.claims.map(summary), r.claims);
    });
  }

  test('each claim and line reads back as written: ids, patient address under MI, dates, line sequence', () => {
    const rc = adjudicated(clean, tables);
    const { text, remittance } = readBack(paymentRun([rc]));
    const c = remittance.claims[0] as Claim835;
    assert.equal(c.id, clean.id);
    assert.equal(c.payerClaimId, `ACME-${clean.id}`);
    assert.deepEqual(c.patient, { qualifier: 'MI', id: PATIENT });
    assert.deepEqual(
      c.lines.map((l) => [l.lineControl, l.serviceDate]),
      [
        ['1', '20260302'],
        ['2', '20260302'],
      ],
    );
    assert.equal(remittance.payerName, 'ACME HEALTH INSURANCE');
    assert.equal(remittance.payeeName, 'GENERAL HOSPITAL');
    // No name of the patient, no diagnosis, no Encounter id: only what an 835 needs.
    assert.match(text, /^NM1\*QC\*1\*{6}MI\*0x/m);
    for (const absent of ['R51.9', 'enc-1', 'claim-0']) assert.ok(!text.includes(absent), absent);
    // Envelope: ISA is 106 characters, the control number is the same in ISA13/IEA02 and GS06/GE02.
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0]?.length, 106);
    assert.equal(lines.at(-1), 'IEA*1*000000042~');
    assert.equal(lines.at(-2), 'GE*1*42~');
    assert.equal(lines.at(-3), `SE*${lines.length - 4}*0001~`);
  });

  test('pended claims are not remitted: the writer refuses them, isRemittable filters them out', () => {
    const pended = adjudicated(claim([line(1, { encounters: ['enc-9'] })], { id: 'claim-pended' }), tables);
    assert.equal(pended.adjudication.state, 'pended');
    assert.throws(
      () => writeRemittance835(paymentRun([adjudicated(clean, tables), pended])),
      (e: unknown) => e instanceof RemittanceError && /claim-pended is pended/.test(e.message),
    );
    const finalized = [adjudicated(clean, tables), pended].filter((c) => isRemittable(c.adjudication));
    const { remittance } = readBack(paymentRun(finalized));
    assert.deepEqual(
      remittance.claims.map((c) => c.id),
      [clean.id],
    );
  });
});

describe('the writer refuses what an 835 cannot say', () => {
  const ok = () => adjudicated(clean, tables);
  const cases: [string, () => PaymentRun, RegExp][] = [
    ['no claims', () => paymentRun([]), /at least one claim/],
    ['control number 0', () => paymentRun([ok()], { controlNumber: 0 }), /controlNumber/],
    ['control number over 9 digits', () => paymentRun([ok()], { controlNumber: 1e9 }), /controlNumber/],
    [
      'a claim from another provider',
      () => {
        const rc = ok();
        return paymentRun([{ ...rc, claim: { ...rc.claim, provider: OTHER_PROVIDER } }]);
      },
      /another provider/,
    ],
    [
      'a claim with another payer',
      () =>
        paymentRun([ok()], {
          payer: {
            ...paymentRun([]).payer,
            chainAddress: getAddress('0x5555555555555555555555555555555555555555'),
          },
        }),
      /another payer/,
    ],
    [
      'a delimiter in a name',
      () => paymentRun([ok()], { payee: { ...RUN_PAYEE, name: 'GENERAL*HOSPITAL' } }),
      /delimiter \*/,
    ],
    ['a segment terminator in the trace', () => paymentRun([ok()], { traceNumber: 'T~1' }), /delimiter ~/],
    ['a bad payment date', () => paymentRun([ok()], { paymentDate: '04/02/2026' }), /YYYY-MM-DD/],
    [
      'a patient share over the benefit',
      () =>
        paymentRun([
          adjudicated(clean, tables, undefined, {
            patientShare: new Map([[1, { carc: '1', cents: 10_001 }]]),
          }),
        ]),
      /patient share must be/,
    ],
    [
      'a patient share on a denied line',
      () =>
        paymentRun([
          adjudicated(duplicate, tables, adjudicationContext({ history: [priorOf(line(1))] }), {
            patientShare: new Map([[1, { carc: '3', cents: 100 }]]),
          }),
        ]),
      /denied but has a patient share/,
    ],
    [
      'an adjudication of other lines than the claim',
      () => {
        const rc = ok();
        return paymentRun([{ ...rc, claim: { ...rc.claim, lines: rc.claim.lines.slice(0, 1) } }]);
      },
      /not the claim's lines/,
    ],
  ];
  for (const [name, run, message] of cases) {
    test(name, () => {
      assert.throws(
        () => writeRemittance835(run()),
        (e: unknown) => e instanceof RemittanceError && message.test(e.message),
      );
    });
  }
});

describe('the reconciliation catches a corrupted 835 (so it can fail)', () => {
  const text = writeRemittance835(
    paymentRun([adjudicated(clean, tables), adjudicated(mue, tables, undefined, { payerClaimId: 'ACME-2' })]),
  );
  const edit = (from: RegExp, to: string) => {
    assert.match(text, from, `the corruption ${from} applies`);
    return text.replace(from, to);
  };
  const corruptions: [string, () => string, RegExp][] = [
    [
      'CLP04 one cent more',
      () => edit(/^CLP\*claim-1\*1\*150\*150\*/m, 'CLP*claim-1*1*150*150.01*'),
      /CLP03 - CLP04|BPR02/,
    ],
    [
      'SVC03 paid changed',
      () => edit(/^SVC\*HC:Z1030\*40\.5\*40\.5/m, 'SVC*HC:Z1030*40.5*40.4'),
      /SVC03 sum/,
    ],
    ['CAS amount changed', () => edit(/^CAS\*CO\*151\*500~/m, 'CAS*CO*151*499~'), /CAS/],
    ['CAS dropped', () => edit(/^CAS\*CO\*151\*500~\n/m, ''), /SE01|CAS/],
    ['BPR02 changed', () => edit(/^BPR\*I\*190\.5\*/m, 'BPR*I*190.51*'), /BPR02/],
    [
      'CLP05 claims a patient share with no PR adjustment',
      () => edit(/^CLP\*claim-1\*1\*150\*150\*\*/m, 'CLP*claim-1*1*150*150*5*'),
      /CLP05/,
    ],
    [
      'SE01 off by one',
      () => edit(/^SE\*(\d+)\*/m, `SE*${Number(/^SE\*(\d+)/m.exec(text)?.[1]) + 1}*`),
      /SE01/,
    ],
    ['a segment dropped', () => edit(/^REF\*6R\*1~\n/m, ''), /SE01/],
    ['SE02 not ST02', () => edit(/^SE\*(\d+)\*0001~/m, 'SE*$1*0002~'), /SE02/],
    ['GE02 not GS06', () => edit(/^GE\*1\*42~/m, 'GE*1*43~'), /GE02/],
    ['IEA01 counts two groups', () => edit(/^IEA\*1\*/m, 'IEA*2*'), /IEA01/],
    [
      'an amount that is not a number',
      () => edit(/^SVC\*HC:Z1030\*40\.5\*/m, 'SVC*HC:Z1030*40,5*'),
      /not an amount/,
    ],
    ['an unknown CAS group', () => edit(/^CAS\*CO\*151/m, 'CAS*XX*151'), /group XX/],
  ];
  test('the uncorrupted file has no problems', () => assert.deepEqual(read835(text).problems, []));
  for (const [name, corrupt, expect] of corruptions) {
    test(name, () => {
      const { problems } = read835(corrupt());
      assert.ok(
        problems.some((p) => expect.test(p)),
        `expected a problem matching ${expect}, got ${JSON.stringify(problems)}`,
      );
    });
  }
});

describe('amounts', () => {
  const known: [number, string][] = [
    [0, '0'],
    [5, '0.05'],
    [50, '0.5'],
    [10_000, '100'],
    [10_050, '100.5'],
    [10_025, '100.25'],
    [-1_999, '-19.99'],
  ];
  for (const [cents, text] of known) {
    test(`${cents} cents is ${text} and back`, () => {
      assert.equal(x12Amount(cents), text);
      assert.equal(parseCents(text), cents);
    });
  }
  for (const bad of ['', '.', '1.234', '1,00', 'abc', '--1']) {
    test(`${JSON.stringify(bad)} is not an amount`, () => assert.equal(parseCents(bad), undefined));
  }
});

describe('writeRemittanceFile', () => {
  test('writes the reconciled 835 atomically and returns it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'x12-'));
    try {
      const file = path.join(dir, 'out', 'remit-42.835');
      const text = writeRemittanceFile(file, paymentRun([adjudicated(clean, tables)]));
      assert.equal(readFileSync(file, 'utf8'), text);
      assert.deepEqual(read835(readFileSync(file, 'utf8')).problems, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a run it refuses leaves no file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'x12-'));
    try {
      const file = path.join(dir, 'remit.835');
      assert.throws(() => writeRemittanceFile(file, paymentRun([])), RemittanceError);
      assert.throws(() => readFileSync(file), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
