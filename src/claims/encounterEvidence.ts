/**
 * The check of one Encounter's evidence of service: the provider has the Encounter, and the log
 * entry that created it is the provider's own, about this patient, included (RFC 9162 §2.1.3.2)
 * in a head of the provider's log that was anchored on chain before the claim was created. Pure:
 * the caller fetched the entry, proof and anchored head. Returns the problem, or undefined.
 */
import { decodeEntry, type LogEntry } from '../log/entry.js';
import { leafHash, verifyInclusion } from '../log/merkle.js';
import type { ClaimInput, EncounterEvidence } from './model.js';

/** Why `evidence` does not vouch for Encounter `encounterId` of `claim`; undefined when it does. */
export function evidenceProblem(
  claim: Pick<ClaimInput, 'patient' | 'provider' | 'created'>,
  encounterId: string,
  evidence: EncounterEvidence | undefined,
): string | undefined {
  if (!evidence || evidence.encounterId !== encounterId)
    return `no evidence was found for Encounter ${encounterId}`;
  if (!evidence.exists) return `the provider has no Encounter ${encounterId}`;
  const { entry: bytes, proof, anchoredHead: head } = evidence;
  if (!bytes || !proof || !head)
    return `the creation of Encounter ${encounterId} is not proven in an anchored log head`;
  let entry: LogEntry;
  try {
    entry = decodeEntry(bytes);
  } catch {
    return 'the log entry does not decode';
  }
  if (entry.action !== 'create' || entry.outcome !== 'permit') return 'the log entry is not a creation';
  if (entry.target?.resourceType !== 'Encounter' || entry.target.id !== encounterId) {
    return `the log entry is about another record than Encounter ${encounterId}`;
  }
  if (entry.member.toLowerCase() !== claim.provider.toLowerCase()) return 'the log entry is another member’s';
  if (entry.patient?.toLowerCase() !== claim.patient.toLowerCase())
    return 'the log entry is about another patient';
  if (!verifyInclusion(leafHash(bytes), entry.index, head.treeSize, proof, head.rootHash)) {
    return 'the log entry is not included in the anchored head';
  }
  if (head.anchoredAt > claim.created) return 'the head proving the Encounter was anchored after the claim';
  return undefined;
}
