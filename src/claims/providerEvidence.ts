/**
 * The provider's evidence of service for a claim (issue 13, phantom billing): per Encounter the
 * claim names, the `create` entry of that Encounter about this patient in the provider's own
 * transparency log, and its RFC 9162 inclusion path to a head of the log anchored on chain. The
 * insurer reads that head from the chain itself (AuditAnchor), so nothing here is taken on trust.
 *
 * The head chosen is the EARLIEST anchored head that includes the entry, not the latest: the rule
 * wants a head anchored before `Claim.created`, and the earliest covering head is the one most
 * likely to be (any covering head proves inclusion equally). An Encounter with no create entry,
 * or one not yet covered by an anchored head, gets no evidence: the insurer pends that line
 * (CARC 252) rather than the provider inventing any.
 */
import type { Address, Hex } from 'viem';
import type { WireEncounterEvidence } from '../federation/claimSubmissionWire.js';
import { decodeEntry } from '../log/entry.js';
import type { TransparencyLog } from '../log/transparencyLog.js';

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

/** The evidence for each of `encounterIds` the log and its anchored heads (sizes, ascending) can give. */
export function providerEvidence(
  log: Pick<TransparencyLog, 'entriesForPatient' | 'inclusionProof'>,
  anchoredSizes: readonly number[],
  patient: Address,
  encounterIds: readonly string[],
): WireEncounterEvidence[] {
  const wanted = new Set(encounterIds);
  const created = new Map<string, { index: number; leaf: Uint8Array }>();
  for (const e of log.entriesForPatient(patient)) {
    const entry = decodeEntry(e.leaf);
    const t = entry.target;
    if (entry.action !== 'create' || entry.outcome !== 'permit' || t?.resourceType !== 'Encounter') continue;
    if (wanted.has(t.id) && !created.has(t.id)) created.set(t.id, e);
  }
  const out: WireEncounterEvidence[] = [];
  for (const id of wanted) {
    const e = created.get(id);
    if (!e) continue;
    const treeSize = anchoredSizes.find((s) => s > e.index);
    if (treeSize === undefined) continue;
    out.push({
      encounterId: id,
      entryIndex: e.index,
      entry: Buffer.from(e.leaf).toString('base64'),
      path: log.inclusionProof(e.index, treeSize).map(hex),
      treeSize,
    });
  }
  return out;
}
