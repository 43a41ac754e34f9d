/**
 * A payment run as an ASC X12 835 Health Care Claim Payment/Advice, implementation guide
 * 005010X221A1: ISA/GS/ST, BPR (the total paid), TRN (the trace number), the payer (N1*PR) and
 * payee (N1*PE) loops, one LX, then per claim a CLP with the patient as NM1*QC (the chain
 * address under MI, no name), and per service line SVC, DTM*472, CAS and REF*6R; SE/GE/IEA with
 * their counts and control numbers. Pure: the caller passes every value, clock included.
 *
 * Segments are written here, not with node-x12's generator: the generator computes SE01 itself,
 * so reading its output back with node-x12 would check node-x12 against itself. Written by hand,
 * the read-back (`read835.ts`) checks our counts and sums with a parser not written here.
 *
 * Decisions (docs/claims.md, "Remittance (X12 835)"):
 * - Only finalized claims are remitted. A pended claim is refused: CLP02 code 22 is "reversal of
 *   previous payment", not "pended"; the 835 carries no pending status (that is the 277's job).
 * - Claims rejected before adjudication (coverage) are not `Adjudication`s and are not remitted;
 *   the ClaimResponse already told the provider.
 * - A denied line is one CAS*CO with the CARC of its first denying finding (rule order) for the
 *   whole charge; an approved line with a patient share (deductible, coinsurance, copay) is one
 *   CAS*PR, and CLP05 is the sum of those. Lines are decided whole, so units paid are units billed.
 * - There is no provider-level adjustment yet, so no PLB: BPR02 is exactly the sum of CLP04.
 * - BPR: `I` (remittance information only, the funds move by the payer's own settlement) with
 *   payment method CHK and TRN02 the trace (check) number, so no bank account numbers are needed;
 *   a run paying nothing is `H` (notification only) with method NON.
 */
import type { Address } from 'viem';
import { RemittanceError } from '../claimsError.js';
import type { Adjudication, ClaimInput, LineAdjudication } from '../model.js';

/** The implementation guide this writer follows (GS08, ST03). */
export const X12_835_VERSION = '005010X221A1';

/** Delimiters: element, repetition, component, segment terminator (ISA11, ISA16). */
export const DELIMITERS = { element: '*', repetition: '^', component: ':', segment: '~' } as const;

/** Group codes of a CAS: contractual obligation, patient responsibility, other adjustment. */
export type AdjustmentGroup = 'CO' | 'PR' | 'OA';

/** A postal address as N3/N4 carry it. */
export interface PostalAddress {
  line: string;
  city: string;
  /** Two-letter state or province code. */
  state: string;
  postalCode: string;
}

/** The paying insurer as the 835 names it. */
export interface RemittancePayer {
  /** Its consortium chain account: every claim of the run must be with this payer (not written). */
  chainAddress: Address;
  /** N102. */
  name: string;
  /** Interchange sender id (ISA06 under qualifier ZZ, GS02), 2–15 characters. */
  interchangeId: string;
  /** TRN03, the originating company identifier: 10 characters (by convention `1` + the EIN). */
  companyId: string;
  address: PostalAddress;
  /** PER*BL technical contact: a phone number (TE) or an e-mail address (EM). */
  contact: { qualifier: 'TE' | 'EM'; value: string };
}

/** The provider being paid. */
export interface RemittancePayee {
  /** Its consortium chain account: every claim of the run must be from this provider (not written). */
  chainAddress: Address;
  /** N102. */
  name: string;
  /** Interchange receiver id (ISA08 under qualifier ZZ, GS03), 2–15 characters. */
  interchangeId: string;
  /** N103/N104: the payee's NPI (XX) or federal tax id (FI), the two the guide allows here. */
  id: { qualifier: 'XX' | 'FI'; value: string };
  address: PostalAddress;
}

/** A patient's share of an approved line: deductible (CARC 1), coinsurance (2) or copay (3). */
export interface PatientShare {
  carc: '1' | '2' | '3';
  /** Cents, at most the line's benefit. */
  cents: number;
}

/** One adjudicated claim of the run. */
export interface RemittanceClaim {
  /** The claim as adjudicated (its id is CLP01, the provider's patient control number). */
  claim: ClaimInput;
  /** Its adjudication: approved or denied, never pended. */
  adjudication: Adjudication;
  /** CLP07, the payer's own claim control number (at most 50 characters). */
  payerClaimId: string;
  /** Patient shares by line sequence; medchain's rules produce none yet (no benefit plan). */
  patientShare?: ReadonlyMap<number, PatientShare>;
}

/** A payment run: one payer paying one payee for a set of adjudicated claims. */
export interface PaymentRun {
  /** ISA13 and GS06: 1..999,999,999, unique per sender. */
  controlNumber: number;
  /** When the file is produced, ms since the epoch (ISA09/10, GS04/05, DTM*405), UTC. */
  producedAt: number;
  /** BPR16: the payment's effective date, YYYY-MM-DD. */
  paymentDate: string;
  /** TRN02: the check or trace number that ties the payment to this remittance. */
  traceNumber: string;
  payer: RemittancePayer;
  payee: RemittancePayee;
  claims: readonly RemittanceClaim[];
  /** ISA15: production or test data (default P). */
  usage?: 'P' | 'T';
  /** CLP06 claim filing indicator (default CI, commercial insurance). */
  claimFilingIndicator?: string;
}

/** Cents as an X12 decimal (R): no trailing fractional zeros, "100", "100.5", "0.05", "-3". */
export function x12Amount(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RemittanceError(`amount ${cents} is not whole cents`);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100);
  const frac = abs % 100;
  if (frac === 0) return `${sign}${whole}`;
  const f = frac % 10 === 0 ? `${frac / 10}` : `${frac}`.padStart(2, '0');
  return `${sign}${whole}.${f}`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ccyymmdd = (date: string, what: string): string => {
  const m = DATE.exec(date);
  if (!m) throw new RemittanceError(`${what} ${JSON.stringify(date)} is not a YYYY-MM-DD date`);
  return `${m[1]}${m[2]}${m[3]}`;
};

/** Builds segments, refusing any value that holds a delimiter (it would change the file's structure). */
class SegmentWriter {
  readonly segments: string[] = [];
  /** A segment; an array element is a composite (e.g. SVC01 HC:code:modifiers). */
  add(tag: string, ...elements: (string | readonly string[])[]): void {
    this.check(tag, elements.flat());
    const flat = elements.map((e) => (typeof e === 'string' ? e : e.join(DELIMITERS.component)));
    let end = flat.length;
    while (end > 0 && flat[end - 1] === '') end--; // trailing empty elements are not sent
    this.segments.push([tag, ...flat.slice(0, end)].join(DELIMITERS.element) + DELIMITERS.segment);
  }
  /** The ISA: fixed width, and ISA11/ISA16 are the repetition and component separators themselves. */
  isa(elements: string[]): void {
    this.check('ISA', elements);
    const all = [
      ...elements.slice(0, 10),
      DELIMITERS.repetition,
      ...elements.slice(10),
      DELIMITERS.component,
    ];
    this.segments.push(['ISA', ...all].join(DELIMITERS.element) + DELIMITERS.segment);
  }
  private check(tag: string, elements: readonly string[]): void {
    for (const e of elements) {
      for (const d of Object.values(DELIMITERS)) {
        if (e.includes(d))
          throw new RemittanceError(`${tag}: value ${JSON.stringify(e)} contains the delimiter ${d}`);
      }
      if (/[\r\n]/.test(e))
        throw new RemittanceError(`${tag}: value ${JSON.stringify(e)} contains a line break`);
    }
  }
}

function lengthBetween(value: string, min: number, max: number, what: string): string {
  if (value.length < min || value.length > max) {
    throw new RemittanceError(`${what} ${JSON.stringify(value)} must be ${min}–${max} characters`);
  }
  return value;
}

interface LineAmounts {
  charge: number;
  paid: number;
  adjustment?: { group: AdjustmentGroup; carc: string; cents: number };
}

/** What one line pays and the one adjustment that explains the difference from its charge. */
function lineAmounts(l: LineAdjudication, share: PatientShare | undefined, claimId: string): LineAmounts {
  if (l.status === 'pended') throw new RemittanceError(`claim ${claimId} line ${l.sequence} is pended`);
  if (l.status === 'denied') {
    if (share)
      throw new RemittanceError(`claim ${claimId} line ${l.sequence} is denied but has a patient share`);
    const first = l.findings.find((f) => f.effect === 'denied');
    if (!first)
      throw new RemittanceError(`claim ${claimId} line ${l.sequence} is denied without a denying finding`);
    return {
      charge: l.submitted,
      paid: 0,
      adjustment: { group: 'CO', carc: first.carc, cents: l.submitted },
    };
  }
  const shareCents = share?.cents ?? 0;
  if (!Number.isSafeInteger(shareCents) || shareCents < 0 || shareCents > l.benefit) {
    throw new RemittanceError(
      `claim ${claimId} line ${l.sequence}: patient share must be 0..${l.benefit} cents`,
    );
  }
  if (l.benefit !== l.submitted) {
    // medchain pays approved lines at their charge (no fee schedule); any other difference has no CARC to name it.
    throw new RemittanceError(
      `claim ${claimId} line ${l.sequence}: benefit differs from charge with no reason code`,
    );
  }
  const paid = l.benefit - shareCents;
  return {
    charge: l.submitted,
    paid,
    ...(share && shareCents > 0
      ? { adjustment: { group: 'PR' as const, carc: share.carc, cents: shareCents } }
      : {}),
  };
}

/** True when `a` can be remitted: a finalized (approved or denied) adjudication. */
export const isRemittable = (a: Adjudication): boolean => a.state !== 'pended';

/** The 835 for `run`, as X12 text (segments terminated by `~`, one per line). */
export function writeRemittance835(run: PaymentRun): string {
  if (!Number.isSafeInteger(run.controlNumber) || run.controlNumber < 1 || run.controlNumber > 999_999_999) {
    throw new RemittanceError('controlNumber must be 1..999999999');
  }
  if (run.claims.length === 0) throw new RemittanceError('a payment run needs at least one claim');
  const { payer, payee } = run;
  lengthBetween(payer.interchangeId, 2, 15, 'payer interchangeId');
  lengthBetween(payee.interchangeId, 2, 15, 'payee interchangeId');
  lengthBetween(payer.companyId, 10, 10, 'payer companyId');
  lengthBetween(run.traceNumber, 1, 50, 'traceNumber');
  if (!Number.isFinite(run.producedAt)) throw new RemittanceError('producedAt must be a time');
  const produced = new Date(run.producedAt).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const date8 = produced.slice(0, 10).replaceAll('-', '');
  const time4 = produced.slice(11, 16).replace(':', '');
  const control9 = `${run.controlNumber}`.padStart(9, '0');

  const claims = run.claims.map((rc) => {
    const { claim, adjudication: adj } = rc;
    if (!isRemittable(adj))
      throw new RemittanceError(`claim ${claim.id} is pended: only finalized claims are remitted`);
    if (claim.payer.toLowerCase() !== payer.chainAddress.toLowerCase()) {
      throw new RemittanceError(`claim ${claim.id} is with another payer than this run's`);
    }
    if (claim.provider.toLowerCase() !== payee.chainAddress.toLowerCase()) {
      throw new RemittanceError(`claim ${claim.id} is from another provider than this run's payee`);
    }
    lengthBetween(claim.id, 1, 38, 'claim id (CLP01)');
    lengthBetween(rc.payerClaimId, 1, 50, 'payerClaimId (CLP07)');
    const bySeq = new Map(claim.lines.map((l) => [l.sequence, l]));
    if (adj.lines.length !== claim.lines.length || adj.lines.some((l) => !bySeq.has(l.sequence))) {
      throw new RemittanceError(`claim ${claim.id}: the adjudication's lines are not the claim's lines`);
    }
    for (const s of rc.patientShare?.keys() ?? []) {
      if (!bySeq.has(s)) throw new RemittanceError(`claim ${claim.id}: patient share for unknown line ${s}`);
    }
    const lines = [...adj.lines]
      .sort((a, b) => a.sequence - b.sequence)
      .map((l) => {
        const billed = bySeq.get(l.sequence) as ClaimInput['lines'][number];
        if (billed.net !== l.submitted) {
          throw new RemittanceError(
            `claim ${claim.id} line ${l.sequence}: adjudicated charge is not the billed charge`,
          );
        }
        return { billed, amounts: lineAmounts(l, rc.patientShare?.get(l.sequence), claim.id) };
      });
    const sum = (f: (a: LineAmounts) => number) => lines.reduce((n, l) => n + f(l.amounts), 0);
    return {
      rc,
      lines,
      charge: sum((a) => a.charge),
      paid: sum((a) => a.paid),
      patient: sum((a) => (a.adjustment?.group === 'PR' ? a.adjustment.cents : 0)),
    };
  });
  const total = claims.reduce((n, c) => n + c.paid, 0);

  const w = new SegmentWriter();
  w.isa([
    '00',
    ' '.repeat(10),
    '00',
    ' '.repeat(10),
    'ZZ',
    payer.interchangeId.padEnd(15),
    'ZZ',
    payee.interchangeId.padEnd(15),
    date8.slice(2),
    time4,
    '00501',
    control9,
    '0',
    run.usage ?? 'P',
  ]);
  w.add(
    'GS',
    'HP',
    payer.interchangeId,
    payee.interchangeId,
    date8,
    time4,
    `${run.controlNumber}`,
    'X',
    X12_835_VERSION,
  );
  const stIndex = w.segments.length;
  w.add('ST', '835', '0001', X12_835_VERSION);
  // BPR01-04: a check payment ("I", "C", "CHK"), or a notification of no payment ("H", "C", "NON");
  // BPR05-BPR15 (bank accounts) stay empty; BPR16 the payment date.
  const [handling, amount, method] = total > 0 ? ['I', x12Amount(total), 'CHK'] : ['H', '0', 'NON'];
  w.add(
    'BPR',
    handling,
    amount,
    'C',
    method,
    ...Array<string>(11).fill(''),
    ccyymmdd(run.paymentDate, 'paymentDate'),
  );
  w.add('TRN', '1', run.traceNumber, payer.companyId);
  w.add('DTM', '405', date8);
  w.add('N1', 'PR', payer.name);
  w.add('N3', payer.address.line);
  w.add('N4', payer.address.city, payer.address.state, payer.address.postalCode);
  w.add('PER', 'BL', '', payer.contact.qualifier, payer.contact.value);
  w.add('N1', 'PE', payee.name, payee.id.qualifier, payee.id.value);
  w.add('N3', payee.address.line);
  w.add('N4', payee.address.city, payee.address.state, payee.address.postalCode);
  w.add('LX', '1');
  for (const c of claims) {
    const { claim, adjudication } = c.rc;
    w.add(
      'CLP',
      claim.id,
      adjudication.state === 'denied' ? '4' : '1',
      x12Amount(c.charge),
      x12Amount(c.paid),
      c.patient > 0 ? x12Amount(c.patient) : '',
      run.claimFilingIndicator ?? 'CI',
      c.rc.payerClaimId,
    );
    w.add('NM1', 'QC', '1', '', '', '', '', '', 'MI', claim.patient);
    for (const { billed, amounts } of c.lines) {
      w.add(
        'SVC',
        ['HC', billed.code, ...billed.modifiers.slice(0, 4)],
        x12Amount(amounts.charge),
        x12Amount(amounts.paid),
        '',
        `${billed.quantity}`,
      );
      w.add('DTM', '472', ccyymmdd(billed.servicedDate, `claim ${claim.id} line ${billed.sequence} date`));
      if (amounts.adjustment) {
        w.add('CAS', amounts.adjustment.group, amounts.adjustment.carc, x12Amount(amounts.adjustment.cents));
      }
      w.add('REF', '6R', `${billed.sequence}`);
    }
  }
  w.add('SE', `${w.segments.length - stIndex + 1}`, '0001');
  w.add('GE', '1', `${run.controlNumber}`);
  w.add('IEA', '1', control9);
  return `${w.segments.join('\n')}\n`;
}
