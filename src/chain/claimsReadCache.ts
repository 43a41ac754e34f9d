/**
 * Final Claims facts read once: a submitted batch (its provider, payer and claim count never
 * change: resubmitting is a no-op) and a member's anchored log head of a given size (AuditAnchor
 * is append-only; its block time is fixed) are kept once read, and a read already under way is
 * shared. Every claim of a batch names the same root and usually the same evidence head, so the
 * insurer otherwise reads them again per claim (a binary search of eth_calls per head). Anything
 * not yet final (no such batch, no head of that size, a failed read) is read afresh every time.
 * This takes the chain as final once mined, as the embedded chain and QBFT are (DESIGN.md).
 */
import type { Hex } from 'viem';
import type { AnchoredHeadView, ClaimBatchRecord, ClaimsView } from './claimsView.js';

/** How many final facts of each kind are kept (the oldest go first). */
const MAX_ENTRIES = 10_000;

/** Memoize `read` per key, keeping only values `final` accepts; concurrent reads share one call. */
function finalOnly<K, V>(read: (k: K) => Promise<V>, final: (v: V) => boolean): (k: K) => Promise<V> {
  const kept = new Map<K, Promise<V>>();
  return (k) => {
    const hit = kept.get(k);
    if (hit) return hit;
    const p = read(k);
    kept.set(k, p);
    if (kept.size > MAX_ENTRIES) kept.delete(kept.keys().next().value as K);
    p.then(
      (v) => {
        if (!final(v) && kept.get(k) === p) kept.delete(k);
      },
      () => {
        if (kept.get(k) === p) kept.delete(k);
      },
    );
    return p;
  };
}

/** `view` with its final facts (submitted batches, anchored heads) read once. */
export function withFinalClaimsFactsCached(view: ClaimsView): ClaimsView {
  const batch = finalOnly<Hex, ClaimBatchRecord>(
    (root) => view.batchOf(root),
    (b) => b.claimCount > 0,
  );
  const head = finalOnly<string, AnchoredHeadView | undefined>(
    (k) => {
      const [member, size] = k.split(':') as [Hex, string];
      return view.anchoredHead(member, Number(size));
    },
    (h) => h !== undefined,
  );
  return {
    ...view,
    batchOf: (root) => batch(root.toLowerCase() as Hex),
    anchoredHead: (member, treeSize) => head(`${member.toLowerCase()}:${treeSize}`),
  };
}
