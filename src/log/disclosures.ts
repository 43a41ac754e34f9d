/**
 * Offline check of a patient's accounting of disclosures (GET /patients/<address>/disclosures):
 * every entry decodes, names the patient, and is proven included in the head the member anchored
 * on chain; that head's root is the one recorded in the AuditAnchor contract.
 */
import { getAddress, type Hex, isAddress } from 'viem';
import type { ChainConnection } from '../chain/clients.js';
import { auditAnchorAbi } from '../chain/generated/index.js';
import { InvalidInputError } from '../errors.js';
import { decodeEntry } from './entry.js';
import { leafHash, verifyInclusion } from './merkle.js';

export interface DisclosuresDoc {
  member: string;
  patient: string;
  chainId: number | null;
  auditAnchor: string | null;
  anchored: { treeSize: number; rootHash: Hex } | null;
  entries: { index: number; leaf: string; path: Hex[] }[];
  unanchored?: { index: number; leaf: string }[];
}

const unhex = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));

function parseDoc(v: unknown): DisclosuresDoc {
  const d = v as DisclosuresDoc;
  const bad = (m: string) => new InvalidInputError(`not a disclosures file: ${m}`);
  if (typeof d !== 'object' || d === null) throw bad('not a JSON object');
  if (typeof d.member !== 'string' || !isAddress(d.member)) throw bad('member must be an address');
  if (typeof d.patient !== 'string' || !isAddress(d.patient)) throw bad('patient must be an address');
  if (!Array.isArray(d.entries)) throw bad('entries must be an array');
  if (
    d.entries.length > 0 &&
    (!d.anchored || typeof d.auditAnchor !== 'string' || !isAddress(d.auditAnchor))
  ) {
    throw bad('entries need the anchored head and the AuditAnchor address');
  }
  return d;
}

export async function verifyDisclosures(
  conn: ChainConnection,
  raw: unknown,
): Promise<{ ok: boolean; lines: string[] }> {
  const d = parseDoc(raw);
  const lines: string[] = [];
  let ok = true;
  const fail = (m: string) => {
    ok = false;
    lines.push(`FAIL ${m}`);
  };
  if (d.chainId !== null && d.chainId !== conn.chain.id) {
    fail(`the file is for chain ${d.chainId} but the RPC serves chain ${conn.chain.id}`);
    return { ok, lines };
  }
  if (d.anchored && d.auditAnchor) {
    const count = (await conn.publicClient.readContract({
      address: getAddress(d.auditAnchor),
      abi: auditAnchorAbi,
      functionName: 'headCount',
      args: [getAddress(d.member)],
    })) as bigint;
    let found = false;
    for (let i = count - 1n; i >= 0n && !found; i--) {
      const h = await conn.publicClient.readContract({
        address: getAddress(d.auditAnchor),
        abi: auditAnchorAbi,
        functionName: 'headAt',
        args: [getAddress(d.member), i],
      });
      if (Number(h.treeSize) === d.anchored.treeSize) {
        found = true;
        if (h.rootHash !== d.anchored.rootHash)
          fail(`the chain has a different root for head size ${d.anchored.treeSize}`);
      }
    }
    if (!found) fail(`member ${d.member} anchored no head of size ${d.anchored.treeSize} on chain`);
    else if (ok) lines.push(`ok head size ${d.anchored.treeSize} is anchored on chain ${conn.chain.id}`);
  }
  for (const e of d.entries) {
    let entry: ReturnType<typeof decodeEntry>;
    try {
      entry = decodeEntry(Buffer.from(e.leaf, 'base64'));
    } catch (err) {
      fail(`entry ${e.index} does not decode: ${(err as Error).message}`);
      continue;
    }
    if (entry.patient !== getAddress(d.patient)) {
      fail(`entry ${e.index} is not about this patient`);
      continue;
    }
    const anchored = d.anchored as { treeSize: number; rootHash: Hex };
    if (
      entry.index !== e.index ||
      !verifyInclusion(
        leafHash(Buffer.from(e.leaf, 'base64')),
        e.index,
        anchored.treeSize,
        e.path.map(unhex),
        unhex(anchored.rootHash),
      )
    ) {
      fail(`entry ${e.index} is not proven included in the anchored head`);
      continue;
    }
    lines.push(
      `ok entry ${e.index}: ${new Date(entry.time).toISOString()} ${entry.action} ${entry.outcome}${entry.outcome === 'deny' ? ` (${entry.reason})` : ''} by ${entry.actor}${entry.target?.id ? ` on ${entry.target.resourceType}/${entry.target.id}` : ''}`,
    );
  }
  const pending = d.unanchored?.length ?? 0;
  lines.push(
    `${ok ? 'verified' : 'FAILED'}: ${d.entries.length} entr${d.entries.length === 1 ? 'y' : 'ies'} checked${pending ? `; ${pending} newer not yet anchored (not checked)` : ''}`,
  );
  return { ok, lines };
}
