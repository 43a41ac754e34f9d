/**
 * Network setup of the consortium key (patient discovery): the first founding member's current
 * key, or a fresh one when no member holds any, sealed to every member that lacks it (HPKE to its
 * X25519 key, src/crypto/consortiumKey.ts) and installed in that member's key file. On one machine
 * (`medchain up`, the test networks) the sealed copy is handed over in process; across machines the
 * same sealed JSON is what one member's operator sends another's.
 */
import type { Address, Hex } from 'viem';
import { type ConsortiumKey, newConsortiumKey, sealConsortiumKey } from '../crypto/consortiumKey.js';
import { currentConsortiumKey, installConsortiumKey, type MemberIdentity } from './memberIdentity.js';

export interface KeyHolder {
  /** The member's key file. */
  file: string;
  identity: MemberIdentity;
}

const bytes = (h: Hex) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

/** Make sure every member holds the same current consortium key; returns the identities as now stored. */
export async function distributeConsortiumKey(
  holders: readonly KeyHolder[],
  passphrase: string,
): Promise<MemberIdentity[]> {
  const first = holders[0];
  if (!first) return [];
  const ck: ConsortiumKey =
    currentConsortiumKey(first.identity) ??
    holders.map((h) => currentConsortiumKey(h.identity)).find((k) => k !== undefined) ??
    newConsortiumKey();
  const out: MemberIdentity[] = [];
  for (const h of holders) {
    if (h.identity.consortiumKeys.at(-1)?.id === ck.id) {
      out.push(h.identity);
      continue;
    }
    const sealed = await sealConsortiumKey(
      bytes(h.identity.encryptionPublicKey),
      h.identity.address as Address,
      ck,
    );
    out.push(await installConsortiumKey(h.file, passphrase, sealed));
  }
  return out;
}
