/**
 * The custodian's answer to another member (`POST /federation/search`, member-signed): the
 * gatekeeper decides and logs; this module only seals what it released for the requester. One
 * fresh response key per answer, sealed once to the requester's X25519 key from the Registry;
 * each released record's data key wrapped under it. An answer's shape depends on the decision and
 * on the released records only: a refusal lists the categories withheld per resource type, the
 * same whether or not anything is held in them.
 */
import type { Address } from 'viem';
import type { Gatekeeper, Refusal } from '../access/gatekeeper.js';
import type { MemberInfo } from '../chain/consortium.js';
import { maskToCategories } from '../chain/scopes.js';
import { bindingBytes } from '../crypto/envelope.js';
import { newResponseKey } from '../crypto/responseKey.js';
import { wrapSymmetricAll } from '../crypto/symmetricWrap.js';
import { bindingOf, type RecordService } from '../records/recordService.js';
import { ALL_CATEGORY_BITS, type VersionRow } from '../store/recordStore.js';
import {
  b64,
  parseReleaseRequest,
  type RecordsAnswer,
  type SentRecord,
  type WireCiphertext,
  type WireKey,
  type WireRefusal,
} from './wire.js';

/** A released record as it travels: its ciphertext fields and its key (built field by field, no spread). */
function wireRecord(row: VersionRow, key: WireKey): SentRecord {
  return {
    resourceType: row.resourceType,
    id: row.id,
    version: row.version,
    patientRef: row.patientRef,
    categories: row.categories ?? ALL_CATEGORY_BITS,
    nonce: b64(row.nonce as Uint8Array),
    ciphertext: b64(row.ciphertext as Uint8Array),
    ciphertextHash: row.ciphertextHash,
    key,
  };
}

/** The ciphertext fields of a stored version, as they travel. */
export function wireCiphertext(row: VersionRow, categories: number): WireCiphertext {
  return {
    resourceType: row.resourceType,
    id: row.id,
    version: row.version,
    patientRef: row.patientRef,
    categories,
    nonce: b64(row.nonce as Uint8Array),
    ciphertext: b64(row.ciphertext as Uint8Array),
    ciphertextHash: row.ciphertextHash,
  };
}

export const wireRefusals = (refusals: readonly Refusal[]): WireRefusal[] =>
  refusals.map((r) => ({
    resourceType: r.resourceType,
    categories: maskToCategories(r.categories),
    reason: r.reason,
  }));

/** Answer `caller` (an active member, signature checked) for the patient's records of the types asked. */
export async function answerMember(
  ctx: {
    gate: Gatekeeper;
    records: RecordService;
    member: (a: Address) => Promise<MemberInfo>;
    self: Address;
  },
  caller: Address,
  body: unknown,
): Promise<RecordsAnswer> {
  const q = parseReleaseRequest(body);
  // Decided and logged (every released record, and what is withheld) before anything is sealed.
  // The requester's key is read in the same turn as the decision's chain reads, so a cached view
  // (src/chain/consortiumCache.ts) learns the latest block once for all three.
  const [requester, { rows, refusals, truncated }] = await Promise.all([
    ctx.member(caller),
    ctx.gate.releaseToMember(caller, q),
  ]);
  const answer: RecordsAnswer = {
    custodian: ctx.self,
    patient: q.patient,
    responseKey: null,
    records: [],
    refusals: wireRefusals(refusals),
    truncated,
  };
  if (rows.length === 0) return answer;
  const { key, sealed } = await newResponseKey(requester.encryptionKey, ctx.self, caller);
  const dataKeys: (Uint8Array | undefined)[] = [];
  try {
    answer.responseKey = { enc: b64(sealed.enc), wrapped: b64(sealed.wrapped) };
    // Each record's binding is made once: it authenticates both the unwrap and the new wrap. Own
    // copies under a KEK unwrap at once; HPKE copies (older stores) together, on WebCrypto's pool.
    const aads = rows.map((r) => bindingBytes(bindingOf(r)));
    let waiting = false;
    for (const [i, r] of rows.entries()) {
      const k = ctx.records.dataKeyUnderKek(r, aads[i] as Uint8Array);
      dataKeys.push(k);
      if (!k) waiting = true;
    }
    if (waiting) {
      // Settled, not all: a failed unwrap must not leave others finishing after the finally below
      // has zeroed what was there, with keys nobody zeroes.
      const settled = await Promise.allSettled(
        rows.map(async (r, i) => {
          dataKeys[i] ??= await ctx.records.dataKeyOf(r, aads[i]);
        }),
      );
      const failed = settled.find((x) => x.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    const wraps = wrapSymmetricAll(
      key,
      rows.map((_, i) => ({ dataKey: dataKeys[i] as Uint8Array, aad: aads[i] as Uint8Array })),
    );
    for (const [i, row] of rows.entries())
      answer.records.push(wireRecord(row, { kind: 'response', wrapped: b64(wraps[i] as Uint8Array) }));
  } finally {
    key.fill(0);
    for (const k of dataKeys) k?.fill(0);
  }
  return answer;
}
