/**
 * A payment run at the insurer (issue 13, `POST /claims/payment-run`): pay every claim that is
 * Approved on chain and not yet paid, and write one X12 835 per payee.
 *
 * 1. The insurer's ClaimResponses with outcome `complete` are searched (through the gatekeeper,
 *    purpose `payment`, each logged), page by page; the chain decides which are payable:
 *    `claimOf(claimId)` must be Approved with this insurer as payer. Disputed, Pended, Denied and
 *    Paid claims are never paid, whatever the documents say.
 * 2. Per approved claim: its stored Claim read (logged), the `ClaimInput` rebuilt with
 *    `parseClaim(submittedClaimOf(copy, provider))`, the `Adjudication` with `adjudicationOf`; the
 *    chain's approved amount must equal the documents' benefit, and the claim must write as an 835
 *    on its own: a claim that cannot be remitted is skipped (with the reason) and NOT paid.
 * 3. `Claims.markPaid` per claim through the outbox (the contract has no batched form), key
 *    `claims-paid:<claimId>:<dispute round>`, so a retried run never pays twice and a claim paid,
 *    disputed and approved again gets a fresh key. A markPaid the contract refuses (a dispute
 *    arrived meanwhile) is skipped; one not mined within the run is skipped as "not mined yet" and
 *    its transaction stays in the outbox.
 * 4. The claims confirmed Paid, grouped per provider (payee), each written as one 835 with
 *    `writeRemittanceFile` (which reads it back with node-x12 and writes only what reconciles) to
 *    `<node dir>/remittances/<runId>-<payee>.835`, and the run recorded (paymentRunRecords.ts).
 *
 * A run with nothing to pay writes no 835 (a no-payment 835 to nobody says nothing) and records
 * the run with a message. One run at a time per insurer.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { Actor, Gatekeeper } from '../access/gatekeeper.js';
import type { ClaimRecordView, ClaimsView } from '../chain/claimsView.js';
import type { Outbox } from '../chain/outbox.js';
import { errorMessage } from '../errors.js';
import { MAX_COUNT, parseSearch } from '../fhir/search.js';
import { adjudicationOf } from './adjudicationOf.js';
import { claimIdOf, documentId, submittedClaimOf } from './claimDocuments.js';
import { PaymentRunBusyError } from './claimsError.js';
import { parseClaim } from './fhirClaim.js';
import {
  listRuns,
  type PaidClaim,
  type PaymentRunRecord,
  type RemittanceFileRecord,
  saveRun,
} from './paymentRunRecords.js';
import {
  type PaymentRun,
  type RemittanceClaim,
  type RemittancePayee,
  type RemittancePayer,
  writeRemittance835,
} from './x12/remittance835.js';
import { writeRemittanceFile } from './x12/remittanceFile.js';

export interface PaymentRunDeps {
  gate: Gatekeeper;
  chain: Pick<ClaimsView, 'claimOf'>;
  outbox: Pick<Outbox, 'enqueue' | 'flush' | 'get'>;
  /** The Claims contract. */
  claims: Address;
  /** This insurer's account. */
  self: Address;
  /** The node's directory; remittances go to `<nodeDir>/remittances/`. */
  nodeDir: string;
  /** The payer as the 835 names it. */
  payer: () => Promise<RemittancePayer>;
  /** A payee (provider) as the 835 names it. */
  payee: (provider: Address) => Promise<RemittancePayee>;
  now?: () => number;
  /** Outbox flushes to wait for the markPaid transactions (default 3; each waits up to its receipt timeout). */
  flushRounds?: number;
}

/** The directory of a node's 835 files and run records. */
export const remittancesDir = (nodeDir: string) => path.join(nodeDir, 'remittances');

/** The claim id as CLP07 (payer claim control number, at most 50 characters): base 36, upper case. */
export const payerClaimNumber = (claimId: Hex): string => BigInt(claimId).toString(36).toUpperCase();

const running = new WeakSet<PaymentRunDeps>();

interface Candidate {
  claimId: Hex;
  record: ClaimRecordView;
  remit: RemittanceClaim;
}

/** The run's id: UTC time to the second and 3 random bytes, e.g. `20260401T103000Z-a1b2c3`. */
const newRunId = (at: number) =>
  `${new Date(at).toISOString().slice(0, 19).replaceAll('-', '').replaceAll(':', '')}Z-${randomBytes(3).toString('hex')}`;

/** Pay the approved claims and write the remittances; `by` is the user who asked. */
export async function runPayment(deps: PaymentRunDeps, by: Actor): Promise<PaymentRunRecord> {
  if (running.has(deps)) throw new PaymentRunBusyError();
  running.add(deps);
  try {
    return await run(deps, by);
  } finally {
    running.delete(deps);
  }
}

/** The past runs, newest first. */
export const paymentRuns = (deps: Pick<PaymentRunDeps, 'nodeDir'>): PaymentRunRecord[] =>
  listRuns(remittancesDir(deps.nodeDir));

async function run(deps: PaymentRunDeps, by: Actor): Promise<PaymentRunRecord> {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const runId = newRunId(startedAt);
  // The run reads claims in the billing function under the payment purpose, logged under the
  // pseudonym of the user who started it (an admin reads no claims otherwise).
  const actor: Actor = { id: by.id, role: 'billing', purpose: 'payment' };
  const skipped: PaymentRunRecord['skipped'] = [];
  const candidates = await payable(deps, actor, skipped);

  const txKeys: string[] = [];
  for (const c of candidates) {
    const key = `claims-paid:${c.claimId}:${c.record.disputes}`;
    deps.outbox.enqueue({
      key,
      contract: 'Claims',
      address: deps.claims,
      functionName: 'markPaid',
      args: [c.claimId],
      description: 'claims payment: mark an approved claim paid',
    });
    txKeys.push(key);
  }
  const settled = (k: string) => {
    const s = deps.outbox.get(k)?.status;
    return s === 'confirmed' || s === 'failed';
  };
  for (let i = 0; i < (deps.flushRounds ?? 3) && !txKeys.every(settled); i++) await deps.outbox.flush();

  const paid: Candidate[] = [];
  candidates.forEach((c, i) => {
    const e = deps.outbox.get(txKeys[i] as string);
    if (e?.status === 'confirmed') paid.push(c);
    else
      skipped.push({
        claimId: c.claimId,
        reason:
          e?.status === 'failed'
            ? `the Claims contract refused markPaid: ${e.error ?? 'reverted'}`
            : 'markPaid is not mined yet; the outbox keeps sending it (the next run will not see it as approved)',
      });
  });

  const files = await writeFiles(deps, runId, startedAt, paid);
  const claims: PaidClaim[] = paid.map((c) => ({
    claimId: c.claimId,
    provider: c.record.provider,
    paidCents: Number(c.record.approved),
  }));
  const record: PaymentRunRecord = {
    runId,
    startedAt,
    finishedAt: now(),
    by: by.id,
    claims,
    paidCents: claims.reduce((n, c) => n + c.paidCents, 0),
    files,
    txKeys,
    skipped,
    ...(candidates.length === 0
      ? { message: 'nothing to pay: no claim is approved and unpaid on chain' }
      : {}),
  };
  saveRun(remittancesDir(deps.nodeDir), record);
  return record;
}

/** The claims Approved on chain with this payer, each rebuilt and checked to remit on its own. */
async function payable(
  deps: PaymentRunDeps,
  actor: Actor,
  skipped: PaymentRunRecord['skipped'],
): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const payer = await deps.payer();
  for (let offset = 0; ; offset += MAX_COUNT) {
    const query = { outcome: 'complete', _count: String(MAX_COUNT), _offset: String(offset) };
    const page = await deps.gate.search(
      actor,
      parseSearch('ClaimResponse', query),
      deps.gate.queryHash('ClaimResponse', query),
    );
    const responses = page.resources as unknown as ClaimResponse[];
    const found = await Promise.all(
      responses.map(async (response) => {
        const claimId = claimIdOf(response);
        if (!claimId) return undefined;
        const record = await deps.chain.claimOf(claimId);
        if (record?.state !== 'approved' || record.payer.toLowerCase() !== deps.self.toLowerCase())
          return undefined;
        return { claimId, record, response };
      }),
    );
    for (const f of found) {
      if (!f) continue;
      try {
        const remit = await remittanceClaim(deps, actor, f.claimId, f.record, f.response);
        // The claim alone must write as an 835, or it is not paid (nothing would explain the payment).
        writeRemittance835(probeRun(payer, await deps.payee(f.record.provider), remit));
        out.push({ claimId: f.claimId, record: f.record, remit });
      } catch (err) {
        skipped.push({ claimId: f.claimId, reason: errorMessage(err) });
      }
    }
    if (responses.length < MAX_COUNT || offset + MAX_COUNT >= page.total) break;
  }
  return out;
}

async function remittanceClaim(
  deps: PaymentRunDeps,
  actor: Actor,
  claimId: Hex,
  record: ClaimRecordView,
  response: ClaimResponse,
): Promise<RemittanceClaim> {
  const copy = (await deps.gate.read(actor, 'Claim', documentId(claimId))) as unknown as Claim;
  const claim = parseClaim(submittedClaimOf(copy, record.provider));
  const adjudication = adjudicationOf(response, claim);
  if (BigInt(adjudication.benefit) !== record.approved)
    throw new Error(
      `the approved amount on chain (${record.approved} cents) is not the ClaimResponse's benefit (${adjudication.benefit} cents)`,
    );
  return { claim, adjudication, payerClaimId: payerClaimNumber(claimId) };
}

const probeRun = (payer: RemittancePayer, payee: RemittancePayee, c: RemittanceClaim): PaymentRun => ({
  controlNumber: 1,
  producedAt: Date.now(),
  paymentDate: new Date().toISOString().slice(0, 10),
  traceNumber: 'PROBE',
  payer,
  payee,
  claims: [c],
});

/** One 835 per payee of the paid claims; control numbers continue from the past runs' files. */
async function writeFiles(
  deps: PaymentRunDeps,
  runId: string,
  at: number,
  paid: readonly Candidate[],
): Promise<RemittanceFileRecord[]> {
  const byPayee = new Map<Address, Candidate[]>();
  for (const c of paid) byPayee.set(c.record.provider, [...(byPayee.get(c.record.provider) ?? []), c]);
  let control = paymentRuns(deps).reduce((n, r) => Math.max(n, ...r.files.map((f) => f.controlNumber)), 0);
  const payer = await deps.payer();
  const files: RemittanceFileRecord[] = [];
  for (const [provider, list] of byPayee) {
    control = (control % 999_999_999) + 1;
    const traceNumber = `${runId}-${files.length + 1}`;
    const name = path.join('remittances', `${runId}-${provider}.835`);
    writeRemittanceFile(path.join(deps.nodeDir, name), {
      controlNumber: control,
      producedAt: at,
      paymentDate: new Date(at).toISOString().slice(0, 10),
      traceNumber,
      payer,
      payee: await deps.payee(provider),
      claims: list.map((c) => c.remit),
    });
    files.push({
      file: name,
      payee: provider,
      controlNumber: control,
      traceNumber,
      claims: list.length,
      paidCents: list.reduce((n, c) => n + Number(c.record.approved), 0),
    });
  }
  return files;
}
