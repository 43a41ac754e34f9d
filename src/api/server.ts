/**
 * The member node's HTTP API (Fastify): FHIR R4 REST under /fhir, the transparency log under /log,
 * sign-in under /auth. Every route but sign-in and the CapabilityStatement needs a Bearer token
 * (or, for a patient's own disclosures, the patient's signature). Every failure is a FHIR
 * OperationOutcome with the right status, and every refused or failed access attempt is logged
 * before the answer leaves; if the log cannot be written the answer is 503 and nothing is served.
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Actor, defaultPurpose, type Gatekeeper } from '../access/gatekeeper.js';
import { ReplayGuard, verifyMemberAuth } from '../access/memberAuth.js';
import { verifyPatientAuth } from '../access/patientAuth.js';
import {
  type LoginThrottle,
  PatientSessionStore,
  type Session,
  type SessionStore,
} from '../access/sessions.js';
import type { OutboxEntry } from '../chain/outbox.js';
import type { RelayResult } from '../federation/consentRelay.js';
import {
  type FederatedAnswer,
  type FederatedQuery,
  parseFederatedQuery,
  type RemoteOutcome,
} from '../federation/federation.js';
import { errorOutcome, FhirError, outcome, unauthorized } from '../fhir/outcomes.js';
import type { LogPublisher } from '../log/logPublisher.js';
import { LogUnavailableError } from '../log/transparencyLog.js';
import type { VerifyProgress, VerifyReport } from '../log/verifier.js';
import type { RecordService, StoredResource } from '../records/recordService.js';
import type { UserStore } from '../store/userStore.js';
import { adminRoutes } from './adminRoutes.js';
import { type AuditContext, auditContext, reasonOf } from './auditContext.js';
import { authRoutes } from './authRoutes.js';
import { fhirRoutes } from './fhirRoutes.js';
import { send } from './http.js';
import { logRoutes } from './logRoutes.js';
import { patientRoutes } from './patientRoutes.js';
import { type PortalConfig, portalRoutes } from './portalRoutes.js';
import { type RpcProxyOptions, rpcProxyRoutes } from './rpcProxy.js';

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
    /** Set when the request carries a patient's token or a valid patient signature. */
    patientAddress: `0x${string}` | null;
    audit: AuditContext | null;
    /** Set when the request carries a valid signature of an active member. */
    memberCaller: `0x${string}` | null;
    /** A member signature to check once the body is read. */
    memberPending: boolean;
    /** The request body as received (JSON bodies). */
    rawBody: string | undefined;
  }
}

export interface ApiDeps {
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
  /** Custodian side of cross-member reads (needs a chain). */
  answerFederated?: (caller: `0x${string}`, query: FederatedQuery) => Promise<FederatedAnswer>;
  /** Requester side of cross-member reads (needs a chain). */
  federatedSearch?: (
    actor: { id: string },
    q: FederatedQuery,
  ) => Promise<{ resources: StoredResource[]; outcomes: RemoteOutcome[] }>;
  /** Replica side of replication (needs a chain). */
  replica?: {
    push: (caller: `0x${string}`, body: unknown) => { logSize: number };
    search: (caller: `0x${string}`, body: unknown) => Promise<unknown>;
  };
  /** Whether an address is an active consortium member (Registry); enables member-signed /log requests. */
  isMember?: (address: `0x${string}`) => Promise<boolean>;
  software?: { name: string; version: string };
  /** Largest accepted request body in bytes (default 4 MiB). */
  bodyLimit?: number;
}

/** Map any thrown value to the FhirError the client gets. */
function toFhirError(err: Error & { code?: string; statusCode?: number }, bodyLimit: number): FhirError {
  if (err instanceof FhirError) return err;
  if (err instanceof LogUnavailableError)
    return new FhirError(503, 'transient', err.message, { headers: { 'retry-after': '5' } });
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new FhirError(413, 'too-costly', `the body is larger than ${bodyLimit} bytes`);
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new FhirError(415, 'not-supported', 'send application/fhir+json or application/json');
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError || err.statusCode === 400) {
    return new FhirError(400, 'invalid', 'the body is not valid JSON');
  }
  // Our own fault: say so without internals. (The message may hold stored content: not logged.)
  process.stderr.write(`medchain api: internal error ${err.name}${err.code ? ` ${err.code}` : ''}\n`);
  if (process.env.MEDCHAIN_DEBUG) process.stderr.write(`${err.stack}\n`);
  return new FhirError(500, 'exception', 'internal error; the request was not completed');
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
  app.decorateRequest('rawBody', undefined);
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

  app.setErrorHandler(async (err: Error & { code?: string; statusCode?: number }, request, reply) => {
    const fe = toFhirError(err, bodyLimit);
    // Log the refused or failed attempt before answering (not when the log itself is the failure).
    if (request.audit && !(err instanceof LogUnavailableError)) {
      const s = request.session;
      const actor: Actor = s
        ? { id: s.userId, role: s.role, purpose: defaultPurpose(s.role) }
        : {
            id: request.patientAddress ? `patient:${request.patientAddress}` : 'anonymous',
            role: 'operator',
            purpose: 'none',
          };
      try {
        await deps.gate.denied(
          actor,
          request.audit.action,
          request.audit.target,
          reasonOf(fe.status),
          request.audit.patient,
        );
      } catch (logErr) {
        const unavailable = toFhirError(
          logErr instanceof LogUnavailableError ? logErr : new LogUnavailableError(logErr),
          bodyLimit,
        );
        return send(reply.headers(unavailable.headers), 503, errorOutcome(unavailable));
      }
    }
    for (const [k, v] of Object.entries(fe.headers)) reply.header(k, v);
    return send(reply, fe.status, errorOutcome(fe));
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
  app.register(async (api) => apiRoutes(api, { ...deps, patientSessions }));
  return app;
}

/** The authenticated API: every route here passes the authentication hooks first. */
function apiRoutes(app: FastifyInstance, deps: ApiDeps & { patientSessions: PatientSessionStore }): void {
  // Authentication on every route except sign-in and the capability statement.
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    request.audit = auditContext(request.method, request.url) ?? null;
    // Open routes: sign-in, the capability statement, and consent relay (the patient's signature is the authority).
    if (
      request.method === 'OPTIONS' ||
      path === '/auth/login' ||
      path === '/auth/patient/challenge' ||
      path === '/auth/patient/login' ||
      path === '/fhir/metadata' ||
      path === '/consent/relay'
    )
      return;
    const h = request.headers.authorization;
    if (path.startsWith('/patients/') && h?.startsWith('MedchainPatient ')) {
      const address = await verifyPatientAuth(h, deps.gate.log.member);
      if (!address) throw unauthorized('the patient signature is invalid or expired; sign a fresh request');
      request.patientAddress = address;
      return;
    }
    if (path.startsWith('/patients/') && h?.startsWith('Bearer ')) {
      const p = deps.patientSessions.get(h.slice(7).trim());
      if (p) {
        request.patientAddress = p.patient;
        return;
      }
    }
    if (
      (path.startsWith('/log/') || path.startsWith('/federation/')) &&
      h?.startsWith('MedchainMember ') &&
      deps.isMember
    ) {
      request.memberPending = true; // checked in preHandler, once the body is read
      return;
    }
    if (!h?.startsWith('Bearer ')) throw unauthorized();
    const s = deps.sessions.get(h.slice(7).trim());
    if (!s) throw unauthorized('the access token is unknown or expired; sign in again at POST /auth/login');
    request.session = s;
  });

  // Member-signed requests: the signature covers method, path and query, body hash and time.
  const replays = new ReplayGuard();
  app.addHook('preHandler', async (request) => {
    if (!request.memberPending || !deps.isMember) return;
    const caller = await verifyMemberAuth(
      request.headers.authorization,
      deps.gate.log.member,
      request.method,
      request.url,
      request.rawBody ?? '',
      replays,
    );
    if (!caller || !(await deps.isMember(caller))) {
      throw unauthorized('the member signature is invalid, expired, reused, or not from an active member');
    }
    request.memberCaller = caller;
  });

  authRoutes(app, deps);
  app.post('/consent/relay', async (request) => {
    if (!deps.relayConsent)
      throw new FhirError(
        503,
        'not-supported',
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
      const logSize = (err as { logSize?: number }).logSize;
      if (typeof logSize === 'number') return reply.code(409).send({ logSize });
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
    if (!caller || !deps.answerFederated)
      throw unauthorized('cross-member requests must be signed by an active member');
    const query = parseFederatedQuery(request.body);
    // From here the custodian logs its own decision for every record (permit or deny, with the reason).
    request.audit = null;
    return deps.answerFederated(caller, query);
  });
  fhirRoutes(app, deps.gate, deps.software ?? { name: 'medchain', version: '0.1.0' }, deps.federatedSearch);
  logRoutes(app, deps);
  patientRoutes(app, deps);
  adminRoutes(app, deps);
}
