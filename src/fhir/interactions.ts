/**
 * The FHIR R4 RESTful interactions this node serves (http.html), each with the HTTP route that
 * serves it: the routes are registered from this table (src/api/fhirRoutes.ts, logRoutes.ts) and
 * the CapabilityStatement is written from it (capability.ts), so the two cannot drift apart.
 */

/** An HTTP route, in Fastify's path syntax. */
export interface RestRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
}

/** Interactions on every stored resource type (`:type` is one of RESOURCE_TYPES). */
export const TYPE_INTERACTIONS = {
  read: { method: 'GET', url: '/fhir/:type/:id' },
  vread: { method: 'GET', url: '/fhir/:type/:id/_history/:vid' },
  update: { method: 'PUT', url: '/fhir/:type/:id' },
  delete: { method: 'DELETE', url: '/fhir/:type/:id' },
  'history-instance': { method: 'GET', url: '/fhir/:type/:id/_history' },
  create: { method: 'POST', url: '/fhir/:type' },
  'search-type': { method: 'GET', url: '/fhir/:type' },
} as const satisfies Record<string, RestRoute>;
export type TypeInteraction = keyof typeof TYPE_INTERACTIONS;

/** Whole-system interactions: transaction and batch Bundles, at `[base]` and `[base]/`. */
export const SYSTEM_INTERACTIONS = {
  transaction: [
    { method: 'POST', url: '/fhir' },
    { method: 'POST', url: '/fhir/' },
  ],
  batch: [
    { method: 'POST', url: '/fhir' },
    { method: 'POST', url: '/fhir/' },
  ],
} as const satisfies Record<string, readonly RestRoute[]>;

/** Routes of the system interactions, each once (transaction and batch share a handler). */
export const SYSTEM_ROUTES: readonly RestRoute[] = [
  ...new Map(
    Object.values(SYSTEM_INTERACTIONS)
      .flat()
      .map((r) => [`${r.method} ${r.url}`, r]),
  ).values(),
];

/** An operation: its FHIR OperationDefinition, the route, and whether it needs the chain (other members). */
export interface RestOperation {
  definition: string;
  route: RestRoute;
  /** Served only by a node connected to the chain; a node without one leaves it out of its statement. */
  needsChain?: boolean;
  documentation?: string;
}

/** Operations per type, by name. */
export const TYPE_OPERATIONS = {
  Patient: {
    everything: {
      definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
      route: { method: 'GET', url: '/fhir/Patient/:id/$everything' },
    },
    summary: {
      definition: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary',
      route: { method: 'GET', url: '/fhir/Patient/:id/$summary' },
      documentation:
        'International Patient Summary (IPS 2.0.0) document of problems, allergies and medications from every member under consent; also at the type level, GET Patient/$summary?identifier=urn:medchain:patient|0x...; profile is fixed to Bundle-uv-ips.',
    },
    match: {
      definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
      route: { method: 'POST', url: '/fhir/Patient/$match' },
      needsChain: true,
      documentation:
        'Patient discovery across members (treatment roles only): answers Patients with only the chain-address identifier and one urn:medchain:extension:may-hold-records per member that may hold records; match-grade possible, no score; onlyCertainMatches=true returns nothing.',
    },
  },
  Claim: {
    submit: {
      definition: 'http://hl7.org/fhir/OperationDefinition/Claim-submit',
      route: { method: 'POST', url: '/fhir/Claim/$submit' },
      needsChain: true,
      documentation:
        'A billing user submits a Claim (or a Bundle holding one, as in Da Vinci PAS) at their own node; it is anchored on chain in a batch and sent to the insurer named by the patient’s Coverage, and the insurer’s ClaimResponse is stored and returned (200). Refused before anything is stored or anchored: a malformed Claim (400/422), another provider’s claim, a patient not held here, no Coverage with Claim.insurer (422), a claim already submitted (409).',
    },
  },
  CoverageEligibilityRequest: {
    submit: {
      definition: 'urn:medchain:operation:CoverageEligibilityRequest-submit',
      route: { method: 'POST', url: '/fhir/CoverageEligibilityRequest/$submit' },
      needsChain: true,
      documentation:
        'Billing: ask the insurer (CoverageEligibilityRequest.insurer as urn:medchain:member|0x…, or the payer of the patient’s stored Coverage) whether coverage is in force on servicedDate; purpose validation and/or benefits; the patient as identifier urn:medchain:patient|0x…. Stores the request and the insurer’s CoverageEligibilityResponse and answers the latter.',
    },
  },
} as const satisfies Record<string, Record<string, RestOperation>>;

/**
 * AuditEvent: the transparency log's entries about one patient, rendered (IHE BALP); search only,
 * and only by patient (src/api/logRoutes.ts).
 */
export const AUDIT_EVENT = {
  route: { method: 'GET', url: '/fhir/AuditEvent' },
  searchParams: { patient: 'reference' },
  /** Paging parameters it takes besides its search parameters. */
  paging: ['_count', '_offset'],
} as const;
