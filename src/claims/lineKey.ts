/**
 * Each provider's own line-commitment key (finding 23): the HMAC key of its claim lines' on-chain
 * commitments (lineCommitment.ts) is shared only by the provider and the payers it bills, not by
 * every consortium member.
 *
 *   - `providerLineKey`: K_P = HKDF-SHA256 (RFC 5869) of the member's chain private key, info
 *     naming this purpose, the chain id and the Claims contract. Deterministic: nothing new to
 *     store or back up, the same after a restart, and a new Claims deployment gets a new key (its
 *     registration lives in that contract). The chain key is the one secret a member can never
 *     rotate without becoming another member, which fits a key pinned once for good; whoever holds
 *     it can already act as the member.
 *   - `lineKeyHash`: what the provider pins on chain once (`Claims.registerLineKey`): keccak256 of
 *     a domain tag and K_P. A 256-bit key's hash cannot be searched; it only lets a payer check the
 *     key it was sent is the one the provider commits every payer's lines under, so a provider
 *     cannot evade cross-payer duplicate detection with a key per payer.
 *   - `sealLineKey` / `openLineKey`: K_P travels in each claim submission sealed to the insurer's
 *     Registry X25519 key with HPKE base mode (RFC 9180 §6.1, hpkeBase.ts), the info binding
 *     provider, insurer and purpose, so a sealed key opens only at the insurer it was made for and
 *     cannot be passed off as another provider's.
 *   - `LineKeySealer` (provider) seals once per insurer key; `ProviderLineKeys` (insurer) opens a
 *     sealed key, checks it against the provider's pinned hash (read from chain once: final once
 *     set) and keeps what it verified.
 *   - `LineKeyRegistrar` (provider) pins the hash through the outbox (key `claims-line-key`),
 *     mined before the provider's first batch (the contract refuses batches from a provider with
 *     no key).
 */
import { hkdfSync } from 'node:crypto';
import { type Address, concat, type Hex, keccak256, toBytes } from 'viem';
import { ChainError } from '../chain/chainError.js';
import type { Outbox } from '../chain/outbox.js';
import { CryptoError } from '../crypto/cryptoError.js';
import { openBase, sealBase } from '../crypto/hpkeBase.js';
import type { WireLineKey } from '../federation/claimSubmissionWire.js';
import { ClaimSubmissionRefusedError, CommitmentKeyError } from './claimsError.js';
import { KEY_BYTES } from './lineCommitment.js';

const DERIVE_INFO = 'medchain claims line-commitment key v1';
const HASH_TAG = 'medchain claims line-commitment key hash v1';
const SEAL_INFO = 'medchain claims line-commitment key seal v1';
/** The outbox key of the one `registerLineKey` a provider sends. */
export const LINE_KEY_OUTBOX_KEY = 'claims-line-key';
const ZERO_HASH = `0x${'00'.repeat(32)}`;

/** A line-commitment key sealed to one insurer, as it travels in a claim submission (hex). */
export type SealedLineKey = WireLineKey;

const bytes = (h: Hex) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES)
    throw new CommitmentKeyError(`the line-commitment key must be ${KEY_BYTES} secret bytes`);
}

/** K_P: the provider's line-commitment key, derived from its chain private key for one Claims deployment. */
export function providerLineKey(chainKey: Hex, chainId: number, claims: Address): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(chainKey))
    throw new CommitmentKeyError('the chain private key must be 32 bytes of hex');
  const info = `${DERIVE_INFO}\nchain: ${chainId}\nclaims: ${claims.toLowerCase()}`;
  return new Uint8Array(hkdfSync('sha256', bytes(chainKey), new Uint8Array(0), info, KEY_BYTES));
}

/** The hash a provider pins on chain for its line-commitment key (Claims.registerLineKey). */
export function lineKeyHash(key: Uint8Array): Hex {
  checkKey(key);
  return keccak256(concat([toBytes(HASH_TAG), key]));
}

const sealInfo = (provider: Address, insurer: Address) =>
  new TextEncoder().encode(`${SEAL_INFO}\nfrom: ${provider.toLowerCase()}\nto: ${insurer.toLowerCase()}`);

/** Seal `key` from `provider` to `insurer` (its Registry X25519 public key `insurerKey`). */
export function sealLineKey(
  insurerKey: Uint8Array,
  provider: Address,
  insurer: Address,
  key: Uint8Array,
): SealedLineKey {
  checkKey(key);
  const { enc, ct } = sealBase(insurerKey, sealInfo(provider, insurer), new Uint8Array(0), key);
  return { enc: hex(enc), sealed: hex(ct) };
}

/** Open a key `provider` sealed to `insurer`; CryptoError('unwrap-failed') when it is not for us or was altered. */
export function openLineKey(
  insurerPrivateKey: Uint8Array,
  provider: Address,
  insurer: Address,
  sealed: SealedLineKey,
): Uint8Array {
  const key = openBase(
    insurerPrivateKey,
    { enc: bytes(sealed.enc), ct: bytes(sealed.sealed) },
    sealInfo(provider, insurer),
    new Uint8Array(0),
  );
  if (key.length !== KEY_BYTES)
    throw new CryptoError('unwrap-failed', `a sealed line-commitment key opens to ${KEY_BYTES} bytes`);
  return key;
}

/** The provider's side: its key, sealed once per insurer key (a seal may be sent again as is). */
export class LineKeySealer {
  private readonly seals = new Map<string, SealedLineKey>();

  constructor(
    private readonly self: Address,
    readonly key: Uint8Array,
    /** An insurer's X25519 public key as the Registry lists it. */
    private readonly encryptionKeyOf: (insurer: Address) => Promise<Uint8Array>,
  ) {
    checkKey(key);
  }

  /** The key sealed to `insurer`. */
  async sealFor(insurer: Address): Promise<SealedLineKey> {
    const pk = await this.encryptionKeyOf(insurer);
    const k = `${insurer.toLowerCase()}:${hex(pk)}`;
    let s = this.seals.get(k);
    if (!s) {
      s = sealLineKey(pk, this.self, insurer, this.key);
      this.seals.set(k, s);
    }
    return s;
  }
}

/** How many verified keys (one per provider and seal) an insurer keeps. */
const MAX_KEPT = 10_000;

/** The insurer's side: a provider's key from its submission, checked against the hash it pinned. */
export class ProviderLineKeys {
  /** Pinned hashes per provider (only set ones: final once set). */
  private readonly pinned = new Map<string, Hex>();
  /** Keys already opened and verified, by provider and sealed bytes. */
  private readonly verified = new Map<string, Uint8Array>();

  constructor(
    /** This insurer's account. */
    private readonly self: Address,
    /** This insurer's X25519 private key. */
    private readonly privateKey: Uint8Array,
    /** The hash `provider` registered on chain (Claims.lineKeyOf; zero when none). */
    private readonly lineKeyOf: (provider: Address) => Promise<Hex>,
  ) {}

  /**
   * The line-commitment key `provider` sent sealed in a submission, once its hash is the one the
   * provider registered on chain; ClaimSubmissionRefusedError otherwise (nothing is stored then).
   */
  async keyOf(provider: Address, sealed: SealedLineKey): Promise<Uint8Array> {
    const k = `${provider.toLowerCase()}:${sealed.enc}:${sealed.sealed}`;
    const known = this.verified.get(k);
    if (known) return known;
    const pinned = await this.pinnedHash(provider);
    let key: Uint8Array;
    try {
      key = openLineKey(this.privateKey, provider, this.self, sealed);
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      throw new ClaimSubmissionRefusedError(
        'the line-commitment key in the submission does not open for this insurer (sealed to another member, or altered)',
      );
    }
    if (lineKeyHash(key) !== pinned)
      throw new ClaimSubmissionRefusedError(
        'the line-commitment key sent is not the one the provider registered on chain (Claims.lineKeyOf): a provider commits every payer’s lines under its one key',
      );
    this.verified.set(k, key);
    if (this.verified.size > MAX_KEPT) this.verified.delete(this.verified.keys().next().value as string);
    return key;
  }

  private async pinnedHash(provider: Address): Promise<Hex> {
    const p = provider.toLowerCase();
    const kept = this.pinned.get(p);
    if (kept) return kept;
    const h = (await this.lineKeyOf(provider)).toLowerCase() as Hex;
    if (h === ZERO_HASH)
      throw new ClaimSubmissionRefusedError(
        'the provider has registered no line-commitment key on chain (Claims.registerLineKey)',
      );
    this.pinned.set(p, h);
    return h;
  }
}

/** The provider pins its key's hash on chain once, through the outbox, before its first batch. */
export class LineKeyRegistrar {
  private registered: Promise<void> | undefined;

  constructor(
    private readonly outbox: Pick<Outbox, 'enqueue' | 'flushUntilSettled'>,
    /** The Claims contract address. */
    private readonly claims: Address,
    private readonly keyHash: Hex,
    /** The hash this account has pinned on chain now (Claims.lineKeyOf; zero when none). */
    private readonly pinned: () => Promise<Hex>,
  ) {}

  /** Resolves once the hash is on chain (mined); a failure is retried on the next call. */
  ensure(): Promise<void> {
    this.registered ??= (async () => {
      const now = (await this.pinned()).toLowerCase();
      if (now === this.keyHash.toLowerCase()) return;
      if (now !== ZERO_HASH) {
        this.registered = undefined;
        throw new ChainError(
          'claims-line-key-conflict',
          `another line-commitment key hash (${now}) is pinned on chain for this account; claims cannot be submitted under this node's key (a key, once pinned, never changes)`,
        );
      }
      this.outbox.enqueue({
        key: LINE_KEY_OUTBOX_KEY,
        contract: 'Claims',
        address: this.claims,
        functionName: 'registerLineKey',
        args: [this.keyHash],
        description: 'register the claims line-commitment key hash',
      });
      const entry = await this.outbox.flushUntilSettled(LINE_KEY_OUTBOX_KEY);
      if (entry?.status !== 'confirmed') {
        this.registered = undefined;
        throw new ChainError(
          'claims-line-key-not-registered',
          entry?.status === 'failed'
            ? `the Claims contract refused this member's line-commitment key: ${entry.error ?? 'reverted'}`
            : 'the line-commitment key registration is not mined yet; the outbox keeps sending it',
        );
      }
    })();
    return this.registered;
  }
}
