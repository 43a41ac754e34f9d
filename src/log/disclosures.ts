/**
 * Check of a patient's accounting of disclosures (GET /patients/<address>/disclosures): every entry
 * decodes, names the patient, and is proven included in the head the member anchored on chain;
 * that head's root is the one recorded in the AuditAnchor contract. Shared by the CLI
 * (`medchain verify-disclosures`) and the portal, which runs the same check in the browser.
 */
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import type { ChainConnection } from '../chain/clients.js';
import { auditAnchorAbi } from '../chain/generated/index.js';
import { InvalidInputError } from '../errors.js';
import { decodeEntry, type LogEntry } from './entry.js';
import { type InclusionItem, leafHash, verifyInclusions } from './merkle.js';

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

export function parseDoc(v: unknown): DisclosuresDoc {
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

/** One entry of a disclosures document, checked: decoded only from bytes proven in the anchored head. */
export interface CheckedDisclosure {
  index: number;
  ok: boolean;
  entry?: LogEntry;
  problem?: string;
}

/** Reads the AuditAnchor contract (a viem PublicClient's readContract fits). */
export type ReadAnchor = (args: {
  address: Address;
  abi: typeof auditAnchorAbi;
  functionName: 'headCount' | 'headAt';
  args: readonly unknown[];
}) => Promise<unknown>;

/** The root `member` anchored on chain for a head of `treeSize`, or undefined when it anchored none. */
export async function anchoredRoot(
  read: ReadAnchor,
  auditAnchor: Address,
  member: Address,
  treeSize: number,
): Promise<Hex | undefined> {
  const count = (await read({
    address: auditAnchor,
    abi: auditAnchorAbi,
    functionName: 'headCount',
    args: [member],
  })) as bigint;
  for (let i = count - 1n; i >= 0n; i--) {
    const h = (await read({
      address: auditAnchor,
      abi: auditAnchorAbi,
      functionName: 'headAt',
      args: [member, i],
    })) as { treeSize: bigint; rootHash: Hex };
    if (Number(h.treeSize) === treeSize) return h.rootHash;
    if (Number(h.treeSize) < treeSize) return undefined; // heads only grow
  }
  return undefined;
}

/**
 * Check every entry of a disclosures document against `chainRoot`, the root the chain holds for
 * the document's anchored head (pure: the caller reads the chain). An entry is ok only when its
 * bytes are proven included under that root and decode to an entry about this patient.
 */
export function checkDisclosures(raw: unknown, chainRoot: Hex | undefined): CheckedDisclosure[] {
  const d = parseDoc(raw);
  const anchored = d.anchored;
  // First what each entry is; then every decoded entry's proof in one batch under the head.
  const read = d.entries.map(
    (e): CheckedDisclosure | { index: number; entry: LogEntry; item: InclusionItem } => {
      if (!anchored || chainRoot === undefined)
        return { index: e.index, ok: false, problem: 'is under a head not anchored on chain' };
      if (chainRoot.toLowerCase() !== anchored.rootHash.toLowerCase())
        return { index: e.index, ok: false, problem: 'is under a head whose root differs on chain' };
      let bytes: Uint8Array;
      let entry: LogEntry;
      try {
        bytes = new Uint8Array(Buffer.from(e.leaf, 'base64'));
        entry = decodeEntry(bytes);
      } catch (err) {
        return { index: e.index, ok: false, problem: `does not decode: ${(err as Error).message}` };
      }
      if (entry.patient !== getAddress(d.patient))
        return { index: e.index, ok: false, entry, problem: 'is not about this patient' };
      if (entry.index !== e.index || !Array.isArray(e.path))
        return { index: e.index, ok: false, entry, problem: NOT_PROVEN };
      return {
        index: e.index,
        entry,
        item: { leaf: leafHash(bytes), index: e.index, path: e.path.map(unhex) },
      };
    },
  );
  const toProve = read.flatMap((r) => ('item' in r ? [r.item] : []));
  const proven =
    anchored && chainRoot !== undefined && toProve.length > 0
      ? verifyInclusions(toProve, anchored.treeSize, unhex(chainRoot))
      : [];
  let next = 0;
  return read.map((r): CheckedDisclosure => {
    if (!('item' in r)) return r;
    return proven[next++]
      ? { index: r.index, ok: true, entry: r.entry }
      : { index: r.index, ok: false, entry: r.entry, problem: NOT_PROVEN };
  });
}

const NOT_PROVEN = 'is not proven included in the anchored head';

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
  let root: Hex | undefined;
  if (d.anchored && d.auditAnchor) {
    root = await anchoredRoot(
      conn.publicClient.readContract as ReadAnchor,
      getAddress(d.auditAnchor),
      getAddress(d.member),
      d.anchored.treeSize,
    );
    if (root === undefined)
      fail(`member ${d.member} anchored no head of size ${d.anchored.treeSize} on chain`);
    else if (root.toLowerCase() !== d.anchored.rootHash.toLowerCase())
      fail(`the chain has a different root for head size ${d.anchored.treeSize}`);
    else lines.push(`ok head size ${d.anchored.treeSize} is anchored on chain ${conn.chain.id}`);
  }
  for (const c of checkDisclosures(d, root)) {
    if (!c.ok) {
      fail(`entry ${c.index} ${c.problem}`);
      continue;
    }
    const entry = c.entry as LogEntry;
    lines.push(
      `ok entry ${c.index}: ${new Date(entry.time).toISOString()} ${entry.action} ${entry.outcome}${entry.outcome === 'deny' ? ` (${entry.reason})` : ''} by ${entry.actor}${entry.target?.id ? ` on ${entry.target.resourceType}/${entry.target.id}` : ''}`,
    );
  }
  const pending = d.unanchored?.length ?? 0;
  lines.push(
    `${ok ? 'verified' : 'FAILED'}: ${d.entries.length} entr${d.entries.length === 1 ? 'y' : 'ies'} checked${pending ? `; ${pending} newer not yet anchored (not checked)` : ''}`,
  );
  return { ok, lines };
}
