/**
 * The insurer's intake of a member-signed claim submission (`POST /federation/claims`, issue 13):
 * parse it, refuse a replay (documents already held under its on-chain claim id, or a decision
 * on chain) before anything is recorded, check it against the chain (submissionContext.ts), read
 * its own Coverage and claim history of the patient, adjudicate, store the Claim, ClaimResponse
 * and the patient's ExplanationOfBenefit, record the decision on chain (DecisionRecorder) and
 * answer the ClaimResponse.
 *
 * How the insurer keeps them (for payment runs and disputes): the three documents are stored
 * under one FHIR id, the on-chain claim id without 0x (`Claim/<id>`, `ClaimResponse/<id>`,
 * `ExplanationOfBenefit/<id>`), each with identifier `urn:medchain:claim|0x<id>`, all linked to the
 * insurer's enrolled Patient. The EOB carries the dispute facts (claim id and salt) in the
 * extension `urn:medchain:extension:claim-dispute` (claimDocuments.ts). The state on chain
 * (Claims.claimOf) is the authority on approved/pended/denied/paid; the ClaimResponse has the line
 * amounts and reason codes.
 *
 * Every read and write goes through the gatekeeper as the provider's submission under the
 * purpose `payment` (actor `member:<provider>`, role billing), logged before anything is answered.
 */
import type { Claim, ClaimResponse, Coverage } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { type Actor, type Gatekeeper, PROVIDER_ROLES } from '../access/gatekeeper.js';
import type { ClaimsView } from '../chain/claimsView.js';
import { forbidden } from '../errors.js';
import { parseClaimSubmission } from '../federation/claimSubmissionWire.js';
import type { ResourceType } from '../fhir/resourceTypes.js';
import { MAX_COUNT, parseSearch } from '../fhir/search.js';
import { revise, type Validated } from '../fhir/validate.js';
import type { RecordService } from '../records/recordService.js';
import { adjudicate } from './adjudicate.js';
import { chainDecision } from './chainDecision.js';
import { claimIdOf, documentId, insurerClaimCopy, priorLinesOf } from './claimDocuments.js';
import { ClaimReplayedError, ClaimSubmissionRefusedError } from './claimsError.js';
import { coverageFacts } from './coverageFacts.js';
import type { DecisionRecorder } from './decisionRecorder.js';
import type { EditTables } from './editTables.js';
import { parseValidClaim } from './fhirClaim.js';
import { insurerAnswer } from './insurerAnswer.js';
import type { ProviderLineKeys } from './lineKey.js';
import type { ClaimInput, CoverageFacts, Decision, PriorLine } from './model.js';
import { type CheckedSubmission, checkSubmission, type SubmissionChain } from './submissionContext.js';

export interface IntakeDeps {
  gate: Gatekeeper;
  records: Pick<RecordService, 'patientIdsForAddress' | 'head'>;
  chain: SubmissionChain & Pick<ClaimsView, 'claimOf'>;
  recorder: Pick<DecisionRecorder, 'record'>;
  tables: EditTables;
  /** This insurer's account. */
  self: Address;
  /** Providers' line-commitment keys, opened from submissions and checked against chain (lineKey.ts). */
  lineKeys: Pick<ProviderLineKeys, 'keyOf'>;
  /** A member's Registry entry: only providers submit claims (an insurer would learn who insures whom). */
  member?: (a: Address) => Promise<{ active: boolean; roles: number }>;
  now?: () => number;
}

/** What the intake did: the ClaimResponse answered, and the decision (for callers and tests). */
export interface IntakeResult {
  response: ClaimResponse;
  decision: Decision;
}

/** Claim ids whose intake is under way (a concurrent replay is refused, not adjudicated twice). */
const inFlight = new WeakMap<IntakeDeps, Set<string>>();

/** The patient's records of each of `types` held here, searched through the gatekeeper, logged together. */
async function patientRecords(
  gate: Gatekeeper,
  actor: Actor,
  patient: Address,
  types: readonly ResourceType[],
) {
  const query = { patient, _count: String(MAX_COUNT) };
  const found = await gate.searchAll(
    actor,
    types.map((t) => ({ query: parseSearch(t, query), queryHash: gate.queryHash(t, query) })),
  );
  return found.map((f) => f.resources);
}

/** Adjudicate the submission `body` member `caller` signed; throws a typed error when refused. */
export async function intakeClaim(deps: IntakeDeps, caller: Address, body: unknown): Promise<IntakeResult> {
  const sub = parseClaimSubmission(body);
  // Before anything of the patient is read: an answer would say whether this insurer covers them.
  const m = deps.member ? await deps.member(caller) : undefined;
  if (m && (!m.active || (m.roles & PROVIDER_ROLES) === 0))
    throw forbidden(
      'claims are submitted by providers (hospitals, clinics, labs, pharmacies) only',
      'not-a-provider',
    );
  // Validated once, here where it enters; the stored copy is a `revise`d copy of this value.
  const { claim, fhir: submitted } = parseValidClaim(sub.claim);
  const claimId = sub.batch.claimId;
  const flying = inFlight.get(deps) ?? new Set<string>();
  inFlight.set(deps, flying);
  if (flying.has(claimId)) throw new ClaimReplayedError(`claim ${claimId} is being adjudicated right now`);
  flying.add(claimId);
  try {
    const held = deps.records.head('Claim', documentId(claimId));
    if (held) throw new ClaimReplayedError(`claim ${claimId} was received before`);
    // The chain checks (the signer is the provider, the batch leaf is this claim) before anything
    // of the patient is read. Their reads and the replay's go out together (one JSON-RPC batch);
    // a replay is answered as one first.
    const [decided, checked] = await Promise.allSettled([
      deps.chain.claimOf(claimId),
      // The sender's line-commitment key, the one it pinned on chain (else refused, nothing stored).
      deps.lineKeys.keyOf(caller, sub.lineKey).then((commitmentKey) =>
        checkSubmission(claim, sub, deps.chain, {
          self: deps.self,
          sender: caller,
          commitmentKey,
          coverage: undefined,
          history: [],
        }),
      ),
    ]);
    if (decided.status === 'rejected') throw decided.reason;
    if (decided.value) throw new ClaimReplayedError(`claim ${claimId} was decided on chain before`);
    if (checked.status === 'rejected') throw checked.reason;
    return await adjudicateChecked(deps, caller, sub, submitted, claim, checked.value);
  } finally {
    flying.delete(claimId);
  }
}

async function adjudicateChecked(
  deps: IntakeDeps,
  caller: Address,
  sub: ReturnType<typeof parseClaimSubmission>,
  submitted: Validated<Claim>,
  claim: ClaimInput,
  checked: CheckedSubmission,
): Promise<IntakeResult> {
  const claimId = sub.batch.claimId;
  const patientId = deps.records.patientIdsForAddress(claim.patient)[0];
  if (!patientId)
    throw new ClaimSubmissionRefusedError(`the patient ${claim.patient} is not enrolled with this insurer`);
  const actor: Actor = { id: `member:${caller}`, role: 'billing', purpose: 'payment' };

  // The patient's Coverages and the claims held (Claims, ClaimResponses): read, and logged, at once.
  const [coverages, heldClaims, heldResponses] = await patientRecords(deps.gate, actor, claim.patient, [
    'Coverage',
    'Claim',
    'ClaimResponse',
  ]);
  const ours = (coverages as unknown as Coverage[])
    .map((c) => ({ c, f: coverageFacts(c) }))
    .filter(
      (x): x is { c: Coverage; f: CoverageFacts } => x.f?.payer.toLowerCase() === deps.self.toLowerCase(),
    );
  const chosen = ours.find((x) => x.f.status === 'active') ?? ours[0];
  const history = heldLines(heldClaims as unknown as Claim[], heldResponses as unknown as ClaimResponse[]);
  const decision = adjudicate(claim, { ...checked.context, coverage: chosen?.f, history }, deps.tables);

  const id = documentId(claimId);
  const created = new Date(deps.now?.() ?? Date.now()).toISOString();
  const copy = revise(
    submitted,
    insurerClaimCopy(submitted, {
      claimId,
      provider: claim.provider,
      patientId,
      patient: claim.patient,
      ...(chosen?.c.id ? { coverageId: chosen.c.id } : {}),
    }),
  );
  const { answer, ownResponse, eob } = insurerAnswer(submitted, copy, decision, {
    id,
    created,
    claimId,
    patient: claim.patient,
    patientId,
    salt: sub.batch.salt,
  });
  // One commit for the three (all or none), each logged; If-Match 0: nothing is stored twice.
  await deps.gate.updateAll(actor, [
    { type: 'Claim', id, body: copy, ifMatch: 0 },
    { type: 'ClaimResponse', id, body: ownResponse, ifMatch: 0 },
    { type: 'ExplanationOfBenefit', id, body: eob, ifMatch: 0 },
  ]);
  await deps.recorder.record(
    checked.root,
    checked.leaf,
    checked.proof,
    chainDecision(decision),
    checked.batchClaims,
  );
  return { response: answer, decision };
}

/** The lines of the patient's other claims this insurer holds approved or pended (its history). */
function heldLines(claims: readonly Claim[], responses: readonly ClaimResponse[]): PriorLine[] {
  const byId = new Map(responses.map((r) => [claimIdOf(r), r]));
  return claims.flatMap((c) => {
    const r = byId.get(claimIdOf(c));
    return r && claimIdOf(c) ? priorLinesOf(c, r) : [];
  });
}
