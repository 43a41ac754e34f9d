/**
 * Reads an X12 835 back with node-x12's parser (a parser not written here) and reconciles it: the
 * envelope parses strictly (node-x12 checks IEA01/GE01 counts and the control numbers), SE01 is
 * the transaction's segment count, BPR02 is the sum of CLP04 less any PLB adjustments, and per
 * claim CLP03 - CLP04 is the sum of its CAS amounts (claim and line level), CLP05 the sum of its
 * PR adjustments, the SVC charges and payments sum to CLP03 and CLP04, and per line SVC02 - SVC03
 * is the sum of its CAS. A file that reconciles has no problems; every problem is one sentence.
 */
import { X12Interchange, X12Parser, type X12Segment } from 'node-x12';

/** One CAS adjustment (group code, CARC, cents). */
export interface Adjustment835 {
  group: string;
  reason: string;
  cents: number;
}

/** A service line (loop 2110) as read back. */
export interface Line835 {
  code: string;
  modifiers: string[];
  charge: number;
  paid: number;
  units: number;
  /** DTM*472, CCYYMMDD. */
  serviceDate?: string;
  /** REF*6R, the line item control number (medchain writes the claim line's sequence). */
  lineControl?: string;
  adjustments: Adjustment835[];
}

/** A claim (loop 2100) as read back. */
export interface Claim835 {
  id: string;
  status: string;
  charge: number;
  paid: number;
  patientResponsibility: number;
  payerClaimId: string;
  /** NM1*QC NM109 with its NM108 qualifier. */
  patient?: { qualifier: string; id: string };
  adjustments: Adjustment835[];
  lines: Line835[];
}

/** The parts of an 835 the reconciliation reads. */
export interface Remittance835 {
  controlNumber: string;
  version: string;
  payment: { handling: string; cents: number; method: string; date: string };
  traceNumber: string;
  payerName?: string;
  payeeName?: string;
  claims: Claim835[];
  /** Sum of PLB adjustment amounts (positive reduces the payment). */
  providerAdjustments: number;
}

/** The read-back: the remittance when it parsed, and every reconciliation problem found. */
export interface Read835Result {
  remittance?: Remittance835;
  problems: string[];
}

const AMOUNT = /^(-)?(\d*)(?:\.(\d{1,2}))?$/;

/** An X12 decimal as cents, or undefined when it is not one with at most two decimals. */
export function parseCents(value: string): number | undefined {
  const m = AMOUNT.exec(value);
  if (!m || (m[2] === '' && m[3] === undefined)) return undefined;
  const cents = Number(m[2] || '0') * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -cents : cents;
}

const money = (c: number) => (c / 100).toFixed(2);

/** Read `text` with node-x12 and reconcile every total (see the module comment). */
export function read835(text: string): Read835Result {
  const problems: string[] = [];
  let parsed: unknown;
  try {
    parsed = new X12Parser(true).parse(text); // a new parser each time: node-x12 parsers keep state
  } catch (err) {
    return { problems: [`node-x12 refused the envelope: ${(err as Error).message}`] };
  }
  if (!(parsed instanceof X12Interchange)) return { problems: ['expected one interchange, found several'] };
  const isa = parsed.header;
  if (isa.valueOf(12) !== '00501') problems.push(`ISA12 is ${isa.valueOf(12)}, not 00501`);
  const component = isa.valueOf(16) ?? ':';
  const groups = parsed.functionalGroups;
  if (groups.length !== 1)
    return { problems: [...problems, `expected one functional group, found ${groups.length}`] };
  const group = groups[0] as (typeof groups)[number];
  const txs = group.transactions;
  if (txs.length !== 1)
    return { problems: [...problems, `expected one transaction set, found ${txs.length}`] };
  const tx = txs[0] as (typeof txs)[number];
  if (tx.header.valueOf(1) !== '835') problems.push(`ST01 is ${tx.header.valueOf(1)}, not 835`);
  const version = tx.header.valueOf(3) ?? '';
  if (version !== group.header.valueOf(8))
    problems.push(`ST03 ${version} differs from GS08 ${group.header.valueOf(8)}`);
  // node-x12 checks this too when strict; counted here as well so the check does not rest on one flag.
  const se01 = Number(tx.trailer.valueOf(1));
  if (se01 !== tx.segments.length + 2)
    problems.push(`SE01 is ${se01} but the transaction has ${tx.segments.length + 2} segments`);

  const cents = (seg: X12Segment, pos: number, optional = false): number => {
    const raw = seg.valueOf(pos, '') ?? '';
    if (raw === '' && optional) return 0;
    const c = parseCents(raw);
    if (c === undefined) {
      problems.push(`${seg.tag}${`${pos}`.padStart(2, '0')} ${JSON.stringify(raw)} is not an amount`);
      return 0;
    }
    return c;
  };

  const rem: Remittance835 = {
    controlNumber: isa.valueOf(13) ?? '',
    version,
    payment: { handling: '', cents: 0, method: '', date: '' },
    traceNumber: '',
    claims: [],
    providerAdjustments: 0,
  };
  let claim: Claim835 | undefined;
  let line: Line835 | undefined;
  let sawBpr = false;
  for (const seg of tx.segments) {
    const v = (pos: number) => seg.valueOf(pos, '') ?? '';
    switch (seg.tag) {
      case 'BPR':
        sawBpr = true;
        rem.payment = { handling: v(1), cents: cents(seg, 2), method: v(4), date: v(16) };
        break;
      case 'TRN':
        rem.traceNumber = v(2);
        break;
      case 'N1':
        if (v(1) === 'PR') rem.payerName = v(2);
        if (v(1) === 'PE') rem.payeeName = v(2);
        break;
      case 'CLP':
        line = undefined;
        claim = {
          id: v(1),
          status: v(2),
          charge: cents(seg, 3),
          paid: cents(seg, 4),
          patientResponsibility: cents(seg, 5, true),
          payerClaimId: v(7),
          adjustments: [],
          lines: [],
        };
        rem.claims.push(claim);
        break;
      case 'NM1':
        if (claim && v(1) === 'QC') claim.patient = { qualifier: v(8), id: v(9) };
        break;
      case 'SVC': {
        if (!claim) {
          problems.push('SVC outside a claim');
          break;
        }
        const [qualifier, code = '', ...modifiers] = v(1).split(component);
        if (qualifier !== 'HC') problems.push(`claim ${claim.id}: SVC01 qualifier ${qualifier} is not HC`);
        line = {
          code,
          modifiers,
          charge: cents(seg, 2),
          paid: cents(seg, 3),
          units: v(5) === '' ? 1 : Number(v(5)),
          adjustments: [],
        };
        claim.lines.push(line);
        break;
      }
      case 'DTM':
        if (line && v(1) === '472') line.serviceDate = v(2);
        break;
      case 'REF':
        if (line && v(1) === '6R') line.lineControl = v(2);
        break;
      case 'CAS': {
        const target = line ?? claim;
        if (!target) {
          problems.push('CAS outside a claim');
          break;
        }
        // Up to six reason/amount/quantity triplets after the group code (CAS02..CAS19).
        for (let p = 2; p <= 17; p += 3) {
          if (v(p) === '') continue;
          target.adjustments.push({ group: v(1), reason: v(p), cents: cents(seg, p + 1) });
        }
        break;
      }
      case 'PLB':
        // PLB03/04 .. PLB13/14: adjustment identifier and amount pairs.
        for (let p = 4; p <= 14; p += 2) if (v(p - 1) !== '') rem.providerAdjustments += cents(seg, p);
        break;
      case 'LX':
        claim = undefined;
        line = undefined;
        break;
    }
  }
  if (!sawBpr) problems.push('no BPR segment');
  if (rem.claims.length === 0) problems.push('no CLP segment');

  const paidTotal = rem.claims.reduce((n, c) => n + c.paid, 0);
  if (rem.payment.cents !== paidTotal - rem.providerAdjustments) {
    problems.push(
      `BPR02 ${money(rem.payment.cents)} is not the sum of CLP04 ${money(paidTotal)} less PLB ${money(rem.providerAdjustments)}`,
    );
  }
  for (const c of rem.claims) {
    const all = [...c.adjustments, ...c.lines.flatMap((l) => l.adjustments)];
    for (const a of all) {
      if (!['CO', 'PR', 'OA', 'PI', 'CR'].includes(a.group))
        problems.push(`claim ${c.id}: CAS group ${a.group} is unknown`);
    }
    const adjusted = all.reduce((n, a) => n + a.cents, 0);
    if (c.charge - c.paid !== adjusted) {
      problems.push(
        `claim ${c.id}: CLP03 - CLP04 is ${money(c.charge - c.paid)} but its CAS amounts sum to ${money(adjusted)}`,
      );
    }
    const patient = all.filter((a) => a.group === 'PR').reduce((n, a) => n + a.cents, 0);
    if (c.patientResponsibility !== patient) {
      problems.push(
        `claim ${c.id}: CLP05 ${money(c.patientResponsibility)} is not the sum of its PR adjustments ${money(patient)}`,
      );
    }
    if (c.lines.length > 0) {
      const linePaid = c.lines.reduce((n, l) => n + l.paid, 0);
      const lineCharge = c.lines.reduce((n, l) => n + l.charge, 0);
      if (linePaid !== c.paid)
        problems.push(`claim ${c.id}: SVC03 sum ${money(linePaid)} is not CLP04 ${money(c.paid)}`);
      if (lineCharge !== c.charge)
        problems.push(`claim ${c.id}: SVC02 sum ${money(lineCharge)} is not CLP03 ${money(c.charge)}`);
    }
    for (const l of c.lines) {
      const lineAdjusted = l.adjustments.reduce((n, a) => n + a.cents, 0);
      if (l.charge - l.paid !== lineAdjusted) {
        problems.push(
          `claim ${c.id} line ${l.lineControl ?? l.code}: SVC02 - SVC03 is ${money(l.charge - l.paid)} but its CAS sum to ${money(lineAdjusted)}`,
        );
      }
    }
  }
  return { remittance: rem, problems };
}
