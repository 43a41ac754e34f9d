/**
 * The member node's HTTP API (Fastify): FHIR R4 REST under /fhir, the transparency log under /log,
 * sign-in under /auth. Every route but sign-in and the CapabilityStatement needs a Bearer token
 * (or, for a patient's own disclosures, the patient's signature). Every failure is a FHIR
 * OperationOutcome with the right status, and every refused or failed access attempt by someone
 * with a valid credential is logged before the answer leaves; if the log cannot be written the
 * answer is 503 and nothing is served. Attempts without any valid credential are counted per client
 * (UnauthenticatedCounter: 429 after too many, one summary log entry a minute at most).
 */
import cors from '@fastify/cors';
import type { SearchRequest } from '@medplum/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type Actor, defaultPurpose, type Gatekeeper, type ReleaseRequest } from '../access/gatekeeper.js';
import { verifyMemberAuth } from '../access/memberAuth.js';
import { type CallerMacKey, MEMBER_MAC_SCHEME, verifyMemberMac } from '../access/memberMac.js';
import { verifyPatientAuth } from '../access/patientAuth.js';
import { RateLimiter } from '../access/rateLimiter.js';
import { ReplayGuard } from '../access/replayGuard.js';
import {
  type LoginThrottle,
  PatientSessionStore,
  type Session,
  type SessionStore,
} from '../access/sessions.js';
import { UnauthenticatedCounter } from '../access/unauthenticatedCounter.js';
import type { BlockMark } from '../chain/blockBoard.js';
import type { OutboxEntry } from '../chain/outbox.js';
import { ConflictError, forbidden, tooMany, UnavailableError, unauthorized } from '../errors.js';
import type { RelayResult } from '../federation/consentRelay.js';
import type { RemoteOutcome } from '../federation/requester.js';
import type { DiscoveryAnswer, RecordsAnswer } from '../federation/wire.js';
import { errorOutcome, httpFailure, outcome } from '../fhir/outcomes.js';
import type { LogPublisher } from '../log/logPublisher.js';
import { LogUnavailableError } from '../log/transparencyLog.js';
import type { VerifyProgress, VerifyReport } from '../log/verifier.js';
import type { RecordService, StoredResource } from '../records/recordService.js';
import type { UserStore } from '../store/userStore.js';
import { adminRoutes } from './adminRoutes.js';
import { type AuditContext, auditContext } from './auditContext.js';
import { authRoutes } from './authRoutes.js';
import { type ClaimDeps, claimRoutes } from './claimRoutes.js';
import { type ClaimViewRouteDeps, claimViewRoutes } from './claimViewRoutes.js';
import { DISPUTE_PATH, type DisputeDeps, disputeRoutes } from './disputeRoutes.js';
import { type EligibilityDeps, eligibilityRoutes } from './eligibilityRoutes.js';
import { fhirRoutes } from './fhirRoutes.js';
import { send } from './http.js';
import { logRoutes } from './logRoutes.js';
import { type DiscoverPatients, matchRoutes } from './matchRoutes.js';
import { macAccepted } from './memberCredentials.js';
import { patientRoutes } from './patientRoutes.js';
import { type PaymentDeps, paymentRoutes } from './paymentRoutes.js';
import { type PortalConfig, portalRoutes } from './portalRoutes.js';
import { type RpcProxyOptions, rpcProxyRoutes } from './rpcProxy.js';
import { summaryRoutes } from './summaryRoutes.js';
import { type SupplyCustodyDeps, supplyCustodyRoutes } from './supplyCustodyRoutes.js';
import { type SupplyIncidentDeps, supplyIncidentRoutes } from './supplyIncidentRoutes.js';
import { type SupplyDeps, supplyRoutes } from './supplyRoutes.js';

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
    /** Set when the request carries a patient's token or a valid patient signature. */
    patientAddress: `0x${string}` | null;
    /**
     * What a refused or failed attempt is logged as: null for nothing (outside the API, or a route
     * that logs for itself); undefined in the API until a route sets it (derived from the method
     * and path when a failure needs it: src/api/auditContext.ts).
     */
    audit: AuditContext | null | undefined;
    /** Set when the request carries a valid signature or MAC of an active member. */
    memberCaller: `0x${string}` | null;
    /** A member signature or MAC to check once the body is read. */
    memberPending: boolean;
    /** A patient signature to check once the body is read. */
    patientPending: boolean;
    /** The route needs a credential (everything but sign-in, the capability statement, the relay). */
    authRequired: boolean;
    /** The request body as received (JSON bodies). */
    rawBody: string | undefined;
    /** When the request arrived, as a mark of the node's chain caches (src/chain/blockBoard.ts). */
    arrival: number | null;
  }
}

export interface ApiDeps
  extends SupplyDeps,
    SupplyCustodyDeps,
    SupplyIncidentDeps,
    ClaimDeps,
    ClaimViewRouteDeps,
    EligibilityDeps,
    DisputeDeps,
    PaymentDeps {
  gate: Gatekeeper;
  records: RecordService;
  publisher: LogPublisher;
  users: UserStore;
  sessions: SessionStore;
  throttle: LoginThrottle;
  /** Patient sign-ins (default: a fresh in-memory store). */
  patientSessions?: PatientSessionStore;
  verify?: (progress?: VerifyProgress) => Promise<VerifyReport>;
  /** This member's chain transactions waiting to be confirmed, and the latest ones (admin view). */
  outbox?: () => { pending: OutboxEntry[]; recent: OutboxEntry[] };
  /** What the portal needs to find the chain and this member; and where its built files are. */
  portal?: { config: PortalConfig; staticDir?: string };
  /** POST /rpc: the allow-listed chain JSON-RPC for browsers and the CLI (needs a chain). */
  rpcProxy?: RpcProxyOptions;
  /** Relay a patient-signed consent grant or revoke to the chain (needs a chain). */
  relayConsent?: (body: unknown) => Promise<RelayResult>;
  /** Custodian side of cross-member reads (needs a chain): the answer to a member-signed request. */
  answerMember?: (caller: `0x${string}`, body: unknown) => Promise<RecordsAnswer>;
  /** Requester side of cross-member reads (needs a chain). */
  federatedSearch?: (
    actor: Actor,
    q: ReleaseRequest,
    filter?: SearchRequest,
  ) => Promise<{ resources: StoredResource[]; outcomes: RemoteOutcome[] }>;
  /** Patient discovery, answering side (needs a chain): the answer to a member-signed request. */
  answerDiscovery?: (caller: `0x${string}`, body: unknown) => Promise<DiscoveryAnswer>;
  /** Patient discovery, asking side (needs a chain): `POST /fhir/Patient/$match`. */
  discoverPatients?: DiscoverPatients;
  /** Replica side of replication (needs a chain). */
  replica?: {
    push: (caller: `0x${string}`, body: unknown) => { logSize: number };
    search: (caller: `0x${string}`, body: unknown) => Promise<RecordsAnswer>;
  };
  /**
   * Whether an address is an active consortium member, was one and no longer is, or never was
   * (Registry); enables member-signed requests.
   */
  memberStatus?: (address: `0x${string}`) => Promise<'active' | 'former' | 'unknown'>;
  /**
   * The pairwise key of an active member's requests to this node (src/access/memberMacKeys.ts
   * callerKey), undefined for anyone else; enables member MACs on the routes that take them
   * (src/api/memberCredentials.ts).
   */
  memberMacKey?: CallerMacKey;
  /** Now, as a mark of the node's chain caches (src/chain/blockBoard.ts): taken when a request arrives. */
  blockMark?: () => BlockMark;
  software?: { name: string; version: string };
  /** Largest accepted request body in bytes (default 4 MiB). */
  bodyLimit?: number;
  /** Counts of requests without a valid credential, per client (default: 20 a minute, then 429). */
  unauthenticated?: UnauthenticatedCounter;
  /** Requests to the open POST /consent/relay per client (default: 30 a minute, then 429). */
  relayLimit?: RateLimiter;
}

/** What a failed request is logged as: set by its route, or else derived from its method and path. */
function auditOf(request: FastifyRequest): AuditContext | null {
  if (request.audit === undefined) request.audit = auditContext(request.method, request.url) ?? null;
  return request.audit;
}

/** Report our own faults on stderr without internals (the message may hold stored content). */
function reportInternal(err: Error & { code?: string }): void {
  process.stderr.write(`medchain api: internal error ${err.name}${err.code ? ` ${err.code}` : ''}\n`);
  if (process.env.MEDCHAIN_DEBUG) process.stderr.write(`${err.stack}\n`);
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const bodyLimit = deps.bodyLimit ?? 4 * 1024 * 1024;
  const app = Fastify({
    logger: false,
    bodyLimit,
    // Reject __proto__ / constructor.prototype in JSON bodies (prototype poisoning).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  app.decorateRequest('session', null);
  app.decorateRequest('patientAddress', null);
  app.decorateRequest('audit', null);
  app.decorateRequest('memberCaller', null);
  app.decorateRequest('memberPending', false);
  app.decorateRequest('patientPending', false);
  app.decorateRequest('authRequired', false);
  app.decorateRequest('rawBody', undefined);
  app.decorateRequest('arrival', null);
  app.removeContentTypeParser(['text/plain', 'application/json']);
  // JSON and FHIR JSON use Fastify's JSON parser (secure-json-parse: refuses __proto__/constructor
  // keys); the raw text is kept so member-signed requests can be checked against their body hash.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(
    ['application/json', 'application/fhir+json'],
    { parseAs: 'string' },
    (request, body, done) => {
      request.rawBody = body as string;
      parseJson(request, body as string, done);
    },
  );

  // Requests without any valid credential are counted per client, and summarized into the log at
  // most once a minute; never logged one by one, never under the patient named in the path.
  const unauthenticated = deps.unauthenticated ?? new UnauthenticatedCounter();
  const summarize = (force?: boolean) =>
    unauthenticated.summarize(() => deps.gate.login('anonymous', false, 'unauthenticated'), force);
  const summaries = setInterval(() => void summarize(), unauthenticated.summaryIntervalMs).unref();
  app.addHook('onClose', async () => {
    clearInterval(summaries);
    await summarize(true);
  });

  app.setErrorHandler(async (err: Error & { code?: string }, request, reply) => {
    const f = httpFailure(err, { bodyLimit });
    if (f.internal) reportInternal(err);
    if (request.authRequired && !request.session && !request.patientAddress && !request.memberCaller) {
      if (f.status === 429) unauthenticated.refused(request.ip);
      else unauthenticated.fail(request.ip);
    } else if (!(err instanceof LogUnavailableError) && auditOf(request)) {
      // Log the refused or failed attempt before answering (not when the log itself is the failure).
      const s = request.session;
      const actor: Actor = s
        ? { id: s.userId, role: s.role, purpose: defaultPurpose(s.role) }
        : {
            id: request.memberCaller
              ? `member:${request.memberCaller}`
              : request.patientAddress
                ? `patient:${request.patientAddress}`
                : 'anonymous',
            role: 'operator',
            purpose: 'none',
          };
      const audit = auditOf(request) as AuditContext;
      try {
        await deps.gate.denied(
          actor,
          audit.action,
          audit.target,
          f.reason,
          // A patient's refused attempt goes to their own list, never to the one named in the path.
          s ? audit.patient : (request.patientAddress ?? undefined),
        );
      } catch (logErr) {
        const unavailable = httpFailure(
          logErr instanceof LogUnavailableError ? logErr : new LogUnavailableError(logErr),
        );
        return send(reply.headers(unavailable.headers), 503, errorOutcome(unavailable));
      }
    }
    for (const [k, v] of Object.entries(f.headers)) reply.header(k, v);
    return send(reply, f.status, errorOutcome(f));
  });
  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      404,
      outcome(
        'error',
        'not-found',
        `no route for ${request.method} ${request.url.split('?')[0]?.slice(0, 80)}`,
      ),
    ),
  );

  // The portal of one member calls other members' nodes (a patient gathers their records from
  // every member). Credentials travel in the Authorization header, never in cookies.
  app.register(cors, {
    origin: true,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'if-match', 'x-break-glass-reason', 'x-purpose-of-use'],
    exposedHeaders: ['etag', 'location', 'retry-after'],
    maxAge: 600,
  });
  const patientSessions = deps.patientSessions ?? new PatientSessionStore();
  if (deps.portal) portalRoutes(app, deps.portal);
  if (deps.rpcProxy) rpcProxyRoutes(app, deps.rpcProxy); // open, like the chain it fronts: no sign-in
  app.register(async (api) => apiRoutes(api, { ...deps, patientSessions, unauthenticated }));
  return app;
}

/** The authenticated API: every route here passes the authentication hooks first. */
function apiRoutes(
  app: FastifyInstance,
  deps: ApiDeps & { patientSessions: PatientSessionStore; unauthenticated: UnauthenticatedCounter },
): void {
  const relayLimit = deps.relayLimit ?? new RateLimiter(30, 60_000);
  const disputeLimit = deps.disputeLimit ?? new RateLimiter(30, 60_000);
  // Authentication on every route except sign-in and the capability statement: synchronous (a
  // promise per request for a check that never waits cost more than the check).
  const authenticate = (request: FastifyRequest): void => {
    request.arrival = deps.blockMark?.() ?? null;
    request.audit = undefined; // an API request: logged if it fails (auditOf)
    const path = request.url.split('?')[0] ?? '';
    if (request.method === 'OPTIONS') return;
    if (path === '/consent/relay') {
      // Open (the patient's signature is the authority), so throttled per client; bad bodies count too.
      const wait = relayLimit.take(request.ip);
      if (wait > 0) throw tooMany(`too many consent relays from this address; try again in ${wait} s`, wait);
      return;
    }
    if (path === DISPUTE_PATH) {
      const wait = disputeLimit.take(request.ip); // open like the consent relay, throttled on its own
      if (wait > 0) throw tooMany(`too many dispute relays from this address; try again in ${wait} s`, wait);
      return;
    }
    // Open routes: sign-in (throttled on its own) and the capability statement.
    if (
      path === '/auth/login' ||
      path === '/auth/patient/challenge' ||
      path === '/auth/patient/login' ||
      path === '/fhir/metadata'
    )
      return;
    request.authRequired = true;
    const h = request.headers.authorization;
    const bearer = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    if (bearer !== undefined) {
      const p = path.startsWith('/patients/') ? deps.patientSessions.get(bearer) : undefined;
      if (p) {
        request.patientAddress = p.patient;
        return;
      }
      const s = deps.sessions.get(bearer);
      if (s) {
        request.session = s;
        return;
      }
    }
    // No valid token: a client that failed too often waits, before any signature is checked.
    const wait = deps.unauthenticated.retryAfter(request.ip);
    if (wait > 0)
      throw tooMany(`too many unauthenticated requests from this address; try again in ${wait} s`, wait);
    if (path.startsWith('/patients/') && h?.startsWith('MedchainPatient ')) {
      request.patientPending = true; // checked in preHandler, once the body is read
      return;
    }
    const memberRoute = path.startsWith('/log/') || path.startsWith('/federation/');
    if (memberRoute && h?.startsWith('MedchainMember ') && deps.memberStatus) {
      request.memberPending = true; // checked in preHandler, once the body is read
      return;
    }
    if (memberRoute && h?.startsWith(`${MEMBER_MAC_SCHEME} `) && deps.memberStatus && deps.memberMacKey) {
      // Decided by the route alone, before the MAC is looked at: where the request is kept as
      // evidence, only the caller's signature will do.
      if (!macAccepted(request.method, path))
        throw unauthorized(
          `${request.method} ${path} takes only a member signature (MedchainMember), not a MAC: the receiver keeps the request as evidence`,
        );
      request.memberPending = true; // checked in preHandler, once the body is read
      return;
    }
    if (bearer === undefined) throw unauthorized();
    throw unauthorized('the access token is unknown or expired; sign in again at POST /auth/login');
  };
  app.addHook('onRequest', (request, _reply, done) => {
    authenticate(request); // a throw goes to the error handler, as a rejection would
    done();
  });

  // Signed and MAC'd requests: each covers method, path and query, body hash and time; single use
  // (one guard for both member schemes: a request is used once whichever carried it).
  const memberReplays = new ReplayGuard();
  const patientReplays = new ReplayGuard();
  const checkSigned = async (request: FastifyRequest): Promise<void> => {
    if (request.patientPending) {
      const address = await verifyPatientAuth(
        request.headers.authorization,
        deps.gate.log.member,
        request.method,
        request.url,
        request.rawBody ?? '',
        patientReplays,
      );
      if (!address)
        throw unauthorized(
          'the patient signature is invalid, expired, reused or not for this request; sign a fresh request',
        );
      request.patientAddress = address;
      return;
    }
    if (!request.memberPending || !deps.memberStatus) return;
    if (request.headers.authorization?.startsWith(`${MEMBER_MAC_SCHEME} `) && deps.memberMacKey) {
      const caller = await verifyMemberMac(
        request.headers.authorization,
        deps.gate.log.member,
        request.method,
        request.url,
        request.rawBody ?? '',
        memberReplays,
        deps.memberMacKey,
      );
      // One refusal whichever check failed (format, time, membership, key, MAC, reuse). A MAC is a
      // credential of active members only: a former member's is no credential at all.
      if (!caller)
        throw unauthorized(
          'the member request MAC is invalid, expired or reused, or not from an active member; send a fresh request',
        );
      request.memberCaller = caller;
      return;
    }
    const caller = await verifyMemberAuth(
      request.headers.authorization,
      deps.gate.log.member,
      request.method,
      request.url,
      request.rawBody ?? '',
      memberReplays,
    );
    if (!caller) throw unauthorized('the member signature is invalid, expired or reused');
    // A valid signature from an account that is not (or no longer) an active member: refused, and
    // logged against that account.
    const status = await deps.memberStatus(caller);
    // Anyone can sign with a fresh key: an account that never was a member is no credential at all.
    if (status === 'unknown')
      throw unauthorized('the member signature is not from a member of the consortium');
    // A former member is a known party: refused, and logged against that account.
    request.memberCaller = caller;
    if (status === 'former')
      throw forbidden(`${caller} is no longer an active member of the consortium`, 'not-a-member');
  };
  // Most requests carry a bearer token and have nothing to check here: no promise for them.
  app.addHook('preHandler', (request, _reply, done) => {
    if (!request.patientPending && !request.memberPending) done();
    else checkSigned(request).then(() => done(), done);
  });

  authRoutes(app, deps);
  app.post('/consent/relay', async (request) => {
    if (!deps.relayConsent)
      throw new UnavailableError(
        'no-chain',
        'this node is not connected to the chain; relay through another member',
      );
    return deps.relayConsent(request.body);
  });
  app.post('/federation/replica/push', async (request, reply) => {
    const caller = request.memberCaller;
    if (!caller || !deps.replica)
      throw unauthorized('replication requests must be signed by an active member');
    request.audit = null; // storing ciphertext it cannot read is not an access
    try {
      return deps.replica.push(caller, request.body);
    } catch (err) {
      // The replica is at another log index: tell the custodian where to resume.
      if (err instanceof ConflictError && typeof err.data.logSize === 'number')
        return reply.code(409).send({ logSize: err.data.logSize });
      throw err;
    }
  });
  app.post('/federation/replica/search', async (request) => {
    const caller = request.memberCaller;
    if (!caller || !deps.replica)
      throw unauthorized('cross-member requests must be signed by an active member');
    request.audit = null; // the replica logs its decision for every record itself
    return deps.replica.search(caller, request.body);
  });
  app.post('/federation/search', async (request) => {
    const caller = request.memberCaller;
    if (!caller || !deps.answerMember)
      throw unauthorized('cross-member requests must be signed by an active member');
    // The gatekeeper logs its own decision for what it releases and what it withholds.
    request.audit = null;
    return deps.answerMember(caller, request.body);
  });
  app.post('/federation/discover', async (request) => {
    const caller = request.memberCaller;
    if (!caller || !deps.answerDiscovery)
      throw unauthorized('cross-member requests must be signed by an active member');
    request.audit = null; // the gatekeeper logs every discovery request, refused or answered, itself
    return deps.answerDiscovery(caller, request.body);
  });
  // Claim/$submit and the insurer's /federation/claims (src/api/claimRoutes.ts).
  claimRoutes(app, deps);
  // The claims views: the insurer's queue, the provider's submitted claims.
  claimViewRoutes(app, deps);
  matchRoutes(app, deps.discoverPatients);
  fhirRoutes(app, deps.gate, deps.software ?? { name: 'medchain', version: '0.1.0' }, deps.federatedSearch);
  // IPS $summary (the clinician's and the patient's), beside the FHIR and patient routes.
  summaryRoutes(app, deps);
  supplyRoutes(app, deps);
  supplyCustodyRoutes(app, deps);
  supplyIncidentRoutes(app, deps);
  eligibilityRoutes(app, deps);
  disputeRoutes(app, deps);
  paymentRoutes(app, deps);
  logRoutes(app, deps);
  patientRoutes(app, deps);
  adminRoutes(app, { ...deps, authFailures: () => deps.unauthenticated.snapshot() });
}
