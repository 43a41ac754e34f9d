/**
 * Signed tree heads (RFC 9162 §4.10, with an EIP-712 signature by the member's chain key so that
 * anyone holding the member's address from the Registry can check it). See docs/log-format.md.
 */
import { type Address, type Hex, hashTypedData, type LocalAccount } from 'viem';
import { isSignedBy } from '../crypto/signatureSigner.js';

export interface TreeHead {
  treeSize: number;
  rootHash: Hex;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
}

export interface SignedTreeHead extends TreeHead {
  signature: Hex;
}

export interface HeadDomain {
  chainId?: number;
  /** The AuditAnchor contract. */
  verifyingContract?: Address;
}

export const treeHeadTypes = {
  TreeHead: [
    { name: 'member', type: 'address' },
    { name: 'treeSize', type: 'uint64' },
    { name: 'rootHash', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
  ],
} as const;

const domainOf = (d: HeadDomain) => ({
  name: 'medchain AuditLog',
  version: '1',
  ...(d.chainId !== undefined ? { chainId: d.chainId } : {}),
  ...(d.verifyingContract ? { verifyingContract: d.verifyingContract } : {}),
});

export function signTreeHead(member: LocalAccount, domain: HeadDomain, head: TreeHead): Promise<Hex> {
  return member.signTypedData({
    domain: domainOf(domain),
    types: treeHeadTypes,
    primaryType: 'TreeHead',
    message: {
      member: member.address,
      treeSize: BigInt(head.treeSize),
      rootHash: head.rootHash,
      timestamp: BigInt(head.timestamp),
    },
  });
}

export function verifyTreeHead(member: Address, domain: HeadDomain, head: SignedTreeHead): Promise<boolean> {
  try {
    const digest = hashTypedData({
      domain: domainOf(domain),
      types: treeHeadTypes,
      primaryType: 'TreeHead',
      message: {
        member,
        treeSize: BigInt(head.treeSize),
        rootHash: head.rootHash,
        timestamp: BigInt(head.timestamp),
      },
    });
    return Promise.resolve(isSignedBy(member, digest, head.signature));
  } catch {
    return Promise.resolve(false); // a head that cannot be hashed (bad root, size) is not signed
  }
}
