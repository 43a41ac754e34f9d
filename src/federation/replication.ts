/**
 * Replication: each member's record ciphertexts, key wraps and log entries are copied to two other
 * members (the next two active members after it, by address), which cannot read them: they never
 * get a wrap for themselves. When the custodian is down, a reader asks a replica. The replica checks
 * the patient's consent on chain, logs the access in its own log before answering, and answers with
 * the ciphertext, the reader's wrap, and the custodian's create/update entry with an inclusion proof
 * to the head the custodian anchored on chain; the reader checks all of that before decrypting.
 *
 * Wraps at replicas are kept for the members whose grant covers the record's category; the
 * custodian re-sends a patient's records whenever that patient's consent changes on chain, so
 * revoked members lose their wraps and new grantees get theirs.
 */
import { type Address, getAddress, type Hex, type LocalAccount } from 'viem';
import { memberAuthHeader } from '../access/memberAuth.js';
import type { ChainConnection } from '../chain/clients.js';
import type { ConsortiumView, MemberInfo } from '../chain/consortium.js';
import { consentAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { categoryBit, type Purpose, purposeBit } from '../chain/scopes.js';
import { badRequest, conflict, forbidden } from '../fhir/outcomes.js';
import { isResourceType } from '../fhir/resourceTypes.js';
import { decodeEntry } from '../log/entry.js';
import { leafHash, MerkleTree } from '../log/merkle.js';
import type { LogInput, TransparencyLog } from '../log/transparencyLog.js';
import { recordCategory } from '../records/recordCategory.js';
import type { RecordService } from '../records/recordService.js';
import type { Db } from '../store/database.js';
import type { VersionRow } from '../store/recordStore.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const BATCH = 500;

/** The two members that hold replicas of `custodian`'s records: the next two active members by address. */
export function replicasOf(custodian: Address, members: readonly MemberInfo[]): MemberInfo[] {
  const ring = [...members].sort((a, b) => a.address.toLowerCase().localeCompare(b.address.toLowerCase()));
  const i = ring.findIndex((m) => m.address.toLowerCase() === custodian.toLowerCase());
  const others = i < 0 ? ring : [...ring.slice(i + 1), ...ring.slice(0, i)];
  return others.filter((m) => m.address.toLowerCase() !== custodian.toLowerCase()).slice(0, 2);
}

export interface ReplicaRecord {
  resourceType: string;
  id: string;
  version: number;
  patient: Address;
  patientRef: string;
  nonce: string;
  ciphertext: string;
  ciphertextHash: string;
  entryIndex: number;
  wraps: { recipient: string; enc: string; wrapped: string }[];
}

export interface PushBody {
  /** Index of the first entry in `entries`. */
  from: number;
  entries: string[];
  records: ReplicaRecord[];
  deleted: { resourceType: string; id: string }[];
}

// ---------------------------------------------------------------- custodian side

export interface ReplicatorContext {
  db: Db;
  records: RecordService;
  log: TransparencyLog;
  consortium: ConsortiumView;
  signer: LocalAccount;
  conn: ChainConnection;
  manifest: DeploymentManifest;
  now?: () => number;
}

export class Replicator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private consentBlock: bigint;
  private readonly pendingConsent = new Map<Address, Set<string>>();
  /** Log size at the end of the last round that reached every replica. */
  private settledSize = -1;

  constructor(
    private readonly ctx: ReplicatorContext,
    private readonly intervalMs = 1000,
  ) {
    this.consentBlock = BigInt(ctx.manifest.deploymentBlock) - 1n;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  tick(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private cursor(target: Address): number {
    const r = this.ctx.db
      .prepare('SELECT log_index FROM replication_cursor WHERE target = ?')
      .get(target.toLowerCase()) as { log_index: number } | undefined;
    return r?.log_index ?? 0;
  }

  private setCursor(target: Address, index: number): void {
    this.ctx.db
      .prepare(
        'INSERT INTO replication_cursor (target, log_index) VALUES (?, ?) ON CONFLICT (target) DO UPDATE SET log_index = excluded.log_index',
      )
      .run(target.toLowerCase(), index);
  }

  private async round(): Promise<void> {
    const changed = await this.patientsWithConsentChanges();
    // Nothing new since a round that reached every replica: skip the membership reads.
    const size = this.ctx.log.size;
    const pendingAny = [...this.pendingConsent.values()].some((p) => p.size > 0);
    if (size === this.settledSize && changed.size === 0 && !pendingAny) return;
    const members = await this.ctx.consortium.activeMembers();
    const targets = replicasOf(this.ctx.signer.address, members).filter((m) =>
      /^https?:\/\//.test(m.endpoint),
    );
    let allDelivered = true;
    for (const target of targets) {
      // Consent changes stay pending per replica until that replica has taken them.
      const pending = this.pendingConsent.get(target.address) ?? new Set<string>();
      for (const p of changed) pending.add(p);
      this.pendingConsent.set(target.address, pending);
      try {
        await this.pushTo(target, members, pending);
        pending.clear();
      } catch {
        allDelivered = false;
        // The replica is unreachable: its cursor and pending patients stay; the next round retries.
      }
    }
    if (allDelivered) this.settledSize = size;
  }

  /** Patients (by address) whose consent changed on chain since the last round. */
  private async patientsWithConsentChanges(): Promise<Set<string>> {
    const latest = await this.ctx.conn.publicClient.getBlockNumber({ cacheTime: 0 });
    if (latest <= this.consentBlock) return new Set();
    const events = await this.ctx.conn.publicClient.getContractEvents({
      address: this.ctx.manifest.contracts.Consent,
      abi: consentAbi,
      fromBlock: this.consentBlock + 1n,
      toBlock: latest,
    });
    this.consentBlock = latest;
    return new Set(
      events
        .map((e) => String((e.args as { patient?: string }).patient ?? '').toLowerCase())
        .filter((a) => a.length > 0),
    );
  }

  /** The entry index of the create/update entry of a record version (scanning that patient's entries). */
  private entryIndexOf(row: VersionRow, patient: Address): number | undefined {
    for (const e of this.ctx.log.entriesForPatient(patient).reverse()) {
      const d = decodeEntry(e.leaf);
      if (
        (d.action === 'create' || d.action === 'update') &&
        d.outcome === 'permit' &&
        d.target?.resourceType === row.resourceType &&
        d.target.id === row.id &&
        d.target.version === row.version
      ) {
        return e.index;
      }
    }
    return undefined;
  }

  private async replicaRecord(
    row: VersionRow,
    patient: Address,
    entryIndex: number,
    target: MemberInfo,
    members: readonly MemberInfo[],
  ): Promise<ReplicaRecord> {
    const store = this.ctx.records.storeForReplication;
    const wraps: ReplicaRecord['wraps'] = [];
    const patientKey = store.patientKey(row.patientRef);
    const pw = patientKey ? store.wrapOf(row, hex(patientKey)) : undefined;
    if (pw) wraps.push({ recipient: pw.recipient, enc: b64(pw.enc), wrapped: b64(pw.wrapped) });
    const { resource } = await this.ctx.records.vreadRow(row.resourceType as never, row.id, row.version);
    const bit = categoryBit(recordCategory(resource));
    const nowSec = BigInt(Math.floor((this.ctx.now ?? Date.now)() / 1000));
    for (const m of members) {
      if (m.address === this.ctx.signer.address || m.address === target.address) continue;
      const g = await this.ctx.consortium.grantOf(patient, m.address);
      // A grant to an earlier admission of a re-admitted member covers nothing.
      if (!g || g.granteeAdmission !== m.admission || (g.categories & bit) !== bit || nowSec >= g.expiry)
        continue;
      const w = await this.ctx.records.wrapFor(row, m.encryptionKey);
      wraps.push({ recipient: hex(m.encryptionKey), enc: b64(w.enc), wrapped: b64(w.wrapped) });
    }
    return {
      resourceType: row.resourceType,
      id: row.id,
      version: row.version,
      patient,
      patientRef: row.patientRef,
      nonce: b64(row.nonce as Uint8Array),
      ciphertext: b64(row.ciphertext as Uint8Array),
      ciphertextHash: row.ciphertextHash,
      entryIndex,
      wraps,
    };
  }

  private async pushTo(
    target: MemberInfo,
    members: readonly MemberInfo[],
    consentChanged: Set<string>,
  ): Promise<void> {
    const store = this.ctx.records.storeForReplication;
    for (let guard = 0; guard < 100; guard++) {
      const from = this.cursor(target.address);
      const size = this.ctx.log.size;
      const batch = this.ctx.log.entries(from, Math.min(size, from + BATCH));
      const records: ReplicaRecord[] = [];
      const deleted: PushBody['deleted'] = [];
      const seen = new Set<string>();
      for (const e of batch) {
        const d = decodeEntry(e.leaf);
        if (d.outcome !== 'permit' || !d.target?.id || !d.patient) continue;
        const key = `${d.target.resourceType}/${d.target.id}`;
        if (d.action === 'delete') {
          deleted.push({ resourceType: d.target.resourceType, id: d.target.id });
          continue;
        }
        if (d.action !== 'create' && d.action !== 'update') continue;
        const head = store.head(d.target.resourceType, d.target.id);
        if (!head || head.deleted || head.version !== d.target.version || seen.has(key)) continue;
        seen.add(key);
        const row = store.version(d.target.resourceType, d.target.id, d.target.version) as VersionRow;
        records.push(await this.replicaRecord(row, d.patient, e.index, target, members));
      }
      // Records of patients whose consent changed: re-send with the wraps consent now allows.
      if (guard === 0) {
        for (const address of consentChanged) {
          for (const ref of store.patientRefsForAddress(address)) {
            for (const row of store.currentRowsForPatient(ref)) {
              const key = `${row.resourceType}/${row.id}`;
              const idx = this.entryIndexOf(row, getAddress(address));
              if (seen.has(key) || idx === undefined || idx >= from) continue;
              seen.add(key);
              records.push(await this.replicaRecord(row, getAddress(address), idx, target, members));
            }
          }
        }
      }
      if (batch.length === 0 && records.length === 0 && deleted.length === 0) return;
      const body: PushBody = { from, entries: batch.map((e) => b64(e.leaf)), records, deleted };
      const payload = JSON.stringify(body);
      const path = '/federation/replica/push';
      const r = await fetch(`${target.endpoint.replace(/\/$/, '')}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: await memberAuthHeader(this.ctx.signer, target.address, 'POST', path, payload),
        },
        body: payload,
        signal: AbortSignal.timeout(15_000),
      });
      const answer = (await r.json()) as { logSize?: number };
      if (r.status === 409 && typeof answer.logSize === 'number') {
        this.setCursor(target.address, answer.logSize);
        continue;
      }
      if (!r.ok) throw new Error(`replica answered ${r.status}`);
      this.setCursor(target.address, from + batch.length);
      if (from + batch.length >= size) return;
    }
  }
}

// ---------------------------------------------------------------- replica side

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

/** Store a push from `custodian` (the signed caller): its log entries, records and wraps. */
/**
 * `selfKey` is this replica's own X25519 public key (hex): a push carrying a wrap for it is refused,
 * since a replica must never be able to read what it holds.
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
    throw Object.assign(conflict(`expected log index ${tree.size}`), { logSize: tree.size });
  const leaves = body.entries.map((e) => {
    const bytes = unb64(e);
    const d = decodeEntry(bytes);
    if (d.member !== getAddress(custodian)) throw badRequest('a pushed entry belongs to another member');
    return bytes;
  });
  for (const r of body.records) {
    if (
      !isResourceType(r.resourceType) ||
      !Array.isArray(r.wraps) ||
      r.wraps.some((w) => w.recipient === selfKey.toLowerCase())
    )
      throw badRequest('bad replica record');
  }
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
      `INSERT INTO replica_records (custodian, resource_type, id, version, patient, patient_ref, nonce, ciphertext, ciphertext_hash, entry_index)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (custodian, resource_type, id) DO UPDATE SET version = excluded.version, patient = excluded.patient,
         patient_ref = excluded.patient_ref, nonce = excluded.nonce, ciphertext = excluded.ciphertext,
         ciphertext_hash = excluded.ciphertext_hash, entry_index = excluded.entry_index`,
    );
    const insWrap = db.prepare(
      'INSERT INTO replica_wraps (custodian, resource_type, id, recipient, enc, wrapped) VALUES (?, ?, ?, ?, ?, ?)',
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
      );
      delWraps.run(c, r.resourceType, r.id);
      for (const w of r.wraps)
        insWrap.run(c, r.resourceType, r.id, w.recipient, unb64(w.enc), unb64(w.wrapped));
    }
  })();
  for (const l of leaves) tree.append(leafHash(l));
  return { logSize: tree.size };
}

export interface ReplicaAnswer {
  anchoredSize: number;
  records: (Omit<ReplicaRecord, 'wraps'> & { enc: string; wrapped: string; entry: string; path: string[] })[];
  denied: number;
}

/** Serve `caller` from the replica of `custodian`: consent checked on chain, logged here first. */
export async function answerAsReplica(
  ctx: { db: Db; log: TransparencyLog; consortium: ConsortiumView; now?: () => number },
  caller: Address,
  raw: unknown,
): Promise<ReplicaAnswer> {
  const q = raw as { custodian?: string; patient?: string; resourceType?: string; purpose?: string };
  if (
    typeof q?.custodian !== 'string' ||
    typeof q.patient !== 'string' ||
    typeof q.resourceType !== 'string' ||
    !isResourceType(q.resourceType)
  ) {
    throw badRequest('send {custodian, patient, resourceType, purpose}');
  }
  if (!['treatment', 'payment', 'operations', 'research'].includes(String(q.purpose)))
    throw badRequest('purpose must be a consent purpose (break-glass is not served by replicas)');
  const custodian = getAddress(q.custodian);
  const patient = getAddress(q.patient);
  const requester = await ctx.consortium.member(caller);
  const rows = ctx.db
    .prepare('SELECT * FROM replica_records WHERE custodian = ? AND patient = ? AND resource_type = ?')
    .all(custodian.toLowerCase(), patient.toLowerCase(), q.resourceType) as {
    resource_type: string;
    id: string;
    version: number;
    patient_ref: string;
    nonce: Buffer;
    ciphertext: Buffer;
    ciphertext_hash: string;
    entry_index: number;
  }[];
  const g = await ctx.consortium.grantOf(patient, caller);
  const nowSec = BigInt(Math.floor((ctx.now ?? Date.now)() / 1000));
  const purposeOk =
    !!g &&
    requester.active &&
    g.granteeAdmission === requester.admission &&
    (g.purposes & purposeBit(q.purpose as Purpose)) !== 0 &&
    nowSec >= g.validFrom &&
    nowSec < g.expiry;
  const recipient = hex(requester.encryptionKey);
  const wrapOf = ctx.db.prepare(
    'SELECT enc, wrapped FROM replica_wraps WHERE custodian = ? AND resource_type = ? AND id = ? AND recipient = ?',
  );
  const decided = rows.map((r) => {
    const w = purposeOk
      ? (wrapOf.get(custodian.toLowerCase(), r.resource_type, r.id, recipient) as
          | { enc: Buffer; wrapped: Buffer }
          | undefined)
      : undefined;
    return { r, w };
  });
  const logs: LogInput[] = decided.map(({ r, w }) => ({
    actor: `member:${caller}`,
    patient,
    action: 'search',
    target: {
      resourceType: r.resource_type,
      id: r.id,
      version: r.version,
      ciphertextHash: `0x${r.ciphertext_hash}`,
    },
    purpose: q.purpose as Purpose,
    outcome: w ? 'permit' : 'deny',
    reason: w ? 'replica-consent' : 'no-consent',
    queryHash: null,
  }));
  await ctx.log.appendAll(logs);
  const permitted = decided.filter((d) => d.w);
  if (permitted.length === 0 && decided.length > 0)
    throw forbidden(`no consent from the patient for ${requester.name || caller} (served by a replica)`);
  const head = await ctx.consortium.latestHead(custodian);
  const tree = treeOf(ctx.db, custodian.toLowerCase());
  const entryOf = ctx.db.prepare('SELECT entry FROM replica_log WHERE custodian = ? AND idx = ?');
  const records: ReplicaAnswer['records'] = [];
  for (const { r, w } of permitted) {
    if (r.entry_index >= head.treeSize || head.treeSize > tree.size) continue; // not provable yet
    const entry = entryOf.get(custodian.toLowerCase(), r.entry_index) as { entry: Buffer };
    records.push({
      resourceType: r.resource_type,
      id: r.id,
      version: r.version,
      patient,
      patientRef: r.patient_ref,
      nonce: b64(r.nonce),
      ciphertext: b64(r.ciphertext),
      ciphertextHash: r.ciphertext_hash,
      entryIndex: r.entry_index,
      enc: b64((w as { enc: Buffer }).enc),
      wrapped: b64((w as { wrapped: Buffer }).wrapped),
      entry: b64(entry.entry),
      path: tree.inclusionProof(r.entry_index, head.treeSize).map((p) => `0x${hex(p)}` as Hex),
    });
  }
  return { anchoredSize: head.treeSize, records, denied: decided.length - permitted.length };
}
