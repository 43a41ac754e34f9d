/**
 * Keyed line commitments: HMAC-SHA256 under the provider's line-commitment key over (patient chain
 * address, provider member, date of service, procedure code, modifiers as a sorted set), with a
 * domain-separation tag and length-prefixed fields. What goes on chain for each claim line, so a
 * payer can ask whether another payer already holds the same service without either learning the
 * other's claim. Never a plain hash: the fields are low-entropy (a few thousand codes, a year of
 * dates, the known patient addresses) and a plain hash would be brute-forced offline; without the
 * key a commitment says nothing. The charge is left out on purpose: the same service billed to two
 * payers at two prices is still the same service.
 *
 * The key: each provider's own 32-byte secret, held by the provider and the payers it bills
 * (lineKey.ts: derived at the provider, its hash pinned on chain, sent sealed to each payer).
 * It used to be derived from the consortium key every member holds, which let any member test
 * guesses against the chain (finding 23). Nothing here stores or distributes keys: callers pass
 * them in.
 */
import { createHmac } from 'node:crypto';
import type { Address, Hex } from 'viem';
import { isAddress } from 'viem';
import { CommitmentKeyError } from './claimsError.js';
import { MODIFIER_CODE, PROCEDURE_CODE } from './codes.js';
import type { ClaimInput } from './model.js';

/** Domain-separation tag of version 1 of the line commitment. */
export const LINE_COMMITMENT_DOMAIN = 'medchain/claims/line-commitment/v1';
/** Bytes of a line-commitment key. */
export const KEY_BYTES = 32;

/** The fields a line commitment binds. */
export interface CommittedLine {
  patient: Address;
  provider: Address;
  /** Date of service, YYYY-MM-DD. */
  servicedDate: string;
  code: string;
  modifiers: readonly string[];
}

function checkKey(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new CommitmentKeyError(`${what} must be ${KEY_BYTES} secret bytes`);
  }
}

const field = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

/** The commitment of one claim line, as the bytes32 the Claims contract stores. */
export function lineCommitment(key: Uint8Array, line: CommittedLine): Hex {
  checkKey(key, 'the line-commitment key');
  if (!isAddress(line.patient, { strict: false })) throw new CommitmentKeyError('patient must be an address');
  if (!isAddress(line.provider, { strict: false }))
    throw new CommitmentKeyError('provider must be an address');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(line.servicedDate))
    throw new CommitmentKeyError('servicedDate must be YYYY-MM-DD');
  if (!PROCEDURE_CODE.test(line.code)) throw new CommitmentKeyError('code must be a procedure code');
  const modifiers = [...new Set(line.modifiers)].sort();
  if (!modifiers.every((m) => MODIFIER_CODE.test(m)))
    throw new CommitmentKeyError('modifiers must be modifier codes');
  const mac = createHmac('sha256', key)
    .update(field(LINE_COMMITMENT_DOMAIN))
    .update(Buffer.from(line.patient.slice(2).toLowerCase(), 'hex'))
    .update(Buffer.from(line.provider.slice(2).toLowerCase(), 'hex'))
    .update(field(line.servicedDate))
    .update(field(line.code))
    .update(Uint8Array.of(modifiers.length));
  for (const m of modifiers) mac.update(field(m));
  return `0x${mac.digest('hex')}`;
}

/**
 * The commitments of a claim's lines in `sequence` order: what the provider anchors on chain and
 * the insurer recomputes (the two must agree byte for byte, so both call this).
 */
export function claimLineCommitments(
  key: Uint8Array,
  claim: Pick<ClaimInput, 'patient' | 'provider' | 'lines'>,
): Hex[] {
  return [...claim.lines]
    .sort((a, b) => a.sequence - b.sequence)
    .map((l) =>
      lineCommitment(key, {
        patient: claim.patient,
        provider: claim.provider,
        servicedDate: l.servicedDate,
        code: l.code,
        modifiers: l.modifiers,
      }),
    );
}
