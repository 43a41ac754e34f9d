/**
 * This member's pairwise MAC keys with every peer (src/crypto/pairwiseKey.ts), derived once per
 * peer, direction and Registry key and kept, for both ends of member request MACs
 * (src/access/memberMac.ts):
 *
 *   - receiving: `callerKey(a)` is the key of a's requests to this member, and only while a is an
 *     active member: each call reads a's Registry entry (the node's event-kept, as-fresh-as-chain
 *     consortium view), so a removal refuses a's next request though its key is kept here, and a
 *     key change gives another key at once (a kept key is used only for the Registry key it was
 *     derived from);
 *   - sending: `headerFor(target, ...)` is the MAC header for a request to `target`, or undefined
 *     when this member cannot make one the target would accept (the target's Registry key gives no
 *     secret, or this member's own Registry key is not the one its node holds): then the caller signs.
 */
import type { Address } from 'viem';
import { CryptoError } from '../crypto/cryptoError.js';
import { type MacDomain, pairwiseMacKey } from '../crypto/pairwiseKey.js';
import { x25519PublicKey } from '../crypto/x25519.js';
import { memberMacHeader } from './memberMac.js';

/** What these keys read of a member in the Registry (src/chain/consortium.ts MemberInfo). */
export type RegistryKeyOf = (address: Address) => Promise<{ active: boolean; encryptionKey: Uint8Array }>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Pairwise MAC keys of one member with its peers (see the module comment). */
export class MemberMacKeys {
  private readonly kept = new Map<string, { peerKey: string; key: Uint8Array | undefined }>();
  private readonly publicKey: string;

  constructor(
    private readonly own: { address: Address; privateKey: Uint8Array },
    private readonly domain: MacDomain,
    private readonly member: RegistryKeyOf,
    /** Keys kept at most (the oldest goes first); a consortium has far fewer members. */
    private readonly maxKept = 4_096,
  ) {
    this.publicKey = hex(x25519PublicKey(own.privateKey));
  }

  /** This member's address (the `from` of what it sends). */
  get address(): Address {
    return this.own.address;
  }

  /** The key of `caller`'s requests to this member while `caller` is an active member; else undefined. */
  readonly callerKey = async (caller: Address): Promise<Uint8Array | undefined> => {
    const m = await this.member(caller);
    return m.active ? this.keyWith(caller, m.encryptionKey, 'from-peer') : undefined;
  };

  /**
   * The MAC header for this member's request to `target` (its Registry key when the caller has it
   * at hand, else read), or undefined when the caller must sign instead.
   */
  async headerFor(
    target: { address: Address; encryptionKey?: Uint8Array },
    method: string,
    path: string,
    body: string,
    now = Date.now(),
  ): Promise<string | undefined> {
    // Both reads begin in the same turn: the consortium view answers them after one block-number call.
    const [me, peerKey] = await Promise.all([
      this.member(this.own.address),
      target.encryptionKey ?? this.member(target.address).then((m) => m.encryptionKey),
    ]);
    // A Registry key that is not this node's: the target would derive another key and refuse.
    if (!me.active || hex(me.encryptionKey) !== this.publicKey) return undefined;
    const key = this.keyWith(target.address, peerKey, 'to-peer');
    return key && memberMacHeader(key, this.own.address, target.address, method, path, body, now);
  }

  private keyWith(
    peer: Address,
    peerKey: Uint8Array,
    direction: 'to-peer' | 'from-peer',
  ): Uint8Array | undefined {
    const id = `${direction}|${peer.toLowerCase()}`;
    const pk = hex(peerKey);
    const hit = this.kept.get(id);
    if (hit && hit.peerKey === pk) return hit.key;
    let key: Uint8Array | undefined;
    try {
      key = pairwiseMacKey(this.own, { address: peer, publicKey: peerKey }, direction, this.domain);
    } catch (err) {
      if (!(err instanceof CryptoError)) throw err;
      key = undefined; // a key that gives no secret (wrong length, low order): no MACs with this peer
    }
    if (this.kept.size >= this.maxKept && !hit) {
      const oldest = this.kept.keys().next().value;
      if (oldest !== undefined) this.kept.delete(oldest);
    }
    this.kept.set(id, { peerKey: pk, key });
    return key;
  }
}
