/**
 * The requester's side of a cross-member read: after its own gatekeeper allows the user to ask
 * (purpose bound to role, break-glass rules), ask every other active member for the patient's
 * records of the types wanted (patient and types only), fall back to the replicas of a member that
 * does not answer, check and decrypt what comes back, apply the user's own search filters to it,
 * and log every receipt and refusal before anything is served.
 *
 * A replica's record is used only with the custodian's own create/update entry for it, proven
 * included in the head the custodian anchored on chain, naming the patient asked about, with a
 * ciphertext that hashes to the value in that entry.
 */
import { matchesSearchRequest, type SearchRequest } from '@medplum/core';
import type { Address, LocalAccount } from 'viem';
import type { Actor, Gatekeeper, ReleaseRequest } from '../access/gatekeeper.js';
import type { MemberMacKeys } from '../access/memberMacKeys.js';
import type { ConsortiumView, MemberInfo } from '../chain/consortium.js';
import type { Category } from '../chain/scopes.js';
import { bindingBytes } from '../crypto/envelope.js';
import { openResponseKey } from '../crypto/responseKey.js';
import { unwrapSymmetric } from '../crypto/symmetricWrap.js';
import { errorMessage } from '../errors.js';
import { resolvableForeign } from '../fhir/foreignReferences.js';
import { MEMBER_SOURCE_PREFIX } from '../fhir/remoteCodes.js';
import { decodeEntry, type LogTarget } from '../log/entry.js';
import { leafHash, verifyInclusion } from '../log/merkle.js';
import type { RecordService, StoredResource } from '../records/recordService.js';
import { callable, postLookup } from './memberClient.js';
import { replicasOf } from './replicaRing.js';
import {
  hexBytes,
  parseRecordsAnswer,
  type RecordsAnswer,
  releaseRequestBody,
  type SentRecord,
  unb64,
} from './wire.js';

/** What one member did with a request, for the user (refusals per resource type and category). */
export interface RemoteOutcome {
  member: string;
  address: Address;
  status: 'ok' | 'unreachable' | 'error' | 'replica';
  message?: string;
  /** Categories this member did not share, per resource type (data-independent). */
  withheld: { resourceType: string; categories: Category[]; reason: string }[];
}

export interface RequesterContext {
  gate: Gatekeeper;
  records: RecordService;
  consortium: ConsortiumView;
  signer: LocalAccount;
  /** Pairwise MAC keys: the requests are lookups, sent with MACs when these are given. */
  macs?: MemberMacKeys;
  timeoutMs?: number;
}

interface Opened {
  resource: StoredResource;
  target: LogTarget;
  viaReplica: boolean;
}

const targetOfSent = (r: SentRecord): LogTarget => ({
  resourceType: r.resourceType,
  id: r.id,
  version: r.version,
  ciphertextHash: `0x${r.ciphertextHash}`,
});

/** Check the answer's records and decrypt them; a record that fails any check is dropped and counted. */
async function openAnswer(
  ctx: RequesterContext,
  answer: RecordsAnswer,
  custodian: MemberInfo,
  q: ReleaseRequest,
  viaReplica: { treeSize: number; rootHash: `0x${string}` } | null,
): Promise<{ opened: Opened[]; dropped: number }> {
  const opened: Opened[] = [];
  let dropped = 0;
  let responseKey: Uint8Array | undefined;
  try {
    if (answer.responseKey) {
      responseKey = await openResponseKey(
        (w, aad) => ctx.records.openSealed(w, aad),
        { enc: unb64(answer.responseKey.enc), wrapped: unb64(answer.responseKey.wrapped) },
        custodian.address,
        ctx.signer.address,
      );
    }
    for (const rec of answer.records) {
      try {
        if (!q.resourceTypes.includes(rec.resourceType as never)) throw new Error('type not asked for');
        if (viaReplica && !evidenceHolds(rec, custodian.address, q.patient, viaReplica))
          throw new Error('evidence');
        const binding = {
          resourceType: rec.resourceType,
          id: rec.id,
          version: rec.version,
          patient: rec.patientRef,
        };
        let key: { wrap: { enc: Uint8Array; wrapped: Uint8Array } } | { dataKey: Uint8Array };
        if (rec.key.kind === 'response') {
          if (!responseKey) throw new Error('no response key');
          key = { dataKey: unwrapSymmetric(responseKey, unb64(rec.key.wrapped), bindingBytes(binding)) };
        } else key = { wrap: { enc: unb64(rec.key.enc), wrapped: unb64(rec.key.wrapped) } };
        const raw = await ctx.records.openForeign({
          binding,
          nonce: unb64(rec.nonce),
          ciphertext: unb64(rec.ciphertext),
          ciphertextHash: rec.ciphertextHash,
          key,
        });
        if (raw.resourceType !== rec.resourceType || raw.id !== rec.id) throw new Error('mismatch');
        // References in the custodian's id space are rewritten to resolve at this node
        // (src/fhir/foreignReferences.ts); the custodian's local patient id is not served.
        const resource = resolvableForeign(raw, rec.patientRef, q.patient, custodian.address);
        resource.meta = { ...(resource.meta ?? {}), source: `${MEMBER_SOURCE_PREFIX}${custodian.address}` };
        opened.push({ resource, target: targetOfSent(rec), viaReplica: viaReplica !== null });
      } catch {
        dropped++;
      }
    }
  } catch {
    dropped = answer.records.length;
  } finally {
    responseKey?.fill(0);
  }
  return { opened, dropped };
}

/** The custodian's own entry for this record version, included in its anchored head, about this patient. */
function evidenceHolds(
  rec: SentRecord,
  custodian: Address,
  patient: Address,
  head: { treeSize: number; rootHash: `0x${string}` },
): boolean {
  const ev = rec.evidence;
  if (!ev) return false;
  try {
    const bytes = unb64(ev.entry);
    const e = decodeEntry(bytes);
    return (
      e.member === custodian &&
      e.index === ev.entryIndex &&
      e.patient === patient &&
      (e.action === 'create' || e.action === 'update') &&
      e.outcome === 'permit' &&
      e.target?.resourceType === rec.resourceType &&
      e.target.id === rec.id &&
      e.target.version === rec.version &&
      e.target.ciphertextHash === `0x${rec.ciphertextHash}` &&
      verifyInclusion(
        leafHash(bytes),
        ev.entryIndex,
        head.treeSize,
        ev.path.map(hexBytes),
        hexBytes(head.rootHash),
      )
    );
  } catch {
    return false;
  }
}

const dropNote = (n: number) => (n ? ` (${n} record(s) failed the integrity check and were dropped)` : '');

/** Ask one member; on no answer, its replicas. */
async function askMember(
  ctx: RequesterContext,
  m: MemberInfo,
  everyone: readonly MemberInfo[],
  q: ReleaseRequest,
): Promise<{ outcome: RemoteOutcome; opened: Opened[] }> {
  const base = { member: m.name || m.address, address: m.address };
  const reply = await postLookup(ctx, m, '/federation/search', releaseRequestBody(q), ctx.timeoutMs);
  if (reply.kind === 'refused')
    return {
      outcome: {
        ...base,
        status: 'error',
        message: `${base.member} refused the request: ${reply.message}`,
        withheld: [],
      },
      opened: [],
    };
  if (reply.kind === 'ok') {
    let answer: RecordsAnswer;
    try {
      answer = parseRecordsAnswer(reply.body);
      if (answer.custodian !== m.address || answer.patient !== q.patient)
        throw new Error('wrong member or patient');
    } catch (err) {
      return {
        outcome: {
          ...base,
          status: 'error',
          message: `${base.member} sent an answer that failed its checks: ${errorMessage(err)}`,
          withheld: [],
        },
        opened: [],
      };
    }
    const { opened, dropped } = await openAnswer(ctx, answer, m, q, null);
    return {
      outcome: {
        ...base,
        status: dropped ? 'error' : 'ok',
        ...(dropped
          ? { message: `a record from ${base.member} failed its integrity check and was dropped` }
          : {}),
        withheld: answer.refusals,
      },
      opened,
    };
  }
  // The custodian is down: its replicas (not for break-glass: replicas hold no wrap for it).
  if (q.breakGlass === null) {
    const head = await ctx.consortium.latestHead(m.address);
    for (const replica of replicasOf(m.address, everyone)) {
      if (replica.address === ctx.signer.address || !callable(replica)) continue;
      const r = await postLookup(
        ctx,
        replica,
        '/federation/replica/search',
        releaseRequestBody(q, m.address),
        ctx.timeoutMs,
      );
      if (r.kind !== 'ok') continue;
      let answer: RecordsAnswer;
      try {
        answer = parseRecordsAnswer(r.body);
        if (
          answer.custodian !== m.address ||
          answer.patient !== q.patient ||
          answer.anchoredSize !== head.treeSize
        )
          continue;
      } catch {
        continue;
      }
      const { opened, dropped } = await openAnswer(ctx, answer, m, q, head);
      return {
        outcome: {
          ...base,
          status: 'replica',
          message: `${base.member} is offline; served by its replica at ${replica.name}; records changed since its last copy may be missing${dropNote(dropped)}`,
          withheld: answer.refusals,
        },
        opened,
      };
    }
  }
  return {
    outcome: {
      ...base,
      status: 'unreachable',
      message: `${base.member} did not answer; its records are not included`,
      withheld: [],
    },
    opened: [],
  };
}

/**
 * Ask every other active member for `q` on behalf of `actor`; keep what matches `filter` (the
 * user's own search parameters, applied here to what consent released); log, then return.
 */
export async function federatedSearch(
  ctx: RequesterContext,
  actor: Actor,
  q: ReleaseRequest,
  filter?: SearchRequest,
): Promise<{ resources: StoredResource[]; outcomes: RemoteOutcome[] }> {
  await ctx.gate.authorizeOutgoing(actor, q.breakGlass !== null);
  const everyone = await ctx.consortium.activeMembers();
  const others = everyone.filter((m) => m.address !== ctx.signer.address && callable(m));
  const asked = await Promise.all(others.map((m) => askMember(ctx, m, everyone, q)));
  const opened = asked.flatMap((a) => a.opened);
  const refused = asked.flatMap((a) => a.outcome.withheld);
  // Log before serve: every record received and every refusal, before the user sees anything.
  await ctx.gate.logReceived(actor, q, opened, refused);
  const resources = opened.map((o) => o.resource).filter((r) => !filter || matchesSearchRequest(r, filter));
  return { resources, outcomes: asked.map((a) => a.outcome) };
}
