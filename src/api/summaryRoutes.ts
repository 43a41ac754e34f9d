/**
 * The International Patient Summary (HL7 IPS 2.0.0 `$summary`): an IPS document Bundle of the
 * patient's problems, allergies and medications, validated against the vendored IPS profiles
 * before it is served.
 *
 *   GET /fhir/Patient/<id>/$summary       a member's user: this member's records and what every other
 *                                          member releases under the patient's consent (federated read)
 *   GET /patients/<address>/summary        the patient themself: their records held at this member
 *
 * Every record comes through the gatekeeper (search, federated read, patient export), which decides
 * and logs each release before this module sees it; refusals are told in the sections' narrative
 * and an empty section's emptyReason (`withheld`).
 */
import { randomUUID } from 'node:crypto';
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { type Address, getAddress, isAddress } from 'viem';
import { type Actor, patientQuery } from '../access/gatekeeper.js';
import type { AccessPurpose } from '../access/purposeOfUse.js';
import { mayAccess, type UserRole } from '../access/roles.js';
import { badRequest, notFound, unprocessable } from '../errors.js';
import { TYPE_OPERATIONS } from '../fhir/interactions.js';
import {
  assembleIpsDocument,
  type SummaryMember,
  type SummaryNote,
  type SummaryRecord,
} from '../fhir/ips/ipsDocument.js';
import { IPS_BASE, type IpsProfiles, loadIpsProfiles, type SectionSlice } from '../fhir/ips/ipsProfiles.js';
import { validateIpsDocument, validateIpsEntry } from '../fhir/ips/validateIps.js';
import { MEMBER_SOURCE_PREFIX, RESOURCE_TYPE_SYSTEM } from '../fhir/remoteCodes.js';
import { isResourceType, PATIENT_ADDRESS_SYSTEM, type ResourceType } from '../fhir/resourceTypes.js';
import { MAX_COUNT, parseSearch } from '../fhir/search.js';
import { sensitiveCategories } from '../records/recordCategory.js';
import type { StoredResource } from '../records/recordService.js';
import { actorOf, idParam, send } from './http.js';
import { requirePatient } from './patientRoutes.js';
import { remoteOutcomeEntries } from './remoteOutcomes.js';
import type { ApiDeps } from './server.js';

/** The required sections of Composition-uv-ips and the stored types each lists (from the profile). */
export function summarySections(
  profiles: IpsProfiles,
): { slice: SectionSlice; resourceTypes: ResourceType[] }[] {
  return profiles.sections
    .filter((s) => s.min > 0)
    .map((slice) => ({
      slice,
      // DocumentReference is allowed in every section (a document about it); only structured records here.
      resourceTypes: slice.entryTypes.filter(
        (t): t is ResourceType => isResourceType(t) && t !== 'DocumentReference',
      ),
    }));
}

/** Notes for the sections from what other members did (the same words as a search's outcome entries). */
function remoteNotes(outcomes: Parameters<typeof remoteOutcomeEntries>[0], purpose: string): SummaryNote[] {
  return remoteOutcomeEntries(outcomes, purpose).flatMap((e) =>
    (
      (
        e.resource as {
          issue?: {
            code?: string;
            details?: { text?: string; coding?: { system?: string; code?: string }[] };
          }[];
        }
      ).issue ?? []
    ).map((i) => {
      const type = i.details?.coding?.find((c) => c.system === RESOURCE_TYPE_SYSTEM)?.code;
      return {
        ...(type ? { resourceType: type } : {}),
        text: i.details?.text ?? 'a member did not answer',
        withheld: i.code === 'suppressed',
      };
    }),
  );
}

/** Keep the records that conform to their IPS profile; a note for each left out. */
function conforming(
  records: SummaryRecord[],
  profiles: IpsProfiles,
): { kept: SummaryRecord[]; notes: SummaryNote[] } {
  const kept: SummaryRecord[] = [];
  const notes: SummaryNote[] = [];
  for (const r of records) {
    const issues = validateIpsEntry(r.resource, profiles);
    if (issues.length === 0) kept.push(r);
    else
      notes.push({
        resourceType: r.resource.resourceType,
        text: `a ${r.resource.resourceType} from ${r.member.name} was left out: it does not conform to the IPS profile (${issues[0]?.details?.text ?? 'invalid'})`,
        withheld: false,
      });
  }
  return { kept, notes };
}

/** Assemble and validate; a document that does not validate is not served (422 with the issues). */
function build(
  profiles: IpsProfiles,
  patient: Patient,
  author: SummaryMember,
  records: SummaryRecord[],
  notes: SummaryNote[],
) {
  const { kept, notes: leftOut } = conforming(records, profiles);
  const doc = assembleIpsDocument({
    patient,
    author,
    sections: summarySections(profiles),
    records: kept,
    notes: [...notes, ...leftOut],
    confidentiality: kept.some((r) => sensitiveCategories(r.resource).length > 0) ? 'R' : 'N',
    now: new Date(),
    uuid: randomUUID,
  });
  const issues = validateIpsDocument(doc, profiles);
  if (issues.length > 0)
    throw unprocessable(
      `the patient summary does not conform to the IPS profiles: ${issues[0]?.details?.text ?? ''} (${issues.length} problem(s))`,
      issues,
    );
  return doc;
}

const BUNDLE_PROFILE = `${IPS_BASE}Bundle-uv-ips`;

/** GET /fhir/Patient/<id>/$summary, GET /fhir/Patient/$summary?identifier=…, GET /patients/<address>/summary. */
export function summaryRoutes(
  app: FastifyInstance,
  deps: Pick<ApiDeps, 'gate' | 'federatedSearch' | 'portal'>,
): void {
  const gate = deps.gate;
  const self: SummaryMember = {
    address: gate.log.member,
    name: deps.portal?.config.member.name || gate.log.member,
  };

  /** The clinician's summary of the local Patient `id`: local records and what other members release. */
  async function clinicianSummary(actor: Actor, id: string, query: Record<string, unknown>) {
    if (query.profile !== undefined && query.profile !== BUNDLE_PROFILE)
      throw badRequest(`profile: only ${BUNDLE_PROFILE} is produced`);
    const profiles = loadIpsProfiles();
    const all = [...new Set(summarySections(profiles).flatMap((s) => s.resourceTypes))];
    const types = all.filter((t) => actor.role === 'operator' || mayAccess(actor.role, 'read', t));
    const notes: SummaryNote[] = all
      .filter((t) => !types.includes(t))
      .map((t) => ({ resourceType: t, text: `the ${actor.role} role may not read ${t}`, withheld: true }));
    const patient = (await gate.read(actor, 'Patient', id)) as Patient;
    const raw = patient.identifier?.find((i) => i.system === PATIENT_ADDRESS_SYSTEM)?.value;
    const address: Address | undefined = raw && isAddress(raw) ? getAddress(raw) : undefined;
    const records: SummaryRecord[] = [];
    const names = new Map<string, string>();
    if (deps.federatedSearch && address && types.length > 0) {
      // Other members first, as $everything: if this user may not ask them, nothing is served.
      const remote = await deps.federatedSearch(actor, {
        patient: address,
        resourceTypes: types,
        purpose: actor.purpose as AccessPurpose,
        userRole: actor.role as UserRole,
        breakGlass: null,
      });
      for (const o of remote.outcomes) names.set(o.address, o.member);
      notes.push(...remoteNotes(remote.outcomes, actor.purpose));
      for (const r of remote.resources) records.push({ resource: r, member: memberOf(r, names) });
    }
    for (const type of types) {
      const q = parseSearch(type, { patient: `Patient/${id}`, _count: String(MAX_COUNT) });
      const local = await gate.search(
        actor,
        q,
        gate.queryHash(type, { patient: `Patient/${id}`, $summary: 'true' }),
      );
      for (const r of local.resources) records.push({ resource: r, member: self });
      if (local.total > local.resources.length)
        notes.push({
          resourceType: type,
          text: `only the newest ${MAX_COUNT} ${type} records at ${self.name} are listed`,
          withheld: false,
        });
    }
    return build(profiles, patient, self, records, notes);
  }

  /** Break-glass is not offered here: refuse rather than silently read without it. */
  const noBreakGlass = (headers: Record<string, unknown>) => {
    if (headers['x-break-glass-reason'] !== undefined)
      throw badRequest(
        'break the glass on a search for one patient by chain address (GET /fhir/<type>?patient=0x…); $summary reads under consent only',
      );
  };

  app.get(TYPE_OPERATIONS.Patient.summary.route.url, async (request, reply) => {
    noBreakGlass(request.headers);
    const id = idParam((request.params as { id: string }).id);
    return send(
      reply,
      200,
      await clinicianSummary(actorOf(request), id, request.query as Record<string, unknown>),
    );
  });

  // Type level (IPS OperationDefinition summary): the patient by identifier, here their chain address.
  app.get('/fhir/Patient/$summary', async (request, reply) => {
    noBreakGlass(request.headers);
    const actor = actorOf(request);
    const query = request.query as Record<string, unknown>;
    const identifier = query.identifier;
    const [system, value] =
      typeof identifier === 'string' && identifier.includes('|')
        ? identifier.split('|', 2)
        : [PATIENT_ADDRESS_SYSTEM, identifier];
    if (system !== PATIENT_ADDRESS_SYSTEM || typeof value !== 'string' || !isAddress(value))
      throw badRequest(
        `identifier must be the patient's chain address, as ${PATIENT_ADDRESS_SYSTEM}|0x… (or 0x… alone)`,
      );
    const address = getAddress(value);
    const found = await gate.search(
      actor,
      patientQuery('Patient', address, 2),
      gate.queryHash('Patient', { patient: address, $summary: 'true' }),
    );
    const only = found.resources[0];
    if (!only) throw notFound('no Patient here has this chain address');
    if (found.total > 1)
      throw badRequest('several Patients here have this chain address; ask for Patient/<id>/$summary');
    return send(reply, 200, await clinicianSummary(actor, only.id as string, query));
  });

  app.get('/patients/:address/summary', async (request, reply) => {
    const raw = (request.params as { address: string }).address;
    if (!isAddress(raw))
      throw badRequest("the path must hold the patient's chain address (0x and 40 hex digits)");
    const address = getAddress(raw);
    requirePatient(request, address);
    const profiles = loadIpsProfiles();
    const types = new Set<string>(summarySections(profiles).flatMap((s) => s.resourceTypes));
    // The gatekeeper logs one export entry per record before returning them.
    const { resources, truncated } = await gate.patientRecords(address);
    const patient = resources.find((r) => r.resourceType === 'Patient') as Patient | undefined;
    if (!patient) throw notFound('this member holds no Patient record for this address');
    const records = resources
      .filter((r: Resource) => types.has(r.resourceType))
      .map((resource) => ({ resource, member: self }));
    const notes: SummaryNote[] = truncated
      ? [
          {
            text: `only the newest ${MAX_COUNT} records of each type at ${self.name} are listed`,
            withheld: false,
          },
        ]
      : [];
    reply.header('cache-control', 'no-store');
    return send(reply, 200, build(profiles, patient, self, records, notes));
  });
}

/** The member a record came from (`meta.source` of a record another member sent), named as it answered. */
function memberOf(r: StoredResource, names: ReadonlyMap<string, string>): SummaryMember {
  const source = r.meta?.source ?? '';
  const address = source.startsWith(MEMBER_SOURCE_PREFIX)
    ? source.slice(MEMBER_SOURCE_PREFIX.length)
    : source;
  return { address, name: names.get(address) ?? address };
}
