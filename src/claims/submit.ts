/**
 * `Claim/$submit` at the provider's node (issue 13), for a signed-in billing user:
 *
 *   1. refuse, before anything is stored or anchored: a malformed Claim (parseClaim), a claim
 *      naming another provider, a patient this member does not hold, an insurer the patient has
 *      no Coverage with here (or a focal Coverage of another payer), a claim submitted before
 *      (same id or business identifier already carrying an on-chain claim id);
 *   2. store the Claim (its patient this member's Patient, the new on-chain claim id as identifier);
 *   3. build the evidence of service from this member's own log (providerEvidence.ts);
 *   4. anchor the claim's leaf and line commitments on chain in a batch (ClaimBatcher) BEFORE
 *      sending: the insurer checks them there;
 *   5. send the submission member-signed to the insurer's `POST /federation/claims`, store the
 *      ClaimResponse it answers and return it.
 *
 * Every read and write of the documents goes through the gatekeeper under the user's purpose
 * (payment for billing), so each is logged before anything is served. If the batch cannot be
 * anchored, or the insurer refuses the submission (4xx), the stored Claim loses its claim id again
 * (a new version), so it can be submitted again; when the insurer does not answer (or fails, 5xx)
 * it may have decided, so the Claim stays submitted.
 */
import type { Claim, ClaimResponse, Coverage, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { Actor, Gatekeeper } from '../access/gatekeeper.js';
import { linesHash, patientCommitment, random32 } from '../chain/claimBatch.js';
import type { ClaimSubmission, WireLineKey } from '../federation/claimSubmissionWire.js';
import type { MemberReply, MemberTarget } from '../federation/memberClient.js';
import type { ResourceType } from '../fhir/resourceTypes.js';
import { MAX_COUNT, parseSearch } from '../fhir/search.js';
import { FHIR_ID, revise, type Validated } from '../fhir/validate.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { RecordService, StoredResource } from '../records/recordService.js';
import type { ClaimBatcher } from './claimBatcher.js';
import {
  CLAIM_ID_SYSTEM,
  claimIdOf,
  claimOfSubmitBody,
  patientReference,
  withClaimId,
} from './claimDocuments.js';
import { ClaimNotSubmittableError, ClaimReplayedError, InsurerUnavailableError } from './claimsError.js';
import { coverageFacts } from './coverageFacts.js';
import { parseValidClaim } from './fhirClaim.js';
import { claimLineCommitments } from './lineCommitment.js';
import type { ClaimInput } from './model.js';
import { providerEvidence } from './providerEvidence.js';

/** The insurer's route for submissions. */
export const FEDERATION_CLAIMS_PATH = '/federation/claims';

export interface SubmitDeps {
  gate: Gatekeeper;
  records: Pick<RecordService, 'patientIdsForAddress' | 'head'>;
  log: Pick<TransparencyLog, 'entriesForPatient' | 'inclusionProof'>;
  /** Sizes of this member's log heads anchored on chain, ascending (LogPublisher.anchoredHeads). */
  anchoredSizes: () => number[];
  /** This member's account. */
  self: Address;
  /** This provider's line-commitment key (lineKey.ts providerLineKey). */
  commitmentKey: Uint8Array;
  /** That key sealed to the insurer (lineKey.ts LineKeySealer): it travels in the submission. */
  sealLineKey: (insurer: Address) => Promise<WireLineKey>;
  batcher: Pick<ClaimBatcher, 'submit'>;
  /** The insurer as the Registry lists it. */
  member: (a: Address) => Promise<MemberTarget & { active: boolean }>;
  /** POST the serialized submission, member-signed (memberClient.ts postSigned). */
  send: (target: MemberTarget, path: string, payload: string) => Promise<MemberReply>;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The patient's records of `type` held here, read through the gatekeeper (logged). */
async function patientRecords<T extends Resource>(
  gate: Gatekeeper,
  actor: Actor,
  type: ResourceType,
  patient: Address,
): Promise<T[]> {
  const query = { patient, _count: String(MAX_COUNT) };
  const found = await gate.search(actor, parseSearch(type, query), gate.queryHash(type, query));
  return found.resources as unknown as T[];
}

/** Claims whose submission is under way here, by id and business identifier (a concurrent replay). */
const inFlight = new WeakMap<SubmitDeps, Set<string>>();

/** Submit the Claim in `body` (a Claim or a PAS Bundle) for `actor`; returns the stored ClaimResponse. */
export async function submitClaim(deps: SubmitDeps, actor: Actor, body: unknown): Promise<StoredResource> {
  // Validated once, here where it enters; the stored Claim is a `revise`d copy of this value.
  const { claim, fhir } = parseValidClaim(claimOfSubmitBody(body));
  if (!same(claim.provider, deps.self))
    throw new ClaimNotSubmittableError(
      `Claim.provider is ${claim.provider}, not this member (${deps.self}): a provider submits only its own claims`,
    );
  const patientId = deps.records.patientIdsForAddress(claim.patient)[0];
  if (!patientId)
    throw new ClaimNotSubmittableError(
      `the patient ${claim.patient} (Claim.patient) is not held at this member: store their Patient first`,
    );
  await checkCoverage(deps, actor, fhir, claim);

  const keys = [
    `id:${claim.id}`,
    ...(fhir.identifier ?? [])
      .filter((i) => i.system !== CLAIM_ID_SYSTEM && i.value)
      .map((i) => `ident:${i.system ?? ''}|${i.value}`),
  ];
  const flying = inFlight.get(deps) ?? new Set<string>();
  inFlight.set(deps, flying);
  if (keys.some((k) => flying.has(k)))
    throw new ClaimReplayedError(`Claim/${claim.id} is being submitted right now`);
  for (const k of keys) flying.add(k);
  try {
    await refuseReplay(deps, actor, fhir, claim);
    return await submitChecked(deps, actor, fhir, claim, patientId);
  } finally {
    for (const k of keys) flying.delete(k);
  }
}

/** The insurer must be the payer of a Coverage of the patient held here (and of the focal one named). */
async function checkCoverage(deps: SubmitDeps, actor: Actor, fhir: Claim, claim: ClaimInput): Promise<void> {
  const coverages = await patientRecords<Coverage>(deps.gate, actor, 'Coverage', claim.patient);
  const withPayer = coverages.filter((c) => {
    const f = coverageFacts(c);
    return f !== undefined && same(f.payer, claim.payer);
  });
  if (withPayer.length === 0) {
    const payers = [...new Set(coverages.map((c) => coverageFacts(c)?.payer).filter(Boolean))];
    throw new ClaimNotSubmittableError(
      payers.length === 0
        ? `the patient has no Coverage held here; store their Coverage with ${claim.payer} first`
        : `Claim.insurer (${claim.payer}) is not the payer of any Coverage of the patient held here (payers: ${payers.join(', ')})`,
    );
  }
  const focal = (fhir.insurance ?? []).find((i) => i.focal)?.coverage?.reference;
  const m = focal ? /^Coverage\/(.+)$/.exec(focal) : null;
  if (m) {
    const named = coverages.find((c) => c.id === m[1]);
    if (!named)
      throw new ClaimNotSubmittableError(
        `Claim.insurance: ${focal} is not a Coverage of this patient held here`,
      );
    if (!withPayer.includes(named))
      throw new ClaimNotSubmittableError(
        `Claim.insurance: ${focal} is a Coverage with another payer than Claim.insurer (${claim.payer})`,
      );
  }
}

/** A claim already submitted here (its id, or a business identifier, carries an on-chain claim id). */
async function refuseReplay(deps: SubmitDeps, actor: Actor, fhir: Claim, claim: ClaimInput): Promise<void> {
  const head = deps.records.head('Claim', claim.id);
  if (head && !head.deleted) {
    const stored = (await deps.gate.read(actor, 'Claim', claim.id)) as unknown as Claim;
    const id = claimIdOf(stored);
    if (id) throw new ClaimReplayedError(`Claim/${claim.id} was submitted as claim ${id}`);
  }
  for (const ident of fhir.identifier ?? []) {
    if (ident.system === CLAIM_ID_SYSTEM || !ident.value) continue;
    const query = { identifier: `${ident.system ? `${ident.system}|` : ''}${ident.value}`, _count: '10' };
    const found = await deps.gate.search(
      actor,
      parseSearch('Claim', query),
      deps.gate.queryHash('Claim', query),
    );
    const prior = found.resources.find((r) => r.id !== claim.id && claimIdOf(r as unknown as Claim));
    if (prior)
      throw new ClaimReplayedError(
        `Claim/${prior.id} with the identifier ${ident.value} was submitted already`,
      );
  }
}

async function submitChecked(
  deps: SubmitDeps,
  actor: Actor,
  fhir: Validated<Claim>,
  claim: ClaimInput,
  patientId: string,
): Promise<StoredResource> {
  const insurer = await deps.member(claim.payer);
  if (!insurer.active || !/^https?:\/\//.test(insurer.endpoint))
    throw new ClaimNotSubmittableError(`the insurer ${claim.payer} is not an active member with an endpoint`);
  const lineKey = await deps.sealLineKey(claim.payer);
  const claimId = random32();
  const salt = random32();
  const { meta: _meta, ...rest } = fhir;
  const toStore = revise(fhir, {
    ...rest,
    identifier: withClaimId(fhir.identifier, claimId),
    patient: patientReference(patientId, claim.patient),
  });
  await deps.gate.update(actor, 'Claim', claim.id, toStore);

  const encounterIds = [...new Set(claim.lines.flatMap((l) => l.encounters))];
  const evidence = providerEvidence(deps.log, deps.anchoredSizes(), claim.patient, encounterIds);
  const commitments = claimLineCommitments(deps.commitmentKey, claim);
  // Not submitted after all (the batch failed, or the insurer refused it outright): the stored
  // Claim loses its claim id again, so it may be submitted again.
  const unmark = () =>
    deps.gate.update(
      actor,
      'Claim',
      claim.id,
      revise(toStore, {
        ...toStore,
        identifier: (toStore.identifier ?? []).filter((i) => i.system !== CLAIM_ID_SYSTEM),
      }),
    );
  let batch: { root: Hex; proof: Hex[] };
  try {
    batch = await deps.batcher.submit(
      {
        claimId,
        provider: claim.provider,
        payer: claim.payer,
        patientCommitment: patientCommitment(claim.patient, salt),
        linesHash: linesHash(commitments),
        billed: BigInt(claim.total),
      },
      commitments,
    );
  } catch (err) {
    await unmark();
    throw err;
  }

  const submission: ClaimSubmission = {
    claim: toStore as unknown as Record<string, unknown>,
    evidence,
    batch: { root: batch.root, claimId, salt, proof: batch.proof },
    lineKey,
  };
  const reply = await deps.send(insurer, '/federation/claims', JSON.stringify(submission));
  // No answer, or the insurer's own fault: it may have decided, so the claim stays submitted.
  if (reply.kind === 'unreachable' || (reply.kind === 'refused' && reply.status >= 500))
    throw new InsurerUnavailableError(
      `the insurer (${insurer.name || insurer.address}) did not answer${reply.kind === 'refused' ? ` (${reply.message})` : ''}; the claim ${claimId} is anchored and stays submitted`,
    );
  if (reply.kind === 'refused') {
    await unmark();
    throw new ClaimNotSubmittableError(
      `the insurer refused the claim (status ${reply.status}): ${reply.message}`,
    );
  }
  const response = reply.body as ClaimResponse;
  if (
    response?.resourceType !== 'ClaimResponse' ||
    typeof response.id !== 'string' ||
    !FHIR_ID.test(response.id) ||
    response.request?.reference !== `Claim/${claim.id}` ||
    claimIdOf(response) !== claimId
  )
    throw new InsurerUnavailableError(
      'the insurer answered something that is not the ClaimResponse to this claim',
    );
  const { meta: _m, ...answer } = response;
  const stored = await deps.gate.update(
    actor,
    'ClaimResponse',
    response.id,
    { ...answer, patient: patientReference(patientId, claim.patient) },
    0,
  );
  return stored.resource;
}
