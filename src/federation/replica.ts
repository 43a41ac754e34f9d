/**
 * Replication, the replica's side. A replica stores what custodians push (their log entries,
 * record ciphertexts with their category masks, and wraps for the members consent allowed, each
 * naming the grant terms it was made under) and, when a custodian is down, answers readers. It
 * cannot read anything it holds (a push with a wrap for itself is refused). Its answer goes
 * through the same access decision as the custodian's (the gatekeeper's releaseFromReplica)
 * against the CURRENT grant on chain, and each record comes with the custodian's create/update
 * entry and an inclusion proof to the head the custodian anchored, so the reader can check it.
 */
import { type Address, getAddress, type Hex } from 'viem';
import type { Gatekeeper } from '../access/gatekeeper.js';
import { grantTermsKey } from '../chain/consentModel.js';
import type { ConsortiumView } from '../chain/consortium.js';
import { badRequest, ConflictError } from '../errors.js';
import { isResourceType } from '../fhir/resourceTypes.js';
import { decodeEntry } from '../log/entry.js';
import { leafHash, MerkleTree } from '../log/merkle.js';
import type { Db } from '../store/database.js';
import { wireRefusals } from './custodian.js';
import type { PushBody } from './replication.js';
import { b64, checkWireCiphertext, parseReleaseRequest, type RecordsAnswer, unb64 } from './wire.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const trees = new WeakMap<Db, Map<string, MerkleTree>>();

/** The replica's copy of `custodian`'s log as a Merkle tree (built once, then extended). */
function treeOf(db: Db, custodian: string): MerkleTree {
  let perDb = trees.get(db);
  if (!perDb) {
    perDb = new Map();
    trees.set(db, perDb);
  }
  let t = perDb.get(custodian);
  if (!t) {
    t = new MerkleTree();
    for (const r of db
      .prepare('SELECT entry FROM replica_log WHERE custodian = ? ORDER BY idx')
      .iterate(custodian) as Iterable<{ entry: Buffer }>) {
      t.append(leafHash(r.entry));
    }
    perDb.set(custodian, t);
  }
  return t;
}

/**
 * Store a push from `custodian` (the signed caller): its log entries, records and wraps. `selfKey`
 * is this replica's own X25519 public key (hex): a push carrying a wrap for it is refused, since a
 * replica must never be able to read what it holds. A push at the wrong log index is a
 * ConflictError carrying the replica's `logSize`, where the custodian resumes.
 */
export function acceptPush(db: Db, selfKey: string, custodian: Address, raw: unknown): { logSize: number } {
  const body = raw as PushBody;
  if (
    !body ||
    typeof body !== 'object' ||
    !Array.isArray(body.entries) ||
    !Array.isArray(body.records) ||
    !Array.isArray(body.deleted) ||
    !Number.isSafeInteger(body.from)
  ) {
    throw badRequest('a replica push has {from, entries, records, deleted}');
  }
  const c = custodian.toLowerCase();
  const tree = treeOf(db, c);
  if (body.from !== tree.size)
    throw new ConflictError(`expected log index ${tree.size}`, { logSize: tree.size });
  const leaves = body.entries.map((e) => {
    const bytes = unb64(e);
    const d = decodeEntry(bytes);
    if (d.member !== getAddress(custodian)) throw badRequest('a pushed entry belongs to another member');
    return bytes;
  });
  for (const r of body.records) {
    try {
      checkWireCiphertext(r);
    } catch {
      throw badRequest('bad replica record');
    }
    if (
      typeof r.patient !== 'string' ||
      !Number.isSafeInteger(r.entryIndex) ||
      !Array.isArray(r.wraps) ||
      r.wraps.some((w) => typeof w.grantTerms !== 'string' || w.recipient === selfKey.toLowerCase())
    )
      throw badRequest('bad replica record');
  }
  for (const d of body.deleted)
    if (!isResourceType(String(d?.resourceType))) throw badRequest('bad deletion');
  db.transaction(() => {
    const ins = db.prepare('INSERT INTO replica_log (custodian, idx, entry) VALUES (?, ?, ?)');
    for (const [i, l] of leaves.entries()) ins.run(c, body.from + i, l);
    const delWraps = db.prepare(
      'DELETE FROM replica_wraps WHERE custodian = ? AND resource_type = ? AND id = ?',
    );
    const delRec = db.prepare(
      'DELETE FROM replica_records WHERE custodian = ? AND resource_type = ? AND id = ?',
    );
    for (const d of body.deleted) {
      delWraps.run(c, d.resourceType, d.id);
      delRec.run(c, d.resourceType, d.id);
    }
    const upRec = db.prepare(
      `INSERT INTO replica_records (custodian, resource_type, id, version, patient, patient_ref, nonce, ciphertext, ciphertext_hash, entry_index, category_mask)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (custodian, resource_type, id) DO UPDATE SET version = excluded.version, patient = excluded.patient,
         patient_ref = excluded.patient_ref, nonce = excluded.nonce, ciphertext = excluded.ciphertext,
         ciphertext_hash = excluded.ciphertext_hash, entry_index = excluded.entry_index,
         category_mask = excluded.category_mask`,
    );
    const insWrap = db.prepare(
      'INSERT INTO replica_wraps (custodian, resource_type, id, recipient, enc, wrapped, grant_terms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const r of body.records) {
      upRec.run(
        c,
        r.resourceType,
        r.id,
        r.version,
        r.patient.toLowerCase(),
        r.patientRef,
        unb64(r.nonce),
        unb64(r.ciphertext),
        r.ciphertextHash,
        r.entryIndex,
        r.categories,
      );
      delWraps.run(c, r.resourceType, r.id);
      for (const w of r.wraps)
        insWrap.run(c, r.resourceType, r.id, w.recipient, unb64(w.enc), unb64(w.wrapped), w.grantTerms);
    }
  })();
  for (const l of leaves) tree.append(leafHash(l));
  return { logSize: tree.size };
}

interface HeldRecord {
  resourceType: string;
  id: string;
  version: number;
  patientRef: string;
  nonce: Buffer;
  ciphertext: Buffer;
  ciphertextHash: string;
  entryIndex: number;
  categories: number;
  enc: Buffer;
  wrapped: Buffer;
  grantTerms: string;
}

/** Serve `caller` from the replica of `custodian`, through the access decision (logged here first). */
export async function answerAsReplica(
  ctx: { db: Db; gate: Gatekeeper; consortium: ConsortiumView; selfKey: string },
  caller: Address,
  raw: unknown,
): Promise<RecordsAnswer> {
  const custodianRaw = (raw as { custodian?: unknown } | null)?.custodian;
  if (typeof custodianRaw !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(custodianRaw))
    throw badRequest('send {custodian, patient, resourceTypes, purpose, userRole, breakGlass}');
  const q = parseReleaseRequest(raw);
  if (q.breakGlass !== null)
    throw badRequest('break-glass is not served by replicas (they hold no wrap for it)');
  const custodian = getAddress(custodianRaw);
  const requester = await ctx.consortium.member(caller);
  const c = custodian.toLowerCase();
  const held = ctx.db.prepare(
    `SELECT r.resource_type AS resourceType, r.id, r.version, r.patient_ref AS patientRef, r.nonce, r.ciphertext,
            r.ciphertext_hash AS ciphertextHash, r.entry_index AS entryIndex, r.category_mask AS categories,
            w.enc, w.wrapped, w.grant_terms AS grantTerms
       FROM replica_records r JOIN replica_wraps w
         ON w.custodian = r.custodian AND w.resource_type = r.resource_type AND w.id = r.id AND w.recipient = ?
      WHERE r.custodian = ? AND r.patient = ? AND r.resource_type = ?`,
  );
  const candidates = q.resourceTypes.flatMap(
    (t) => held.all(hex(requester.encryptionKey), c, q.patient.toLowerCase(), t) as HeldRecord[],
  );
  const { released, refusals } = await ctx.gate.releaseFromReplica(caller, q, candidates, grantTermsKey);
  const head = await ctx.consortium.latestHead(custodian);
  const tree = treeOf(ctx.db, c);
  const entryOf = ctx.db.prepare('SELECT entry FROM replica_log WHERE custodian = ? AND idx = ?');
  const answer: RecordsAnswer = {
    custodian,
    patient: q.patient,
    responseKey: null,
    records: [],
    refusals: wireRefusals(refusals),
    truncated: false,
    anchoredSize: head.treeSize,
  };
  for (const r of released) {
    if (r.entryIndex >= head.treeSize || head.treeSize > tree.size) continue; // not provable yet
    const entry = entryOf.get(c, r.entryIndex) as { entry: Buffer };
    answer.records.push({
      resourceType: r.resourceType,
      id: r.id,
      version: r.version,
      patientRef: r.patientRef,
      categories: r.categories,
      nonce: b64(r.nonce),
      ciphertext: b64(r.ciphertext),
      ciphertextHash: r.ciphertextHash,
      key: { kind: 'hpke', enc: b64(r.enc), wrapped: b64(r.wrapped) },
      evidence: {
        entryIndex: r.entryIndex,
        entry: b64(entry.entry),
        path: tree.inclusionProof(r.entryIndex, head.treeSize).map((p) => `0x${hex(p)}` as Hex),
      },
    });
  }
  return answer;
}
