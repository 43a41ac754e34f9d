/**
 * The member-signed message a provider's node sends to the insurer's node for `Claim/$submit`
 * (issue 13), and its strict parser: any field not listed here is a 400, so nothing rides along.
 *
 *   submission: {claim, evidence, batch, lineKey}
 *     claim:    the FHIR R4 Claim (checked by src/claims/fhirClaim.ts parseClaim at the insurer)
 *     evidence: [{encounterId, entryIndex, entry, path, treeSize}]  per Encounter the claim names:
 *               the provider's `create` log entry (canonical bytes, base64), its RFC 9162 inclusion
 *               path (hex) to the provider's head of `treeSize`, which the insurer looks up on chain
 *     batch:    {root, claimId, salt, proof}   the batch the provider anchored on Claims.sol, the
 *               claim's random id, the salt of its patient commitment, the leaf's Merkle proof
 *     lineKey:  {enc, sealed}   the provider's line-commitment key, HPKE-sealed to the insurer
 *               (src/claims/lineKey.ts); the insurer checks it against the hash pinned on chain
 *
 * The tree size is the provider's word only until the insurer finds a head of that size anchored
 * by the provider (AuditAnchor); the rest is checked by src/claims/encounterEvidence.ts.
 */
import type { Hex } from 'viem';
import { badRequest } from '../errors.js';
import { FHIR_ID } from '../fhir/validate.js';

/** The evidence of one Encounter as it travels. */
export interface WireEncounterEvidence {
  encounterId: string;
  entryIndex: number;
  /** base64 of the canonical entry bytes (src/log/entry.ts encodeEntry). */
  entry: string;
  path: Hex[];
  treeSize: number;
}

export interface WireClaimBatch {
  root: Hex;
  claimId: Hex;
  salt: Hex;
  proof: Hex[];
}

/** The provider's line-commitment key sealed to the insurer (src/claims/lineKey.ts sealLineKey). */
export interface WireLineKey {
  /** HPKE encapsulated key, 32 bytes. */
  enc: Hex;
  /** The sealed 32-byte key with its 16-byte tag. */
  sealed: Hex;
}

export interface ClaimSubmission {
  /** The Claim as sent: still to be parsed and validated by the insurer. */
  claim: Record<string, unknown>;
  evidence: WireEncounterEvidence[];
  batch: WireClaimBatch;
  lineKey: WireLineKey;
}

/** At most this many Encounters per claim (a claim has at most 50 items, each naming a few). */
export const MAX_EVIDENCE = 50;
/** An inclusion path longer than this cannot come from a log below 2^64 entries. */
const MAX_PATH = 64;
const MAX_ENTRY_B64 = 8_192;
const HASH = /^0x[0-9a-f]{64}$/;
const SEALED_KEY = /^0x[0-9a-f]{96}$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[], at: string): void {
  for (const k of Object.keys(v))
    if (!allowed.includes(k))
      throw badRequest(`${at}: "${k.slice(0, 40)}" is not part of a claim submission`);
  for (const k of allowed) if (!(k in v)) throw badRequest(`${at}: ${k} is missing`);
}

const hash = (v: unknown, at: string): Hex => {
  if (typeof v !== 'string' || !HASH.test(v))
    throw badRequest(`${at} must be 32 bytes, lower-case hex with 0x`);
  return v as Hex;
};

const hashes = (v: unknown, at: string): Hex[] => {
  if (!Array.isArray(v) || v.length > MAX_PATH)
    throw badRequest(`${at} must be a list of at most ${MAX_PATH} hashes`);
  return v.map((h, i) => hash(h, `${at}[${i}]`));
};

const count = (v: unknown, at: string, min: number): number => {
  if (!Number.isSafeInteger(v) || (v as number) < min) throw badRequest(`${at} must be an integer ≥ ${min}`);
  return v as number;
};

/** Parse a claim submission body; 400 naming the first bad field. */
export function parseClaimSubmission(body: unknown): ClaimSubmission {
  if (!isObject(body)) throw badRequest('send {claim, evidence, batch, lineKey}');
  onlyKeys(body, ['claim', 'evidence', 'batch', 'lineKey'], 'submission');
  if (!isObject(body.claim) || body.claim.resourceType !== 'Claim')
    throw badRequest('submission.claim must be a FHIR Claim');
  if (!Array.isArray(body.evidence) || body.evidence.length > MAX_EVIDENCE)
    throw badRequest(`submission.evidence must be a list of at most ${MAX_EVIDENCE} items`);
  const seen = new Set<string>();
  const evidence = body.evidence.map((e, i): WireEncounterEvidence => {
    const at = `submission.evidence[${i}]`;
    if (!isObject(e)) throw badRequest(`${at} must be an object`);
    onlyKeys(e, ['encounterId', 'entryIndex', 'entry', 'path', 'treeSize'], at);
    if (typeof e.encounterId !== 'string' || !FHIR_ID.test(e.encounterId))
      throw badRequest(`${at}.encounterId must be a FHIR id`);
    if (seen.has(e.encounterId)) throw badRequest(`${at}.encounterId is listed twice`);
    seen.add(e.encounterId);
    if (typeof e.entry !== 'string' || e.entry.length > MAX_ENTRY_B64 || !B64.test(e.entry))
      throw badRequest(`${at}.entry must be the log entry in base64`);
    const entryIndex = count(e.entryIndex, `${at}.entryIndex`, 0);
    const treeSize = count(e.treeSize, `${at}.treeSize`, 1);
    if (entryIndex >= treeSize) throw badRequest(`${at}.entryIndex must be below treeSize`);
    return {
      encounterId: e.encounterId,
      entryIndex,
      entry: e.entry,
      path: hashes(e.path, `${at}.path`),
      treeSize,
    };
  });
  const b = body.batch;
  if (!isObject(b)) throw badRequest('submission.batch must be an object');
  onlyKeys(b, ['root', 'claimId', 'salt', 'proof'], 'submission.batch');
  const k = body.lineKey;
  if (!isObject(k)) throw badRequest('submission.lineKey must be an object');
  onlyKeys(k, ['enc', 'sealed'], 'submission.lineKey');
  if (typeof k.sealed !== 'string' || !SEALED_KEY.test(k.sealed))
    throw badRequest('submission.lineKey.sealed must be 48 bytes, lower-case hex with 0x');
  return {
    claim: body.claim,
    evidence,
    batch: {
      root: hash(b.root, 'submission.batch.root'),
      claimId: hash(b.claimId, 'submission.batch.claimId'),
      salt: hash(b.salt, 'submission.batch.salt'),
      proof: hashes(b.proof, 'submission.batch.proof'),
    },
    lineKey: { enc: hash(k.enc, 'submission.lineKey.enc'), sealed: k.sealed as Hex },
  };
}
