/**
 * Replication, the custodian's side: each member's record ciphertexts, key wraps and log entries
 * are pushed to two other members (src/federation/replicaRing.ts), which cannot read them: they
 * never get a wrap for themselves. Each record carries the category mask decided when it was
 * written (nothing is decrypted to classify it), and a wrap for every member whose current grant
 * covers EVERY bit of it, each wrap naming the grant terms it was made under. The custodian
 * re-sends a patient's records whenever that patient's consent changes on chain, so revoked or
 * narrowed grantees lose their wraps and new grantees get theirs; until then the replica refuses
 * wraps whose terms differ from the grant on chain (src/federation/replica.ts).
 */
import { type Address, getAddress, type LocalAccount } from 'viem';
import type { ChainConnection } from '../chain/clients.js';
import { grantTermsKey } from '../chain/consentModel.js';
import type { ConsortiumView, MemberInfo } from '../chain/consortium.js';
import { consentAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { decodeEntry } from '../log/entry.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { RecordService } from '../records/recordService.js';
import type { Db } from '../store/database.js';
import { ALL_CATEGORY_BITS, type VersionRow } from '../store/recordStore.js';
import { wireCiphertext } from './custodian.js';
import { callable, postSigned } from './memberClient.js';
import { replicasOf } from './replicaRing.js';
import { b64, type WireCiphertext } from './wire.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const BATCH = 500;

/** A record as pushed to a replica: its ciphertext, where its entry is, and the wraps consent allows. */
export interface ReplicaRecord extends WireCiphertext {
  patient: Address;
  entryIndex: number;
  /** `grantTerms`: the grant (src/chain/consentModel.ts grantTermsKey) the wrap was made under; '' for the patient's own. */
  wraps: { recipient: string; enc: string; wrapped: string; grantTerms: string }[];
}

export interface PushBody {
  /** Index of the first entry in `entries`. */
  from: number;
  entries: string[];
  records: ReplicaRecord[];
  deleted: { resourceType: string; id: string }[];
}

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

  /** Stop the timer and let a round in progress finish; its failure (e.g. the chain is down) is not the caller's. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
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
    const targets = replicasOf(this.ctx.signer.address, members).filter(callable);
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
    const categories = row.categories ?? ALL_CATEGORY_BITS;
    const wraps: ReplicaRecord['wraps'] = [];
    // The patient's own copies travel as they are: under their record key (or, from older stores, HPKE).
    const patientKey = store.patientKey(row.patientRef);
    const legacy = patientKey ? store.wrapOf(row, hex(patientKey)) : undefined;
    for (const pw of [...store.wrapsOfKind(row, 'patient-key'), ...(legacy ? [legacy] : [])])
      wraps.push({ recipient: pw.recipient, enc: b64(pw.enc), wrapped: b64(pw.wrapped), grantTerms: '' });
    const nowSec = BigInt(Math.floor((this.ctx.now ?? Date.now)() / 1000));
    for (const m of members) {
      if (m.address === this.ctx.signer.address || m.address === target.address) continue;
      const g = await this.ctx.consortium.grantOf(patient, m.address);
      // Every bit of the record's mask, the member's current admission, not expired.
      if (!g || (g.categories & categories) !== categories || g.granteeAdmission !== m.admission) continue;
      if (nowSec >= g.expiry) continue;
      const w = await this.ctx.records.wrapFor(row, m.encryptionKey);
      wraps.push({
        recipient: hex(m.encryptionKey),
        enc: b64(w.enc),
        wrapped: b64(w.wrapped),
        grantTerms: grantTermsKey(g),
      });
    }
    return { ...wireCiphertext(row, categories), patient, entryIndex, wraps };
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
      const r = await postSigned(
        this.ctx.signer,
        target,
        '/federation/replica/push',
        JSON.stringify(body),
        15_000,
      );
      if (
        r.kind === 'refused' &&
        r.status === 409 &&
        typeof (r.body as { logSize?: unknown }).logSize === 'number'
      ) {
        this.setCursor(target.address, (r.body as { logSize: number }).logSize);
        continue;
      }
      if (r.kind !== 'ok') throw new Error(`replica ${target.name}: ${r.message}`);
      this.setCursor(target.address, from + batch.length);
      if (from + batch.length >= size) return;
    }
  }
}
