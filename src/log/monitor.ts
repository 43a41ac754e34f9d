/**
 * Monitoring another member's log (the "gossip" half of Certificate Transparency): given the
 * heads that member anchored on chain, ask the member itself for consistency proofs between them
 * and up to its current signed head. A log rewritten after anchoring cannot produce proofs that
 * connect the anchored roots, so a split view (one history on chain, another served) is caught.
 */
import type { Address, Hex } from 'viem';
import { verifyConsistency } from './merkle.js';
import { type HeadDomain, type SignedTreeHead, verifyTreeHead } from './treeHead.js';
import type { ChainHead } from './verifier.js';

export interface PeerLog {
  head(): Promise<SignedTreeHead>;
  consistency(first: number, second: number): Promise<Hex[]>;
}

export interface MonitorReport {
  ok: boolean;
  checked: number;
  problems: string[];
  head: SignedTreeHead | null;
}

const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));

export async function monitorPeer(
  member: Address,
  domain: HeadDomain,
  anchored: readonly ChainHead[],
  peer: PeerLog,
): Promise<MonitorReport> {
  const problems: string[] = [];
  let checked = 0;
  let head: SignedTreeHead | null = null;
  try {
    head = await peer.head();
  } catch (err) {
    return {
      ok: false,
      checked,
      problems: [`the member's log head could not be fetched: ${(err as Error).message}`],
      head,
    };
  }
  if (!(await verifyTreeHead(member, domain, head)))
    problems.push(`the head of size ${head.treeSize} is not signed by ${member}`);
  const chain = [...anchored].sort((a, b) => a.treeSize - b.treeSize);
  const points: ChainHead[] = [...chain];
  const last = chain[chain.length - 1];
  if (last && head.treeSize < last.treeSize) {
    problems.push(
      `split view: the member serves a log of ${head.treeSize} entries but anchored ${last.treeSize}`,
    );
  } else if (head.treeSize > 0) {
    points.push({ treeSize: head.treeSize, rootHash: head.rootHash });
  }
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as ChainHead;
    const b = points[i] as ChainHead;
    if (a.treeSize === b.treeSize) {
      if (a.rootHash !== b.rootHash) problems.push(`split view: two different roots for size ${a.treeSize}`);
      continue;
    }
    let path: Hex[];
    try {
      path = await peer.consistency(a.treeSize, b.treeSize);
    } catch (err) {
      problems.push(`no consistency proof ${a.treeSize} -> ${b.treeSize}: ${(err as Error).message}`);
      continue;
    }
    checked++;
    if (!verifyConsistency(a.treeSize, b.treeSize, bytes(a.rootHash), bytes(b.rootHash), path.map(bytes))) {
      problems.push(
        `split view: the member cannot prove its log of ${b.treeSize} entries extends the one anchored at ${a.treeSize} (rewritten after anchoring)`,
      );
    }
  }
  return { ok: problems.length === 0, checked, problems, head };
}

/** A PeerLog over HTTP; `authorization(method, pathWithQuery)` signs each request (member-to-member auth). */
export function httpPeerLog(
  baseUrl: string,
  authorization: (method: string, path: string) => Promise<string>,
): PeerLog {
  const get = async (path: string) => {
    const r = await fetch(`${baseUrl}${path}`, {
      headers: { authorization: await authorization('GET', path) },
    });
    if (!r.ok) throw new Error(`${path} answered ${r.status}`);
    return r.json();
  };
  return {
    head: () => get('/log/head') as Promise<SignedTreeHead>,
    consistency: async (first, second) =>
      ((await get(`/log/proof/consistency?first=${first}&second=${second}`)) as { path: Hex[] }).path,
  };
}
