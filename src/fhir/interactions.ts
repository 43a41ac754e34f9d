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

/** Operations per type: name, its FHIR OperationDefinition and the route. */
export const TYPE_OPERATIONS = {
  Patient: {
    everything: {
      definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
      route: { method: 'GET', url: '/fhir/Patient/:id/$everything' },
    },
  },
} as const satisfies Record<string, Record<string, { definition: string; route: RestRoute }>>;

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
