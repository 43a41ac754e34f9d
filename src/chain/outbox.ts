/**
 * The chain outbox: every transaction a node wants on chain is first recorded durably in the
 * node's SQLite store, then signed, recorded again (raw bytes and hash), then broadcast.
 *
 * Crash safety without double effect:
 *  - crash before signing: the row is `queued`; it is signed afresh on restart (nothing was sent).
 *  - crash after signing: the row is `signed` with its raw transaction; on restart exactly the same
 *    bytes are re-broadcast. Same nonce, same hash: the chain applies it at most once, and the
 *    receipt for that hash tells whether it was applied.
 *  - another sender used the row's nonce (the same key in two places): the bytes can never be
 *    mined; seen twice, `rebroadcastMs` apart, the row is signed afresh with a new nonce.
 *
 * Sending does not wait for the chain: `submit` signs and broadcasts, `settle` records the receipts
 * of what has been mined since, so several transactions may be in flight with consecutive nonces
 * (applied in nonce order, which is the order they were enqueued). `flush` does both and waits.
 * Signing, broadcasting and settling run one at a time, so a nonce is never handed out twice.
 * Only standard JSON-RPC is used (eth_call, eth_estimateGas, eth_getTransactionCount,
 * eth_sendRawTransaction, eth_getTransactionReceipt).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Abi,
  type Address,
  BaseError,
  decodeErrorResult,
  encodeFunctionData,
  type Hash,
  type Hex,
  keccak256,
  RawContractError,
} from 'viem';
import { type Db, statement } from '../store/database.js';
import type { ChainConnection, ChainWallet } from './clients.js';
import { auditAnchorAbi, claimsAbi, consentAbi, drugLedgerAbi, registryAbi } from './generated/index.js';
import type { ContractName as CoreContractName, OptionalContractName } from './manifest.js';
import { withHeadroom } from './transact.js';

/** Any contract the outbox may send to. */
type ContractName = CoreContractName | OptionalContractName;

const ABIS: Record<ContractName, Abi> = {
  Registry: registryAbi,
  Consent: consentAbi,
  AuditAnchor: auditAnchorAbi,
  DrugLedger: drugLedgerAbi,
  Claims: claimsAbi,
};

export type OutboxStatus = 'queued' | 'signed' | 'confirmed' | 'failed';

export interface OutboxEntry {
  id: number;
  key: string;
  contract: ContractName;
  address: Address;
  description: string;
  status: OutboxStatus;
  nonce: number | null;
  txHash: Hash | null;
  block: number | null;
  error: string | null;
  attempts: number;
  createdAt: number;
  updatedAt: number;
}

export interface OutboxRequest {
  /** Idempotency key: enqueueing the same key twice records one transaction. */
  key: string;
  contract: ContractName;
  address: Address;
  functionName: string;
  args: readonly unknown[];
  /** Human-readable, for the admin view (no identifiers: it is stored in clear). */
  description: string;
}

interface Row {
  id: number;
  key: string;
  contract: ContractName;
  address: Address;
  data: Hex;
  description: string;
  status: OutboxStatus;
  nonce: number | null;
  raw_tx: Hex | null;
  tx_hash: Hash | null;
  block: number | null;
  error: string | null;
  attempts: number;
  created_at: number;
  updated_at: number;
}

export interface OutboxOptions {
  /** How long `flush` waits for receipts before leaving a transaction for later. Default 30 s. */
  receiptTimeoutMs?: number;
  /** Broadcast the same bytes again when a sent transaction is not mined after this long. Default 5 s. */
  rebroadcastMs?: number;
  now?: () => number;
}

/**
 * Receipt polls back off from FIRST_POLL_MS to SETTLE_POLL_MS: anvil's automine mines a
 * transaction a moment after it is sent, a Besu QBFT network in its next block (a second or two).
 */
const FIRST_POLL_MS = 2;
const SETTLE_POLL_MS = 50;

export class Outbox {
  private flushing: Promise<OutboxEntry[]> | undefined;
  /** The settle step running now, which callers waiting for receipts share. */
  private settlingNow: Promise<unknown> | undefined;
  private readonly now: () => number;
  /** One chain step at a time (sign, broadcast, settle): the tail of the queue of steps. */
  private tail: Promise<unknown> = Promise.resolve();
  /** When this process last broadcast each signed row (none after a restart: re-broadcast them). */
  private readonly sentAt = new Map<number, number>();
  /** Rows this process signed (so they cannot have been mined before their first broadcast). */
  private readonly signedHere = new Set<number>();
  /** When a row's nonce was first seen mined without its receipt (another transaction took it). */
  private readonly nonceTakenAt = new Map<number, number>();

  constructor(
    private readonly db: Db,
    private readonly conn: ChainConnection,
    private readonly wallet: ChainWallet,
    private readonly opts: OutboxOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Durably record a transaction to send. Returns the entry (the existing one if the key was seen). */
  enqueue(req: OutboxRequest): OutboxEntry {
    const data = encodeFunctionData({
      abi: ABIS[req.contract],
      functionName: req.functionName,
      args: req.args,
    } as never);
    const t = this.now();
    statement(
      this.db,
      `INSERT INTO outbox (key, contract, address, data, description, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT (key) DO NOTHING`,
    ).run(req.key, req.contract, req.address, data, req.description, t, t);
    return toEntry(statement(this.db, 'SELECT * FROM outbox WHERE key = ?').get(req.key) as Row);
  }

  /** Entries not yet confirmed or failed, oldest first. */
  pending(): OutboxEntry[] {
    return (
      statement(
        this.db,
        `SELECT * FROM outbox WHERE status IN ('queued','signed') ORDER BY id`,
      ).all() as Row[]
    ).map(toEntry);
  }

  get(key: string): OutboxEntry | undefined {
    const row = statement(this.db, 'SELECT * FROM outbox WHERE key = ?').get(key) as Row | undefined;
    return row && toEntry(row);
  }

  /** Most recent entries, newest first. */
  recent(limit = 50): OutboxEntry[] {
    return (statement(this.db, 'SELECT * FROM outbox ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(
      toEntry,
    );
  }

  /**
   * Sign, send and confirm every pending entry in order, waiting for receipts (up to
   * `receiptTimeoutMs`). Concurrent calls share one run. Returns the entries the contract refused
   * and the entries it sent or settled.
   */
  flush(): Promise<OutboxEntry[]> {
    if (!this.flushing) {
      this.flushing = this.runFlush().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  /**
   * Until entry `key` is confirmed or failed: sign and send what is queued (at once, even while
   * another flush waits for its receipts, so an entry never waits on transactions it has nothing
   * to do with), then wait for its receipt (up to `receiptTimeoutMs`, polls shared with the other
   * waiters); at most `rounds` times. Returns the entry as it then stands (still open if the
   * chain is slow).
   */
  async flushUntilSettled(key: string, rounds = 5): Promise<OutboxEntry | undefined> {
    let e = this.get(key);
    for (let i = 0; i < rounds && (e?.status === 'queued' || e?.status === 'signed'); i++) {
      await this.submit();
      e = await this.receiptOf(key);
    }
    return e;
  }

  /** Settle until entry `key` is no longer signed, or `receiptTimeoutMs` has passed. */
  private async receiptOf(key: string): Promise<OutboxEntry | undefined> {
    // Real time, not the injectable clock: this is a wait for the chain.
    const deadline = Date.now() + (this.opts.receiptTimeoutMs ?? 30_000);
    let wait = FIRST_POLL_MS;
    for (;;) {
      const e = this.get(key);
      if (e?.status !== 'signed') return e;
      await this.settleShared();
      const after = this.get(key);
      if (after?.status !== 'signed') return after;
      if (Date.now() >= deadline) {
        this.update(after.id, { error: 'no receipt yet; will retry' });
        return this.get(key);
      }
      await sleep(wait);
      wait = Math.min(2 * wait, SETTLE_POLL_MS);
    }
  }

  /** One settle step for every caller waiting now (joining the one running, if any). */
  private settleShared(): Promise<unknown> {
    this.settlingNow ??= this.settle().finally(() => {
      this.settlingNow = undefined;
    });
    return this.settlingNow;
  }

  /**
   * Sign every queued entry and broadcast every signed one not sent lately, without waiting for
   * the chain. Returns the entries the contract refused (marked failed).
   */
  submit(): Promise<OutboxEntry[]> {
    return this.exclusive(async () => {
      const failed = await this.signAll();
      await this.sendAll();
      return failed;
    });
  }

  /**
   * Record the receipt of every sent entry the chain has mined (one eth_getTransactionCount, and a
   * receipt per newly mined entry). Never waits for a block. Returns the entries it settled.
   */
  settle(): Promise<OutboxEntry[]> {
    return this.exclusive(() => this.settleMined());
  }

  private async runFlush(): Promise<OutboxEntry[]> {
    const before = this.pending().map((e) => e.id);
    const failed = await this.submit();
    const refused = new Set(failed.map((e) => e.id));
    // Everything this flush sent or settled: what was open before (unless refused) and what is signed now.
    const watched = [...new Set([...before, ...this.signedRows().map((r) => r.id)])].filter(
      (id) => !refused.has(id),
    );
    // Real time, not the injectable clock: this is a wait for the chain.
    const deadline = Date.now() + (this.opts.receiptTimeoutMs ?? 30_000);
    const open = () => watched.filter((id) => this.row(id).status === 'signed');
    let wait = FIRST_POLL_MS;
    while (open().length > 0 && Date.now() < deadline) {
      await this.settleShared();
      if (open().length === 0) break;
      await sleep(wait);
      wait = Math.min(2 * wait, SETTLE_POLL_MS);
    }
    for (const id of open()) this.update(id, { error: 'no receipt yet; will retry' });
    return [...failed, ...watched.map((id) => toEntry(this.row(id)))];
  }

  /**
   * Step 1 of a flush: dry-run and sign every queued entry, storing raw bytes and hash durably.
   * Returns the entries the contract refused (marked failed). Public so crash recovery can be
   * tested between the steps.
   */
  signQueued(): Promise<OutboxEntry[]> {
    return this.exclusive(() => this.signAll());
  }

  /** Step 2 of a flush: broadcast every signed entry not sent lately (no waiting for receipts). */
  sendSigned(): Promise<OutboxEntry[]> {
    return this.exclusive(() => this.sendAll());
  }

  /** Run `step` after every step already queued: nonces, broadcasts and receipts never interleave. */
  private exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.tail.then(step, step);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private signedRows(): Row[] {
    return statement(this.db, `SELECT * FROM outbox WHERE status = 'signed' ORDER BY nonce`).all() as Row[];
  }

  private async signAll(): Promise<OutboxEntry[]> {
    const rows = statement(
      this.db,
      `SELECT * FROM outbox WHERE status = 'queued' ORDER BY id`,
    ).all() as Row[];
    const failed: OutboxEntry[] = [];
    // In id order, stopping at the first error (thrown): nonces follow the order of enqueueing.
    for (const row of rows) {
      await this.sign(row);
      const after = this.row(row.id);
      if (after.status === 'failed') failed.push(toEntry(after));
    }
    return failed;
  }

  private async sendAll(): Promise<OutboxEntry[]> {
    const done: OutboxEntry[] = [];
    const rebroadcastMs = this.opts.rebroadcastMs ?? 5000;
    for (const row of this.signedRows()) {
      const sent = this.sentAt.get(row.id);
      if (sent !== undefined && this.now() - sent < rebroadcastMs) continue;
      await this.broadcast(row, sent === undefined);
      done.push(toEntry(this.row(row.id)));
    }
    return done;
  }

  private async settleMined(): Promise<OutboxEntry[]> {
    const rows = this.signedRows();
    if (rows.length === 0) return [];
    const pc = this.conn.publicClient;
    // Nonces below the account's mined count are in blocks: only those can have a receipt.
    const mined = await pc.getTransactionCount({ address: this.wallet.account.address, blockTag: 'latest' });
    const settled: OutboxEntry[] = [];
    for (const row of rows) {
      if ((row.nonce as number) >= mined) break;
      const receipt = await pc.getTransactionReceipt({ hash: row.tx_hash as Hash }).catch(() => undefined);
      if (!receipt) {
        this.nonceTaken(row);
        continue;
      }
      this.record(row.id, receipt);
      settled.push(toEntry(this.row(row.id)));
    }
    return settled;
  }

  /**
   * A mined nonce without our receipt: another transaction with this key took it, or the node
   * lags. Seen again after `rebroadcastMs`, the stored bytes can never be mined, so the row goes
   * back to `queued` and is signed afresh (dry run, new nonce): no double effect, since the old
   * bytes are dead. Order among entries may change then; a superseded one fails its dry run.
   */
  private nonceTaken(row: Row): void {
    const first = this.nonceTakenAt.get(row.id);
    if (first === undefined) {
      this.nonceTakenAt.set(row.id, this.now());
      return;
    }
    if (this.now() - first < (this.opts.rebroadcastMs ?? 5000)) return;
    this.nonceTakenAt.delete(row.id);
    this.sentAt.delete(row.id);
    this.signedHere.delete(row.id);
    this.update(row.id, {
      status: 'queued',
      nonce: null,
      raw_tx: null,
      tx_hash: null,
      error: `nonce ${row.nonce} was used by another transaction; signed again`,
    });
  }

  private record(id: number, receipt: { status: 'success' | 'reverted'; blockNumber: bigint }): void {
    this.sentAt.delete(id);
    this.nonceTakenAt.delete(id);
    this.signedHere.delete(id);
    this.update(id, {
      status: receipt.status === 'success' ? 'confirmed' : 'failed',
      block: Number(receipt.blockNumber),
      error: receipt.status === 'success' ? null : 'reverted on chain',
    });
  }

  private row(id: number): Row {
    return statement(this.db, 'SELECT * FROM outbox WHERE id = ?').get(id) as Row;
  }

  private update(id: number, fields: Partial<Row>): void {
    const cols = Object.keys(fields);
    const sets = [...cols.map((c) => `${c} = @${c}`), 'updated_at = @updated_at'].join(', ');
    statement(this.db, `UPDATE outbox SET ${sets} WHERE id = @id`).run({
      ...fields,
      updated_at: this.now(),
      id,
    });
  }

  /** Dry-run, then sign with an explicit nonce and store the raw bytes before anything is sent. */
  private async sign(row: Row): Promise<void> {
    const pc = this.conn.publicClient;
    const account = this.wallet.account;
    try {
      await pc.call({ account, to: row.address, data: row.data });
    } catch (err) {
      this.update(row.id, {
        status: 'failed',
        error: describeRevert(err, ABIS[row.contract]),
        attempts: row.attempts + 1,
      });
      return;
    }
    const chainNonce = await pc.getTransactionCount({ address: account.address, blockTag: 'pending' });
    const localMax = statement(
      this.db,
      `SELECT MAX(nonce) AS n FROM outbox WHERE status = 'signed'`,
    ).get() as {
      n: number | null;
    };
    const nonce = Math.max(chainNonce, (localMax.n ?? -1) + 1);
    const gasPrice = await pc.getGasPrice();
    const gas = await pc.estimateGas({ account, to: row.address, data: row.data, gasPrice });
    const raw = await this.wallet.signTransaction({
      account,
      chain: this.conn.chain,
      to: row.address,
      data: row.data,
      nonce,
      gas: withHeadroom(gas),
      gasPrice,
      type: 'legacy',
    });
    const txHash = keccak256(raw);
    this.signedHere.add(row.id);
    this.update(row.id, {
      status: 'signed',
      nonce,
      raw_tx: raw,
      tx_hash: txHash,
      attempts: row.attempts + 1,
    });
  }

  /**
   * Broadcast a signed row's stored bytes. A row this process has not sent (signed before a
   * restart) is first looked up: if the chain already has its receipt it is settled instead.
   */
  private async broadcast(row: Row, unseen: boolean): Promise<void> {
    const pc = this.conn.publicClient;
    if (unseen && !this.signedHere.has(row.id)) {
      const known = await pc.getTransactionReceipt({ hash: row.tx_hash as Hash }).catch(() => undefined);
      if (known) {
        this.record(row.id, known);
        return;
      }
    }
    try {
      await pc.sendRawTransaction({ serializedTransaction: row.raw_tx as Hex });
    } catch (err) {
      // "already known" / "nonce too low" mean the same bytes are in the pool or mined: settling
      // the receipt decides. Anything else is left for the next submit.
      const msg = String((err as BaseError).details ?? (err as Error).message).toLowerCase();
      if (!/already known|nonce too low|already imported|known transaction/.test(msg)) {
        this.update(row.id, { error: `broadcast: ${(err as BaseError).shortMessage ?? msg}` });
        return;
      }
    }
    this.sentAt.set(row.id, this.now());
    if (row.error) this.update(row.id, { error: null });
  }
}

function toEntry(r: Row): OutboxEntry {
  return {
    id: r.id,
    key: r.key,
    contract: r.contract,
    address: r.address,
    description: r.description,
    status: r.status,
    nonce: r.nonce,
    txHash: r.tx_hash,
    block: r.block,
    error: r.error,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The contract's custom error (name and arguments) from a failed eth_call, or its short message. */
function describeRevert(err: unknown, abi: Abi): string {
  if (err instanceof BaseError) {
    const raw = err.walk((e) => e instanceof RawContractError) as RawContractError | null;
    const data =
      raw?.data ??
      (err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null)?.data;
    if (typeof data === 'string' && data.length >= 10) {
      try {
        const d = decodeErrorResult({ abi, data });
        return `${d.errorName}(${(d.args ?? []).map(String).join(', ')})`;
      } catch {
        /* not one of our errors */
      }
    }
    return err.shortMessage;
  }
  return String(err);
}
