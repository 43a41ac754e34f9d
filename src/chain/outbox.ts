/**
 * The chain outbox: every transaction a node wants on chain is first recorded durably in the
 * node's SQLite store, then signed, recorded again (raw bytes and hash), then broadcast.
 *
 * Crash safety without double effect:
 *  - crash before signing: the row is `queued`; it is signed afresh on restart (nothing was sent).
 *  - crash after signing: the row is `signed` with its raw transaction; on restart exactly the same
 *    bytes are re-broadcast. Same nonce, same hash: the chain applies it at most once, and the
 *    receipt for that hash tells whether it was applied.
 * Only standard JSON-RPC is used (eth_call, eth_sendRawTransaction, eth_getTransactionReceipt).
 */
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
import type { Db } from '../store/database.js';
import type { ChainConnection, ChainWallet } from './clients.js';
import { auditAnchorAbi, consentAbi, registryAbi } from './generated/index.js';
import type { ContractName } from './manifest.js';

const ABIS: Record<ContractName, Abi> = {
  Registry: registryAbi,
  Consent: consentAbi,
  AuditAnchor: auditAnchorAbi,
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
  /** How long to wait for a receipt before leaving a transaction for the next flush. Default 30 s. */
  receiptTimeoutMs?: number;
  now?: () => number;
}

export class Outbox {
  private flushing: Promise<OutboxEntry[]> | undefined;
  private readonly now: () => number;

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
    this.db
      .prepare(
        `INSERT INTO outbox (key, contract, address, data, description, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT (key) DO NOTHING`,
      )
      .run(req.key, req.contract, req.address, data, req.description, t, t);
    return toEntry(this.db.prepare('SELECT * FROM outbox WHERE key = ?').get(req.key) as Row);
  }

  /** Entries not yet confirmed or failed, oldest first. */
  pending(): OutboxEntry[] {
    return (
      this.db.prepare(`SELECT * FROM outbox WHERE status IN ('queued','signed') ORDER BY id`).all() as Row[]
    ).map(toEntry);
  }

  get(key: string): OutboxEntry | undefined {
    const row = this.db.prepare('SELECT * FROM outbox WHERE key = ?').get(key) as Row | undefined;
    return row && toEntry(row);
  }

  /** Most recent entries, newest first. */
  recent(limit = 50): OutboxEntry[] {
    return (this.db.prepare('SELECT * FROM outbox ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(
      toEntry,
    );
  }

  /**
   * Sign, send and confirm every pending entry in order. Concurrent calls share one run.
   * Returns the entries it settled or advanced.
   */
  flush(): Promise<OutboxEntry[]> {
    if (!this.flushing) {
      this.flushing = this.runFlush().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  private async runFlush(): Promise<OutboxEntry[]> {
    const failed = await this.signQueued();
    return [...failed, ...(await this.sendSigned())];
  }

  /**
   * Step 1 of a flush: dry-run and sign every queued entry, storing raw bytes and hash durably.
   * Returns the entries the contract refused (marked failed). Public so crash recovery can be
   * tested between the steps.
   */
  async signQueued(): Promise<OutboxEntry[]> {
    const rows = this.db.prepare(`SELECT * FROM outbox WHERE status = 'queued' ORDER BY id`).all() as Row[];
    const failed: OutboxEntry[] = [];
    for (const row of rows) {
      await this.sign(row);
      const after = this.row(row.id);
      if (after.status === 'failed') failed.push(toEntry(after));
    }
    return failed;
  }

  /** Step 2 of a flush: (re)broadcast every signed entry and record its receipt. */
  async sendSigned(): Promise<OutboxEntry[]> {
    const rows = this.db
      .prepare(`SELECT * FROM outbox WHERE status = 'signed' ORDER BY nonce`)
      .all() as Row[];
    const done: OutboxEntry[] = [];
    for (const row of rows) {
      await this.broadcastAndConfirm(row);
      done.push(toEntry(this.row(row.id)));
    }
    return done;
  }

  private row(id: number): Row {
    return this.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as Row;
  }

  private update(id: number, fields: Partial<Row>): void {
    const cols = Object.keys(fields);
    const sets = [...cols.map((c) => `${c} = @${c}`), 'updated_at = @updated_at'].join(', ');
    this.db
      .prepare(`UPDATE outbox SET ${sets} WHERE id = @id`)
      .run({ ...fields, updated_at: this.now(), id });
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
    const localMax = this.db.prepare(`SELECT MAX(nonce) AS n FROM outbox WHERE status = 'signed'`).get() as {
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
      gas: (gas * 12n) / 10n,
      gasPrice,
      type: 'legacy',
    });
    const txHash = keccak256(raw);
    this.update(row.id, {
      status: 'signed',
      nonce,
      raw_tx: raw,
      tx_hash: txHash,
      attempts: row.attempts + 1,
    });
  }

  private async broadcastAndConfirm(row: Row): Promise<void> {
    const pc = this.conn.publicClient;
    const hash = row.tx_hash as Hash;
    const known = await pc.getTransactionReceipt({ hash }).catch(() => undefined);
    if (!known) {
      try {
        await pc.sendRawTransaction({ serializedTransaction: row.raw_tx as Hex });
      } catch (err) {
        // "already known" / "nonce too low" mean the same bytes are in the pool or mined: the
        // receipt below settles it. Anything else is left for the next flush.
        const msg = String((err as BaseError).details ?? (err as Error).message).toLowerCase();
        if (!/already known|nonce too low|already imported|known transaction/.test(msg)) {
          this.update(row.id, { error: `broadcast: ${(err as BaseError).shortMessage ?? msg}` });
          return;
        }
      }
    }
    try {
      const receipt =
        known ??
        (await pc.waitForTransactionReceipt({
          hash,
          timeout: this.opts.receiptTimeoutMs ?? 30_000,
          pollingInterval: 50,
        }));
      this.update(row.id, {
        status: receipt.status === 'success' ? 'confirmed' : 'failed',
        block: Number(receipt.blockNumber),
        error: receipt.status === 'success' ? null : 'reverted on chain',
      });
    } catch {
      this.update(row.id, { error: 'no receipt yet; will retry' });
    }
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
