/**
 * The member node's FHIR record service: validate -> classify (the category mask of every
 * security label) -> encrypt with a fresh data key -> wrap the key for the custodian (this member)
 * and the patient -> blind-index -> store; and the reverse for reads. All writes of one call commit
 * in one SQLite transaction. It decides nothing about access: the gatekeeper (src/access) finds
 * rows, decides, and only then asks for a row to be opened, so a record that will not be released
 * is never decrypted.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Patient, Resource } from '@medplum/fhirtypes';
import { type Address, getAddress, isAddress } from 'viem';
import { blindToken } from '../crypto/blindIndex.js';
import type { ConsortiumKey } from '../crypto/consortiumKey.js';
import { CryptoError } from '../crypto/cryptoError.js';
import { discoveryTokens } from '../crypto/discoveryToken.js';
import {
  bindingBytes,
  openRecord,
  openRecordBound,
  type RecordBinding,
  sealRecord,
} from '../crypto/envelope.js';
import { type KeyWrap, unwrapperFor, wrapKey } from '../crypto/keyWrap.js';
import { unwrapSymmetric, wrapSymmetric } from '../crypto/symmetricWrap.js';
import { badRequest, conflict, gone, notFound, preconditionFailed } from '../errors.js';
import { demographicsOf, matchKeys } from '../fhir/demographics.js';
import { indexValues, queryTokenForms } from '../fhir/indexValues.js';
import { isResourceType, PATIENT_ADDRESS_SYSTEM, type ResourceType } from '../fhir/resourceTypes.js';
import type { SearchQuery } from '../fhir/search.js';
import { patientEncryptionKey, validateIncoming } from '../fhir/validate.js';
import {
  ALL_CATEGORY_BITS,
  type BlindClause,
  type PatientRecordKeyRow,
  type PreparedVersion,
  type RecordStore,
  VersionConflictError,
  type VersionRow,
  type WrapRow,
} from '../store/recordStore.js';
import { categoryMask } from './recordCategory.js';
import { checkReferences, type PlannedWrites, type ReferenceLookup } from './referenceCheck.js';

export interface MemberKeys {
  encryptionPrivateKey: Uint8Array;
  encryptionPublicKey: Uint8Array;
  /** HMAC key of the blind index. */
  indexKey: Uint8Array;
  /** Key-encryption keys (AES-256), oldest first; the last is current. */
  keks: readonly { id: string; key: Uint8Array }[];
  /** The current consortium key (patient discovery); without it no discovery tokens are kept. */
  consortiumKey?: ConsortiumKey;
}

/** What a patient record key is bound to: the patient and the key's id. */
export const patientKeyBinding = (patientRef: string, kid: string): Uint8Array =>
  new TextEncoder().encode(`medchain patient record key v1\n${patientRef}\n${kid}`);

export type StoredResource = Resource & { resourceType: ResourceType; id: string };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** "W/\"3\"" or "3" -> 3; undefined when absent; FhirError 412 when unparseable. */
export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  if (!m) throw preconditionFailed(`If-Match must be an ETag such as W/"1", got ${value.slice(0, 40)}`);
  return Number(m[1]);
}

/** What a stored version's ciphertext and key wraps are bound to. */
export const bindingOf = (
  row: Pick<VersionRow, 'resourceType' | 'id' | 'version' | 'patientRef'>,
): RecordBinding => ({
  resourceType: row.resourceType,
  id: row.id,
  version: row.version,
  patient: row.patientRef,
});

export class RecordService {
  private readonly custodian: string;
  private unwrapper: Promise<(wrap: KeyWrap, aad: Uint8Array) => Promise<Uint8Array>> | undefined;
  /** Recipients of this member's own copies, most preferred first: the KEKs (newest first), then the HPKE key of old stores. */
  private readonly ownRecipients: string[];
  /** Patient record keys in use, by patient reference (only after their row is committed). */
  private readonly patientKeys = new Map<string, { kid: string; key: Uint8Array; recipient: string }>();

  constructor(
    private readonly store: RecordStore,
    private readonly keys: MemberKeys,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (keys.keks.length === 0) throw new CryptoError('bad-argument', 'a member needs a key-encryption key');
    this.custodian = hex(keys.encryptionPublicKey);
    this.ownRecipients = [...keys.keks.map((k) => `kek:${k.id}`).reverse(), this.custodian];
  }

  private get currentKek(): { id: string; key: Uint8Array } {
    return this.keys.keks[this.keys.keks.length - 1] as { id: string; key: Uint8Array };
  }

  private kek(id: string): Uint8Array {
    const k = this.keys.keks.find((x) => x.id === id);
    if (!k)
      throw new CryptoError('unwrap-failed', `key-encryption key ${id} is not in this member's key file`);
    return k.key;
  }

  /** This member's own copy of a data key: under the current KEK (no asymmetric operation). */
  private ownWrap(dataKey: Uint8Array, aad: Uint8Array): WrapRow {
    const k = this.currentKek;
    return {
      recipient: `kek:${k.id}`,
      kind: 'kek',
      enc: new Uint8Array(),
      wrapped: wrapSymmetric(k.key, dataKey, aad),
    };
  }

  /**
   * The record key of a patient (X25519 key `pk`): the one in use, else a new one, sealed to the
   * patient once with HPKE and kept under the KEK. Returns the row to store when it is new.
   */
  private async patientRecordKey(
    patientRef: string,
    pk: Uint8Array,
  ): Promise<{ kid: string; key: Uint8Array; row?: PatientRecordKeyRow }> {
    const recipient = hex(pk);
    const known = this.patientKeys.get(patientRef);
    if (known?.recipient === recipient) return known;
    const stored = this.store
      .patientRecordKeys(patientRef)
      .filter((k) => k.recipient === recipient)
      .pop();
    if (stored) {
      const key = unwrapSymmetric(
        this.kek(stored.kekId),
        stored.wrapped,
        patientKeyBinding(patientRef, stored.kid),
      );
      const k = { kid: stored.kid, key, recipient };
      this.patientKeys.set(patientRef, k);
      return k;
    }
    const kid = randomBytes(4).toString('hex');
    const key = new Uint8Array(randomBytes(32));
    const aad = patientKeyBinding(patientRef, kid);
    const sealed = await wrapKey(pk, key, aad);
    const kek = this.currentKek;
    return {
      kid,
      key,
      row: {
        patientRef,
        kid,
        kekId: kek.id,
        wrapped: wrapSymmetric(kek.key, key, aad),
        recipient,
        enc: sealed.enc,
        sealed: sealed.wrapped,
        createdMs: this.now().getTime(),
      },
    };
  }

  private token(type: string, param: string, value: string): string {
    return blindToken(this.keys.indexKey, `${type}.${param}`, value);
  }

  /** The index rows of a resource: its values blinded under this member's index key, and date ranges. */
  private indexRows(
    type: ResourceType,
    idx: ReturnType<typeof indexValues>,
  ): Pick<PreparedVersion, 'tokens' | 'dates'> {
    return {
      tokens: idx.tokens.map((t) => ({ param: t.param, token: this.token(type, t.param, t.value) })),
      dates: idx.dates.map((d) => ({ param: d.param, lo: d.range.lo, hi: d.range.hi })),
    };
  }

  /** Heads and live versions of this member's records, for the reference check. */
  private readonly references: ReferenceLookup = {
    head: (type, id) => this.store.head(type, id),
    liveVersion: (type, id, version) => {
      const row = this.store.version(type, id, version);
      return row !== undefined && !row.deleted;
    },
  };

  /**
   * Prepare (validate, check references, encrypt, wrap, index) a new version of `input`.
   * `expectedPrevious` is the head version the write is based on; the commit fails if the record
   * moved on meanwhile. `planned`: what the enclosing transaction writes and deletes (its records
   * resolve as references; its deletions do not).
   */
  async prepare(
    input: unknown,
    opts: { type?: ResourceType; id?: string; ifMatch?: number; planned?: PlannedWrites } = {},
  ): Promise<{ prepared: PreparedVersion; resource: StoredResource }> {
    const valid = validateIncoming(input, opts.type);
    const type = valid.resourceType;
    const id = opts.id ?? randomUUID();
    if (opts.id !== undefined && valid.id !== undefined && valid.id !== opts.id) {
      throw badRequest(`the resource id "${valid.id}" does not match the URL id "${opts.id}"`);
    }
    const head = this.store.head(type, id);
    if (opts.ifMatch !== undefined && (head?.version ?? 0) !== opts.ifMatch) {
      throw preconditionFailed(
        `${type}/${id} is at version ${head?.version ?? 'none'}, not ${opts.ifMatch} (If-Match)`,
      );
    }
    // After every other check, so a refusal says nothing about references unless all else held.
    checkReferences({ ...valid, id }, this.references, opts.planned);
    const version = (head?.version ?? 0) + 1;
    const at = this.now();
    const resource = {
      ...valid,
      id,
      meta: { ...(valid.meta ?? {}), versionId: String(version), lastUpdated: at.toISOString() },
    } as StoredResource;
    const idx = indexValues(type, resource);
    const binding: RecordBinding = { resourceType: type, id, version, patient: idx.patient ?? '' };
    const sealed = sealRecord(Buffer.from(JSON.stringify(resource), 'utf8'), binding);
    const aad = bindingBytes(binding);
    const patientKey = type === 'Patient' ? patientEncryptionKey(resource as Patient) : undefined;
    const patientAddress =
      type === 'Patient'
        ? (resource as Patient).identifier
            ?.find((i) => i.system === PATIENT_ADDRESS_SYSTEM)
            ?.value?.toLowerCase()
        : undefined;
    // This member's copy under its KEK; the patient's under their record key: no asymmetric
    // operation per record (a patient's record key is sealed to them once, when it is made).
    const wraps: WrapRow[] = [this.ownWrap(sealed.dataKey, aad)];
    const pk = patientKey ?? (idx.patient ? this.store.patientKey(idx.patient) : undefined);
    let patientRecordKey: PatientRecordKeyRow | undefined;
    if (pk && idx.patient) {
      const k = await this.patientRecordKey(idx.patient, pk);
      patientRecordKey = k.row;
      wraps.push({
        recipient: `pk:${k.kid}`,
        kind: 'patient-key',
        enc: new Uint8Array(),
        wrapped: wrapSymmetric(k.key, sealed.dataKey, aad),
      });
    }
    sealed.dataKey.fill(0);
    const prepared: PreparedVersion = {
      row: {
        resourceType: type,
        id,
        version,
        lastUpdated: at.toISOString(),
        lastUpdatedMs: at.getTime(),
        patientRef: idx.patient ?? '',
        deleted: false,
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        ciphertextHash: sha256(sealed.ciphertext),
        categories: categoryMask(resource),
      },
      wraps,
      ...this.indexRows(type, idx),
      expectedPrevious: head?.version ?? 0,
      ...(patientKey ? { patientKey } : {}),
      ...(patientRecordKey ? { patientRecordKey } : {}),
      ...(patientAddress ? { patientAddress } : {}),
      ...(patientAddress && this.keys.consortiumKey
        ? { discovery: this.discoveryEntryOf(resource as Patient, this.keys.consortiumKey) }
        : {}),
    };
    return { prepared, resource };
  }

  /** Prepare a delete (crypto-shred) of an existing, live record. */
  prepareDelete(type: ResourceType, id: string): PreparedVersion {
    const head = this.store.head(type, id);
    if (!head) throw notFound(`${type}/${id} does not exist`);
    if (head.deleted) throw gone(`${type}/${id} was deleted`);
    const at = this.now();
    return {
      row: {
        resourceType: type,
        id,
        version: head.version + 1,
        lastUpdated: at.toISOString(),
        lastUpdatedMs: at.getTime(),
        patientRef: head.patientRef,
        deleted: true,
        nonce: null,
        ciphertext: null,
        ciphertextHash: sha256(new Uint8Array()),
        // An erasure keeps the categories of what it erased (its log entry is about that record).
        categories: this.store.version(type, id, head.version)?.categories ?? null,
      },
      wraps: [],
      tokens: [],
      dates: [],
      expectedPrevious: head.version,
    };
  }

  /**
   * Write prepared versions atomically; a concurrent change is a 409. May run inside an enclosing
   * transaction (the log's `commitWith`); call `finish` after the enclosing commit.
   */
  write(versions: readonly PreparedVersion[]): void {
    try {
      this.store.commit(versions);
    } catch (err) {
      if (err instanceof VersionConflictError)
        throw conflict(`${err.message}; it changed while this request ran, retry`);
      throw err;
    }
  }

  /**
   * After the enclosing commit: a patient's new record key is in use from now on, and after an
   * erasure the WAL is checkpointed and truncated so no old page survives there.
   */
  finish(versions: readonly PreparedVersion[]): void {
    for (const v of versions) {
      const k = v.patientRecordKey;
      if (k) this.patientKeys.delete(k.patientRef); // reloaded from the store on next use
    }
    if (versions.some((v) => v.row.deleted)) this.store.checkpoint();
  }

  /** Write and finish, without logging (tests and tools; the API goes through the gatekeeper). */
  commit(versions: readonly PreparedVersion[]): void {
    this.write(versions);
    this.finish(versions);
  }

  /** The chain address of the patient of a stored row (fetched with it when its query joined it). */
  patientAddressOfRow(row: Pick<VersionRow, 'patientRef' | 'patientAddress'>): Address | null {
    if (row.patientAddress === undefined) return this.patientAddressOf(row.patientRef);
    return row.patientRef && row.patientAddress ? getAddress(row.patientAddress) : null;
  }

  /** The chain address of the patient `patientRef`, looking first at versions about to be written. */
  patientAddressOf(patientRef: string, pending: readonly PreparedVersion[] = []): Address | null {
    if (!patientRef) return null;
    const p = pending.find(
      (v) => v.row.resourceType === 'Patient' && `Patient/${v.row.id}` === patientRef && v.patientAddress,
    );
    const a = p?.patientAddress ?? this.store.patientAddress(patientRef);
    return a ? getAddress(a) : null;
  }

  /** The store underneath (for replication, which moves ciphertext and wraps as they are). */
  get storeForReplication(): RecordStore {
    return this.store;
  }

  /** The X25519 public key (hex) this custodian wraps to. */
  get custodianKey(): string {
    return this.custodian;
  }

  /** The head of a record (for attributing denied attempts), if it exists. */
  head(type: ResourceType, id: string) {
    return this.store.head(type, id);
  }

  async create(input: unknown, type?: ResourceType): Promise<StoredResource> {
    const { prepared, resource } = await this.prepare(input, type ? { type } : {});
    this.commit([prepared]);
    return resource;
  }

  async update(
    type: ResourceType,
    id: string,
    input: unknown,
    ifMatch?: number,
  ): Promise<{ resource: StoredResource; created: boolean }> {
    const { prepared, resource } = await this.prepare(input, {
      type,
      id,
      ...(ifMatch !== undefined ? { ifMatch } : {}),
    });
    this.commit([prepared]);
    return { resource, created: prepared.expectedPrevious === 0 };
  }

  delete(type: ResourceType, id: string): void {
    this.commit([this.prepareDelete(type, id)]);
  }

  /** Decrypt a stored version with this member's key (the gatekeeper calls it only for released rows). */
  async open(row: VersionRow): Promise<StoredResource> {
    return JSON.parse((await this.openJson(row)).toString('utf8'));
  }

  /**
   * The stored JSON of a version, decrypted, as bytes: what `open` parses, for a caller that
   * releases the record whole and can send it as it is (no parse and re-serialization).
   */
  async openJson(row: VersionRow): Promise<Buffer> {
    const label = `${row.resourceType}/${row.id}/_history/${row.version}`;
    if (row.deleted || !row.ciphertext || !row.nonce) throw gone(`${label} was deleted`);
    const binding = bindingOf(row);
    const aad = bindingBytes(binding);
    // Under a KEK (the usual case) the key is unwrapped at once, without a turn through a promise.
    const dataKey = this.dataKeyUnderKek(row, aad) ?? (await this.dataKeyOf(row, aad));
    try {
      return openRecordBound(dataKey, row.nonce, row.ciphertext, binding, aad);
    } finally {
      dataKey.fill(0);
    }
  }

  async read(type: ResourceType, id: string): Promise<StoredResource> {
    return (await this.readRow(type, id)).resource;
  }

  /** The stored row of the current version (not decrypted); NotFound / Gone when there is none. */
  currentRow(type: ResourceType, id: string): VersionRow {
    // With this member's wrap under the current KEK, when it has one: a read in one query.
    const row = this.store.current(type, id, this.ownRecipients[0]);
    if (!row) throw notFound(`${type}/${id} does not exist`);
    if (row.deleted) throw gone(`${type}/${id} was deleted`);
    return row;
  }

  /**
   * The current row of a live record as kept in memory, without asking the store file whether
   * another connection changed it (a query per read, where one per log batch will do): the caller
   * must have `confirmKept(ticket)` say true before it serves anything from it. Undefined when
   * nothing is kept (or the record is deleted): then `currentRow`.
   */
  keptRow(type: ResourceType, id: string): { row: VersionRow; ticket: number } | undefined {
    const kept = this.store.currentKept(type, id, this.ownRecipients[0]);
    return kept && !kept.row.deleted ? kept : undefined;
  }

  /** Whether a row from `keptRow` was current when it was taken; false: read it again with `currentRow`. */
  confirmKept(ticket: number): boolean {
    return this.store.confirmKept(ticket);
  }

  /** The stored row of one version (not decrypted); NotFound when there is none. */
  versionRow(type: ResourceType, id: string, version: number): VersionRow {
    const row = this.store.version(type, id, version);
    if (!row) throw notFound(`${type}/${id}/_history/${version} does not exist`);
    return row;
  }

  /** Every stored version of a record, newest first (not decrypted); NotFound when there is none. */
  historyRows(type: ResourceType, id: string): VersionRow[] {
    const rows = this.store.history(type, id);
    if (rows.length === 0) throw notFound(`${type}/${id} does not exist`);
    return rows;
  }

  /** The current version, decrypted, with its stored row (version, ciphertext hash, patient). */
  async readRow(type: ResourceType, id: string): Promise<{ resource: StoredResource; row: VersionRow }> {
    const row = this.currentRow(type, id);
    return { resource: await this.open(row), row };
  }

  async vread(type: ResourceType, id: string, version: number): Promise<StoredResource> {
    return (await this.vreadRow(type, id, version)).resource;
  }

  async vreadRow(
    type: ResourceType,
    id: string,
    version: number,
  ): Promise<{ resource: StoredResource; row: VersionRow }> {
    const row = this.versionRow(type, id, version);
    return { resource: await this.open(row), row };
  }

  /** History entries of `rows` (from historyRows), newest first; deleted ones with a DELETE request and no resource. */
  async history(type: ResourceType, id: string, rows = this.historyRows(type, id)): Promise<BundleEntry[]> {
    const out: BundleEntry[] = [];
    for (const r of rows) {
      const url = `${type}/${id}/_history/${r.version}`;
      if (r.deleted || !r.ciphertext) {
        out.push({
          fullUrl: url,
          request: { method: r.deleted ? 'DELETE' : 'PUT', url: `${type}/${id}` },
          response: { status: '410 Gone', lastModified: r.lastUpdated },
        });
      } else {
        out.push({
          fullUrl: url,
          resource: await this.open(r),
          request: {
            method: r.version === 1 ? 'POST' : 'PUT',
            url: r.version === 1 ? type : `${type}/${id}`,
          },
          response: {
            status: r.version === 1 ? '201 Created' : '200 OK',
            lastModified: r.lastUpdated,
            etag: `W/"${r.version}"`,
          },
        });
      }
    }
    return out;
  }

  private unwrap(): Promise<(wrap: KeyWrap, aad: Uint8Array) => Promise<Uint8Array>> {
    this.unwrapper ??= unwrapperFor(this.keys.encryptionPrivateKey);
    return this.unwrapper;
  }

  /**
   * The data key of a stored version when this member's own copy is under a KEK (a symmetric
   * unwrap, no waiting); undefined when only an HPKE copy (a store from before KEKs) or none is at
   * hand: then `dataKeyOf`. The caller zeroes it after use.
   */
  dataKeyUnderKek(row: VersionRow, aad: Uint8Array): Uint8Array | undefined {
    const wrap = row.deleted ? undefined : row.ownWrap;
    if (wrap?.kind !== 'kek') return undefined;
    return unwrapSymmetric(this.kek(wrap.recipient.slice(4)), wrap.wrapped, aad);
  }

  /**
   * The data key of a stored version, unwrapped with this custodian's key, for re-wrapping to a
   * reader the gatekeeper released it to. The caller zeroes it after use.
   */
  async dataKeyOf(
    row: Pick<VersionRow, 'resourceType' | 'id' | 'version' | 'patientRef' | 'deleted'>,
    /** `bindingBytes(bindingOf(row))`, when the caller has it already. */
    aad: Uint8Array = bindingBytes(bindingOf(row)),
  ): Promise<Uint8Array> {
    const wrap = row.deleted
      ? undefined
      : ((row as VersionRow).ownWrap ?? this.store.firstWrap(row, this.ownRecipients));
    if (!wrap)
      throw gone(`${row.resourceType}/${row.id}/_history/${row.version}: no key for this member (erased)`);
    if (wrap.kind === 'kek') return unwrapSymmetric(this.kek(wrap.recipient.slice(4)), wrap.wrapped, aad);
    return (await this.unwrap())(wrap, aad);
  }

  /**
   * Rewrap this member's own copies under the current KEK: copies still sealed with HPKE (stores
   * from before KEKs) and copies under older KEKs (after a rotation), then the patients' record
   * keys. Batched; returns how many it rewrapped. Afterwards older KEKs can be retired.
   */
  async rewrapToCurrentKek(batch = 500): Promise<number> {
    const current = `kek:${this.currentKek.id}`;
    let n = 0;
    for (const from of this.ownRecipients.filter((r) => r !== current)) {
      for (;;) {
        const rows = this.store.wrapsOf(from, batch);
        if (rows.length === 0) break;
        const items = [];
        for (const r of rows) {
          const dataKey = await this.dataKeyOf({ ...r, deleted: false });
          items.push({ ...r, from, to: this.ownWrap(dataKey, bindingBytes(bindingOf(r))) });
          dataKey.fill(0);
        }
        this.store.replaceWraps(items);
        n += items.length;
      }
    }
    for (;;) {
      const keys = this.store.patientRecordKeysNotUnder(this.currentKek.id, batch);
      if (keys.length === 0) break;
      for (const k of keys) {
        const aad = patientKeyBinding(k.patientRef, k.kid);
        const key = unwrapSymmetric(this.kek(k.kekId), k.wrapped, aad);
        this.store.rewrapPatientRecordKey(
          k.patientRef,
          k.kid,
          this.currentKek.id,
          wrapSymmetric(this.currentKek.key, key, aad),
        );
        key.fill(0);
        n++;
      }
    }
    return n;
  }

  /** Whether anything is still wrapped under a key other than the current KEK (so older KEKs are needed). */
  needsOlderKeys(): boolean {
    const current = `kek:${this.currentKek.id}`;
    return (
      this.ownRecipients.some((r) => r !== current && this.store.wrapsOf(r, 1).length > 0) ||
      this.store.patientRecordKeysNotUnder(this.currentKek.id, 1).length > 0
    );
  }

  /** The patient's record keys, each sealed to the patient with HPKE (for the patient to fetch). */
  patientKeyEnvelopes(patientRef: string): PatientRecordKeyRow[] {
    return this.store.patientRecordKeys(patientRef);
  }

  /** A wrap of the data key of `row` for another recipient (re-wrapped by this custodian with HPKE). */
  async wrapFor(row: VersionRow, recipient: Uint8Array): Promise<KeyWrap> {
    const dataKey = await this.dataKeyOf(row);
    try {
      return await wrapKey(recipient, dataKey, bindingBytes(bindingOf(row)));
    } finally {
      dataKey.fill(0);
    }
  }

  /** Open something sealed to this member with HPKE (a response key), bound to `aad`. */
  async openSealed(sealed: KeyWrap, aad: Uint8Array): Promise<Uint8Array> {
    return (await this.unwrap())(sealed, aad);
  }

  /**
   * Decrypt a record another member sent: checks the ciphertext against its claimed hash, then
   * gets the data key (an HPKE wrap to this member, or a data key the caller already unwrapped
   * from the answer's response key) and opens it with the record's binding.
   */
  async openForeign(r: {
    binding: RecordBinding;
    nonce: Uint8Array;
    ciphertext: Uint8Array;
    ciphertextHash: string;
    key: { wrap: KeyWrap } | { dataKey: Uint8Array };
  }): Promise<StoredResource> {
    if (sha256(r.ciphertext) !== r.ciphertextHash) {
      throw new CryptoError(
        'decrypt-failed',
        `${r.binding.resourceType}/${r.binding.id}: the ciphertext does not match its hash`,
      );
    }
    const dataKey =
      'dataKey' in r.key ? r.key.dataKey : await (await this.unwrap())(r.key.wrap, bindingBytes(r.binding));
    try {
      return JSON.parse(Buffer.from(openRecord(dataKey, r.nonce, r.ciphertext, r.binding)).toString('utf8'));
    } finally {
      dataKey.fill(0);
    }
  }

  /** Patient ids linked to the chain address `address` (identifier urn:medchain:patient). */
  patientIdsForAddress(address: string): string[] {
    return this.store.patientRefsForAddress(address).map((ref) => ref.slice('Patient/'.length));
  }

  /** Blind the clauses of a parsed search and run it; resources are decrypted for the caller. */
  async search(q: SearchQuery): Promise<{ resources: StoredResource[]; total: number }> {
    const { results, total } = await this.searchRows(q);
    return { resources: results.map((r) => r.resource), total };
  }

  /**
   * Search among the records whose every category `allowed` covers (the restriction applies
   * before matching and counting: a hidden record changes neither the page nor the total), and
   * decrypt the page.
   */
  async searchRows(
    q: SearchQuery,
    allowed: number = ALL_CATEGORY_BITS,
  ): Promise<{ results: { resource: StoredResource; row: VersionRow }[]; total: number }> {
    const { rows, total } = this.searchStored(q, allowed);
    // Decrypt the page concurrently: HPKE work runs on the WebCrypto thread pool.
    const results = await Promise.all(rows.map(async (row) => ({ row, resource: await this.open(row) })));
    return { results, total };
  }

  /** The rows of a search page (not decrypted) among records `allowed` covers, and the total. */
  searchStored(q: SearchQuery, allowed: number = ALL_CATEGORY_BITS): { rows: VersionRow[]; total: number } {
    const type = q.resourceType;
    const clauses: BlindClause[] = [];
    for (const c of q.clauses) {
      if (c.kind === 'id') clauses.push({ kind: 'ids', ids: c.values });
      else if (c.kind === 'lastUpdated')
        clauses.push({ kind: 'lastUpdated', op: c.op, lo: c.range.lo, hi: c.range.hi });
      else if (c.kind === 'date')
        clauses.push({ kind: 'date', param: c.param, op: c.op, lo: c.range.lo, hi: c.range.hi });
      else if (c.kind === 'exact')
        clauses.push({
          kind: 'tokens',
          param: c.param,
          tokens: c.values.map((v) => this.token(type, c.param, v)),
        });
      else if (c.kind === 'reference') {
        const refs = c.values.flatMap((v) => {
          if (isAddress(v, { strict: false }))
            return this.patientIdsForAddress(v).map((id) => `Patient/${id}`);
          return [v.startsWith('Patient/') ? v : `Patient/${v}`];
        });
        clauses.push({
          kind: 'tokens',
          param: c.param,
          tokens: refs.map((r) => this.token(type, c.param, r)),
        });
      } else {
        const forms = c.values.flatMap(queryTokenForms);
        clauses.push({
          kind: 'tokens',
          param: c.param,
          tokens: forms.map((f) => this.token(type, c.param, f)),
        });
      }
    }
    // The page's rows come with this member's current-KEK wrap in the same query.
    return this.store.search(type, clauses, q.count, q.offset, allowed, this.ownRecipients[0]);
  }

  private discoveryEntryOf(p: Patient, ck: ConsortiumKey): { kid: string; tokens: string[] } {
    return { kid: ck.id, tokens: discoveryTokens(ck.key, matchKeys(demographicsOf(p))) };
  }

  /** The id of the consortium key discovery tokens are made under here (undefined: none held). */
  get discoveryKeyId(): string | undefined {
    return this.keys.consortiumKey?.id;
  }

  /** Discovery tokens of a query's demographics under this member's consortium key (none without one). */
  discoveryTokensFor(d: Parameters<typeof matchKeys>[0]): string[] {
    const ck = this.keys.consortiumKey;
    return ck ? discoveryTokens(ck.key, matchKeys(d)) : [];
  }

  /** Chain addresses of live Patients here matching any of `tokens` (made under key `kid`), at most `limit`. */
  discoveryMatches(kid: string, tokens: readonly string[], limit: number): Address[] {
    if (kid !== this.keys.consortiumKey?.id) return [];
    return this.store.discoveryMatches(kid, tokens, limit).map((a) => getAddress(a));
  }

  /**
   * Make discovery tokens for stored Patients that have none under the current consortium key
   * (stores from before discovery, a key given later, a rotated key): decrypt each, tokenize,
   * keep only the tokens. Returns how many Patients it indexed.
   */
  async indexDiscoveryStored(batch = 200): Promise<number> {
    const ck = this.keys.consortiumKey;
    if (!ck) return 0;
    let n = 0;
    for (;;) {
      const ids = this.store.patientsToIndex(ck.id, batch);
      if (ids.length === 0) return n;
      for (const id of ids) {
        let entry: { kid: string; tokens: string[] } = { kid: ck.id, tokens: [] };
        try {
          entry = this.discoveryEntryOf((await this.read('Patient', id)) as Patient, ck);
        } catch {
          // Not openable here (its key was erased): indexed with no tokens, so it is never found.
        }
        this.store.setDiscoveryTokens(`Patient/${id}`, entry);
      }
      n += ids.length;
    }
  }

  /**
   * Index again the records queued by a change of what is indexed (schema migration 8: Patients'
   * names, birth dates and genders): decrypt each current version with this member's key and
   * replace its index rows. A record this member cannot open (its key erased) keeps the rows it
   * had. Batched, each batch with its progress in one transaction, so it is safe to interrupt and
   * to run again; returns how many records it indexed.
   */
  async reindexStored(batch = 500): Promise<number> {
    let n = 0;
    for (;;) {
      const queued = this.store.reindexQueue(batch);
      if (queued.length === 0) return n;
      const items = [];
      for (const q of queued) {
        const row = this.store.current(q.resourceType, q.id);
        if (!row || row.deleted || !isResourceType(row.resourceType)) continue;
        let resource: StoredResource;
        try {
          resource = await this.open(row);
        } catch {
          continue; // not openable here: it keeps its rows
        }
        const rows = this.indexRows(row.resourceType, indexValues(row.resourceType, resource));
        items.push({ resourceType: row.resourceType, id: row.id, version: row.version, ...rows });
      }
      this.store.reindex(items, queued);
      n += items.length;
    }
  }

  /**
   * Classify versions stored before categories were kept (schema migration 5): decrypt each live
   * one and store its category mask. Until then such a version counts as every category. Runs in
   * batches; returns how many it classified.
   */
  async classifyStored(batch = 500): Promise<number> {
    let n = 0;
    for (;;) {
      const rows = this.store.unclassified(batch);
      if (rows.length === 0) return n;
      const done: { resourceType: string; id: string; version: number; categories: number }[] = [];
      for (const row of rows) {
        let categories = ALL_CATEGORY_BITS;
        try {
          categories = categoryMask(await this.open(row));
        } catch {
          // Not openable here (its key was erased): it stays as restrictive as it can be.
        }
        done.push({ resourceType: row.resourceType, id: row.id, version: row.version, categories });
      }
      this.store.setCategories(done);
      n += done.length;
    }
  }
}

export type { Bundle };
