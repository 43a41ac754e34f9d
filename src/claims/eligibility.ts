/**
 * Insurance eligibility between members (issue 13), both ends:
 *
 * - the provider (`requestEligibility`): a billing user's CoverageEligibilityRequest for a patient
 *   stored here; the insurer named in it, or else the payer of the patient's stored Coverage; the
 *   request stored (logged), sent member-signed to the insurer's `/federation/eligibility`, the
 *   checked answer stored (logged) and returned;
 * - the insurer (`parseEligibilityAsk` + `answerEligibility`): the request checked against the
 *   signer, the patient's enrollment read through the gatekeeper under purpose `payment` (logged
 *   before use), and a CoverageEligibilityResponse saying whether coverage is in force that day.
 *
 * References to the patient travel as the chain-address identifier: local ids mean nothing at the
 * other member. Stored copies point at the local Patient and request as well.
 */
import { randomUUID } from 'node:crypto';
import type {
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  Identifier,
} from '@medplum/fhirtypes';
import type { Address, LocalAccount } from 'viem';
import { type Actor, type Gatekeeper, patientQuery } from '../access/gatekeeper.js';
import { mayAccess } from '../access/roles.js';
import { rolesToMask } from '../chain/scopes.js';
import { AccessDeniedError, BusinessRuleError, forbidden, UnavailableError } from '../errors.js';
import {
  parseEligibilityAsk as parseAskWire,
  parseEligibilityAnswer,
} from '../federation/eligibilityWire.js';
import { callable, type MemberTarget, postSigned } from '../federation/memberClient.js';
import { MEMBER_SYSTEM } from '../fhir/remoteCodes.js';
import { PATIENT_ADDRESS_SYSTEM } from '../fhir/resourceTypes.js';
import type { StoredResource } from '../records/recordService.js';
import { EligibilityMalformedError, EligibilityRefusedError } from './claimsError.js';
import { coverageFacts, coverageWith } from './coverageFacts.js';
import {
  checkEligibilityResponse,
  ELIGIBILITY_REQUEST_SYSTEM,
  type EligibilityFinding,
  type EligibilityQuestion,
  eligibilityPatient,
  eligibilityResponse,
  parseEligibilityRequest,
} from './fhirEligibility.js';

const INSURER_ROLE = rolesToMask(['INSURER']);

/** What the provider's side needs. */
export interface EligibilityRequester {
  gate: Gatekeeper;
  /** This member's account. */
  self: Address;
  signer: LocalAccount;
  /** A member as the Registry has it (endpoint, roles, active). */
  member(address: Address): Promise<MemberTarget & { active: boolean; roles: number }>;
  /** The member-signed POST (default: memberClient.postSigned). */
  post?: typeof postSigned;
}

const patientIdentifier = (patient: Address) => ({ system: PATIENT_ADDRESS_SYSTEM, value: patient });

/** The stored Patient of `patient` here, read (and logged) as `actor`; refused when there is none. */
async function localPatient(gate: Gatekeeper, actor: Actor, patient: Address): Promise<StoredResource> {
  const { resources } = await gate.search(
    actor,
    patientQuery('Patient', patient, 1),
    gate.queryHash('Patient', { identifier: `${PATIENT_ADDRESS_SYSTEM}|${patient.toLowerCase()}` }),
  );
  const found = resources[0];
  if (!found)
    throw new EligibilityRefusedError(
      'unknown-patient',
      `no Patient with identifier ${PATIENT_ADDRESS_SYSTEM}|${patient} is stored at this member; register the patient first`,
    );
  return found;
}

/** The payer of the patient's stored Coverage (the first active one), read and logged as `actor`. */
async function insurerFromCoverage(gate: Gatekeeper, actor: Actor, patient: Address): Promise<Address> {
  const { resources } = await gate.search(
    actor,
    patientQuery('Coverage', patient),
    gate.queryHash('Coverage', { patient: patient.toLowerCase() }),
  );
  const facts = resources.map((c) => coverageFacts(c as Coverage)).filter((f) => f !== undefined);
  const payer = (facts.find((f) => f.status === 'active') ?? facts[0])?.payer;
  if (!payer)
    throw new EligibilityRefusedError(
      'no-coverage',
      'the patient has no Coverage naming an insurer of the consortium here; name the insurer as CoverageEligibilityRequest.insurer (identifier urn:medchain:member|0x…)',
    );
  return payer;
}

/**
 * `POST [base]/CoverageEligibilityRequest/$submit` at the provider: ask the insurer, store the
 * request and the answer, return the answer (its patient and request pointing at the local ones).
 */
export async function requestEligibility(
  deps: EligibilityRequester,
  actor: Actor,
  body: unknown,
): Promise<StoredResource> {
  if (actor.role === 'operator' || !mayAccess(actor.role, 'write', 'CoverageEligibilityRequest'))
    throw new AccessDeniedError(`the ${actor.role} role may not ask insurers about eligibility`, 'role');
  const patient = eligibilityPatient(body);
  const b = body as CoverageEligibilityRequest;
  const local = await localPatient(deps.gate, actor, patient);
  const insurer = b.insurer
    ? b.insurer
    : {
        identifier: {
          system: MEMBER_SYSTEM,
          value: await insurerFromCoverage(deps.gate, actor, patient),
        },
      };
  const requestId: Identifier = { system: ELIGIBILITY_REQUEST_SYSTEM, value: randomUUID() };
  const wireRequest: CoverageEligibilityRequest = {
    ...b,
    identifier: [...(b.identifier ?? []).filter((i) => i.system !== ELIGIBILITY_REQUEST_SYSTEM), requestId],
    patient: { identifier: patientIdentifier(patient) },
    insurer,
    provider: b.provider ?? { identifier: { system: MEMBER_SYSTEM, value: deps.self } },
  };
  delete wireRequest.id;
  delete wireRequest.meta;
  const q = parseEligibilityRequest(wireRequest);
  if (q.provider !== deps.self)
    throw new EligibilityMalformedError(
      'CoverageEligibilityRequest.provider',
      'must be this member (a provider asks in its own name)',
    );
  const target = await deps.member(q.insurer);
  if (!target.active || (target.roles & INSURER_ROLE) === 0 || !callable(target))
    throw new EligibilityRefusedError(
      'not-an-insurer',
      `${q.insurer} is not an active insurer of the consortium with an endpoint; check CoverageEligibilityRequest.insurer or the patient's Coverage`,
    );
  const stored = await deps.gate.create(actor, 'CoverageEligibilityRequest', {
    ...wireRequest,
    patient: { reference: `Patient/${local.id}`, identifier: patientIdentifier(patient) },
  });
  const reply = await (deps.post ?? postSigned)(
    deps.signer,
    target,
    '/federation/eligibility',
    JSON.stringify({ request: wireRequest }),
  );
  if (reply.kind === 'unreachable')
    throw new UnavailableError(
      'insurer-unreachable',
      `${target.name || q.insurer} did not answer; the request is stored as CoverageEligibilityRequest/${stored.id}, try again later`,
    );
  if (reply.kind === 'refused')
    throw new BusinessRuleError(
      `the insurer refused the eligibility request (${reply.status}): ${reply.message}`,
    );
  const answer = checkEligibilityResponse(parseEligibilityAnswer(reply.body), q);
  const response: CoverageEligibilityResponse = {
    ...answer,
    patient: { reference: `Patient/${local.id}`, identifier: patientIdentifier(patient) },
    request: {
      reference: `CoverageEligibilityRequest/${stored.id}`,
      ...(answer.request.identifier ? { identifier: answer.request.identifier } : {}),
    },
  };
  delete response.id;
  delete response.meta;
  return deps.gate.create(actor, 'CoverageEligibilityResponse', response);
}

/**
 * The insurer's check of an incoming message from member `caller`, before anything is read: the
 * request is valid, for this insurer, and (when it names its provider) in the caller's own name.
 */
export function parseEligibilityAsk(self: Address, caller: Address, body: unknown): EligibilityQuestion {
  const q = parseEligibilityRequest(parseAskWire(body));
  if (q.insurer !== self)
    throw new BusinessRuleError(`this request is for insurer ${q.insurer}, not this member (${self})`);
  if (q.provider !== undefined && q.provider !== caller)
    throw forbidden('a provider asks about eligibility only in its own name', 'not-own-request');
  return q;
}

/** The insurer's answer to a checked request from `caller` (its enrollment read and logged first). */
export async function answerEligibility(
  deps: { gate: Gatekeeper; self: Address; now?: () => number },
  caller: Address,
  q: EligibilityQuestion,
): Promise<{ response: CoverageEligibilityResponse }> {
  const { enrolled, coverages } = await deps.gate.coverageForEligibility(caller, q.patient);
  let finding: EligibilityFinding;
  if (!enrolled) finding = { kind: 'not-enrolled' };
  else {
    const facts = coverageWith(coverages as Coverage[], deps.self);
    if (!facts) finding = { kind: 'no-coverage' };
    else {
      // The Coverage those facts came from, for its member number.
      const held = (coverages as Coverage[]).find((c) => {
        const f = coverageFacts(c);
        return f?.payer === facts.payer && f.status === facts.status && f.start === facts.start;
      });
      const id = held?.identifier?.[0];
      finding = {
        kind: 'covered',
        facts,
        coverage: id?.value ? { ...(id.system ? { system: id.system } : {}), value: id.value } : undefined,
      };
    }
  }
  return { response: eligibilityResponse(q, finding, new Date((deps.now ?? Date.now)())) };
}
