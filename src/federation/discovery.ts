/**
 * Patient discovery across members, in the spirit of IHE XCPD: a clinician gives demographics at
 * their own member; that member turns them into discovery tokens under the consortium key
 * (src/fhir/demographics.ts, src/crypto/discoveryToken.ts), so no name or birth date leaves it;
 * asks every other active member with a member-authenticated (MAC) `POST /federation/discover` carrying the
 * tokens only; each answers with the chain addresses of the patients it may hold records of
 * (nothing else: no names, no record counts), deciding and logging before it matches. The asker
 * matches its own store the same way, logs what it found, and returns, per address, which members
 * may hold records. The clinician then reads records by chain address (src/federation/requester.ts),
 * where the patient's consent decides what is shared.
 */
import type { Address, LocalAccount } from 'viem';
import type { Actor, Gatekeeper } from '../access/gatekeeper.js';
import type { MemberMacKeys } from '../access/memberMacKeys.js';
import type { AccessPurpose } from '../access/purposeOfUse.js';
import type { UserRole } from '../access/roles.js';
import type { ConsortiumView } from '../chain/consortium.js';
import { badRequest, errorMessage, UnavailableError } from '../errors.js';
import type { Demographics } from '../fhir/demographics.js';
import type { RecordService } from '../records/recordService.js';
import { callable, postLookup } from './memberClient.js';
import {
  type DiscoveryAnswer,
  discoveryRequestBody,
  MAX_DISCOVERY_MATCHES,
  MAX_DISCOVERY_TOKENS,
  parseDiscoveryAnswer,
  parseDiscoveryRequest,
} from './wire.js';

/** A member that may hold records of a discovered patient. */
export interface Holder {
  address: Address;
  name: string;
}

/** One patient found: their chain address and the members that may hold their records. */
export interface DiscoveredPatient {
  address: Address;
  holders: Holder[];
}

/** What one other member did with the request (for the user: who did not answer, who refused). */
export interface DiscoveryOutcome {
  member: string;
  address: Address;
  status: 'ok' | 'unreachable' | 'error';
  message?: string;
}

export interface DiscoveryContext {
  gate: Gatekeeper;
  records: RecordService;
  consortium: ConsortiumView;
  signer: LocalAccount;
  /** Pairwise MAC keys: discovery requests are lookups, sent with MACs when these are given. */
  macs?: MemberMacKeys;
  timeoutMs?: number;
}

/** The custodian's side: answer `caller` (an active member, signature checked). */
export async function answerDiscovery(
  ctx: { gate: Gatekeeper; records: RecordService; self: Address },
  caller: Address,
  body: unknown,
): Promise<DiscoveryAnswer> {
  const q = parseDiscoveryRequest(body);
  const matches = await ctx.gate.discoverForMember(caller, q, ctx.records.discoveryKeyId, () =>
    ctx.records.discoveryMatches(q.kid, q.tokens, MAX_DISCOVERY_MATCHES),
  );
  return { member: ctx.self, kid: q.kid, matches };
}

async function askOne(
  ctx: DiscoveryContext,
  m: { address: Address; endpoint: string; name: string },
  body: string,
  kid: string,
): Promise<{ outcome: DiscoveryOutcome; matches: Address[] }> {
  const base = { member: m.name || m.address, address: m.address };
  const reply = await postLookup(ctx, m, '/federation/discover', body, ctx.timeoutMs);
  if (reply.kind === 'unreachable')
    return {
      outcome: {
        ...base,
        status: 'unreachable',
        message: `${base.member} did not answer; it was not searched`,
      },
      matches: [],
    };
  if (reply.kind === 'refused')
    return {
      outcome: { ...base, status: 'error', message: `${base.member} refused the search: ${reply.message}` },
      matches: [],
    };
  try {
    const a = parseDiscoveryAnswer(reply.body);
    if (a.member !== m.address || a.kid !== kid) throw new Error('wrong member or key');
    return { outcome: { ...base, status: 'ok' }, matches: a.matches };
  } catch (err) {
    return {
      outcome: {
        ...base,
        status: 'error',
        message: `${base.member} sent an answer that failed its checks: ${errorMessage(err)}`,
      },
      matches: [],
    };
  }
}

/**
 * The clinician's side: find the patients matching `d` at this member and every other active
 * member, on behalf of `actor` (authorized and logged here first; what is found is logged before
 * it is returned).
 */
export async function discoverPatients(
  ctx: DiscoveryContext,
  actor: Actor,
  d: Demographics,
): Promise<{ patients: DiscoveredPatient[]; outcomes: DiscoveryOutcome[] }> {
  const kid = ctx.records.discoveryKeyId;
  if (!kid)
    throw new UnavailableError(
      'no-consortium-key',
      'this member holds no consortium key, so it cannot search other members for a patient; its operator installs the key sealed to it at network setup',
    );
  const tokens = ctx.records.discoveryTokensFor(d).slice(0, MAX_DISCOVERY_TOKENS);
  if (tokens.length === 0)
    throw badRequest('give the patient’s family and given name and their full birth date (YYYY-MM-DD)');
  await ctx.gate.authorizeDiscovery(actor, tokens);
  const everyone = await ctx.consortium.activeMembers();
  const others = everyone.filter((m) => m.address !== ctx.signer.address && callable(m));
  const body = discoveryRequestBody({
    kid,
    tokens,
    purpose: actor.purpose as AccessPurpose,
    userRole: actor.role as UserRole,
  });
  const asked = await Promise.all(others.map((m) => askOne(ctx, m, body, kid)));
  const holders = new Map<Address, Holder[]>();
  const add = (a: Address, h: Holder) => holders.set(a, [...(holders.get(a) ?? []), h]);
  const me = everyone.find((m) => m.address === ctx.signer.address);
  for (const a of ctx.records.discoveryMatches(kid, tokens, MAX_DISCOVERY_MATCHES))
    add(a, { address: ctx.signer.address, name: me?.name ?? '' });
  for (const [i, r] of asked.entries()) {
    const m = others[i] as (typeof others)[number];
    for (const a of r.matches) add(a, { address: m.address, name: m.name });
  }
  const patients = [...holders.entries()]
    .map(([address, hs]) => ({ address, holders: hs }))
    .sort((x, y) => x.address.localeCompare(y.address));
  // Log before serve: the patients found, before the user sees any of them.
  await ctx.gate.logDiscovered(
    actor,
    tokens,
    patients.map((p) => p.address),
  );
  return { patients, outcomes: asked.map((r) => r.outcome) };
}
