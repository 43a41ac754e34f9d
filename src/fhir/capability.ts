/**
 * The CapabilityStatement of a medchain node (FHIR R4 `CapabilityStatement`): exactly what the API
 * serves, written from the same tables the routes and the search parser use (interactions.ts,
 * resourceTypes.ts SEARCH_PARAMS, search.ts COMMON_SEARCH_PARAMS), so it cannot claim more or less.
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import {
  AUDIT_EVENT,
  type RestOperation,
  SYSTEM_INTERACTIONS,
  TYPE_INTERACTIONS,
  TYPE_OPERATIONS,
} from './interactions.js';
import { RESOURCE_TYPES, SEARCH_PARAMS } from './resourceTypes.js';
import { COMMON_SEARCH_PARAMS } from './search.js';

/** Code system of the ways a caller authenticates here (none is OAuth or SMART on FHIR). */
export const SECURITY_SERVICE_SYSTEM = 'urn:medchain:security-service';

const SECURITY = {
  cors: true,
  service: [
    {
      coding: [{ system: SECURITY_SERVICE_SYSTEM, code: 'staff-session', display: 'Member staff session' }],
      text: 'A member’s staff sign in with POST /auth/login {username, password} and send the returned Bearer token (15 minutes, one member only). This is not OAuth 2.0 or SMART on FHIR: there is no authorization server, no scopes and no launch context; the role on the account decides what it may do, and every access is logged.',
    },
    {
      coding: [{ system: SECURITY_SERVICE_SYSTEM, code: 'patient-signature', display: 'Patient signature' }],
      text: 'A patient signs a challenge with their chain key (POST /auth/patient/challenge, /auth/patient/login) or signs each request (Authorization: MedchainPatient ...), for their own /patients/<address>/... routes only; not the FHIR routes.',
    },
    {
      coding: [{ system: SECURITY_SERVICE_SYSTEM, code: 'member-signature', display: 'Member signature' }],
      text: 'Other members of the consortium sign each request with their registry key (Authorization: MedchainMember ..., EIP-191) or, for lookups and reads, authenticate it with an HMAC under a key the two members derive from their Registry X25519 keys (Authorization: MedchainMemberMac ...), for /federation and /log only; not the FHIR routes.',
    },
  ],
  description:
    'The FHIR routes need a staff Bearer token from POST /auth/login (see the services). Only GET /fhir/metadata is open. Refusals are OperationOutcomes with 401 or 403.',
} satisfies NonNullable<NonNullable<CapabilityStatement['rest']>[number]['security']>;

type SearchParam = NonNullable<CapabilityStatementRestResource['searchParam']>[number];

const searchParamsOf = (
  params: Record<string, { kind: string; documentation?: string } | string>,
): SearchParam[] =>
  Object.entries(params).map(([name, d]) => ({
    name,
    type: (typeof d === 'string' ? d : d.kind) as SearchParam['type'],
    ...(typeof d !== 'string' && d.documentation ? { documentation: d.documentation } : {}),
  }));

function storedType(type: (typeof RESOURCE_TYPES)[number], chain: boolean): CapabilityStatementRestResource {
  const operations = Object.entries(
    (TYPE_OPERATIONS as Record<string, Record<string, RestOperation>>)[type] ?? {},
  ).filter(([, o]) => chain || !o.needsChain);
  return {
    type,
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: false,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    interaction: Object.keys(TYPE_INTERACTIONS).map((code) => ({ code: code as 'read' })),
    searchParam: [...searchParamsOf(SEARCH_PARAMS[type]), ...searchParamsOf(COMMON_SEARCH_PARAMS)],
    ...(operations.length > 0
      ? {
          operation: operations.map(([name, o]) => ({
            name,
            definition: o.definition,
            ...(o.documentation ? { documentation: o.documentation } : {}),
          })),
        }
      : {}),
  };
}

/** The statement served at GET /fhir/metadata. */
export function capabilityStatement(
  software: { name: string; version: string },
  base: string,
  opts: { chain?: boolean } = {},
  now = new Date(),
): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    kind: 'instance',
    software,
    // kind = instance needs the implementation (FHIR R4 cpb-14): this member node at `base`.
    implementation: { description: `${software.name} member node`, url: base },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Records are encrypted at rest (AES-256-GCM; data keys wrapped under this member’s key-encryption key, and with HPKE when records leave the member). _include, _revinclude, _has, chained search, modifiers and _sort are not supported and are refused. Token search without a system matches any system. Records another member releases are rewritten so their references resolve here (docs/api.md, Records held by other members).',
        security: SECURITY,
        interaction: Object.keys(SYSTEM_INTERACTIONS).map((code) => ({ code: code as 'transaction' })),
        resource: [
          ...RESOURCE_TYPES.map((t) => storedType(t, opts.chain === true)),
          {
            type: 'AuditEvent',
            interaction: [{ code: 'search-type' }],
            searchParam: searchParamsOf(AUDIT_EVENT.searchParams),
            documentation:
              'The transparency log’s entries about one patient (IHE BALP), newest first; admins and clinicians; patient= is required.',
          },
        ],
      },
    ],
  };
}
