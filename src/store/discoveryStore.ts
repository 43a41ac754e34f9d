/**
 * The discovery index of a member's store: per live Patient linked to a chain address, its
 * discovery tokens (HMAC under the consortium key, src/crypto/discoveryToken.ts) and the key they
 * were made under. Only tokens are kept: no name, birth date or gender, not even normalized.
 */
import type { Db } from './database.js';
import { statement } from './database.js';

/** A Patient's discovery tokens under consortium key `kid` (empty: nothing to match on). */
export interface DiscoveryEntry {
  kid: string;
  tokens: readonly string[];
}

/**
 * Replace the discovery tokens of `patientRef` ("Patient/<id>") with `entry`, or drop them (an
 * erased Patient, one no longer linked to an address, or a node without a consortium key). Runs
 * inside the record write's transaction.
 */
export function replaceDiscoveryTokens(db: Db, patientRef: string, entry: DiscoveryEntry | undefined): void {
  statement(db, 'DELETE FROM discovery_tokens WHERE patient_ref = ?').run(patientRef);
  statement(db, 'DELETE FROM discovery_indexed WHERE patient_ref = ?').run(patientRef);
  if (!entry) return;
  const insert = statement(
    db,
    'INSERT OR IGNORE INTO discovery_tokens (token, patient_ref, kid) VALUES (?, ?, ?)',
  );
  for (const t of entry.tokens) insert.run(t, patientRef, entry.kid);
  statement(db, 'INSERT INTO discovery_indexed (patient_ref, kid) VALUES (?, ?)').run(patientRef, entry.kid);
}

/**
 * The chain addresses of live Patients (an erasure drops a Patient's tokens in its own write) with any of `tokens` under key `kid`, sorted, at most
 * `limit` (the caller asks for one more than it may answer, to know whether there were more).
 */
export function addressesMatching(db: Db, kid: string, tokens: readonly string[], limit: number): string[] {
  if (tokens.length === 0) return [];
  const rows = statement(
    db,
    `SELECT DISTINCT a.address FROM discovery_tokens d
       JOIN patient_addresses a ON a.patient_ref = d.patient_ref
     WHERE d.kid = ? AND d.token IN (SELECT value FROM json_each(?))
     ORDER BY a.address LIMIT ?`,
  ).all(kid, JSON.stringify(tokens), limit) as { address: string }[];
  return rows.map((r) => r.address);
}

/** Up to `limit` ids of live Patients linked to an address whose tokens are not under `kid` (yet). */
export function patientsToIndex(db: Db, kid: string, limit: number): string[] {
  return (
    statement(
      db,
      `SELECT h.id FROM resource_heads h
         JOIN patient_addresses a ON a.patient_ref = 'Patient/' || h.id
         LEFT JOIN discovery_indexed i ON i.patient_ref = a.patient_ref
       WHERE h.resource_type = 'Patient' AND h.deleted = 0 AND (i.kid IS NULL OR i.kid <> ?)
       ORDER BY h.id LIMIT ?`,
    ).all(kid, limit) as { id: string }[]
  ).map((r) => r.id);
}

/** The stored tokens of one patient (tests and the no-plaintext checks). */
export function discoveryTokensOf(db: Db, patientRef: string): { token: string; kid: string }[] {
  return statement(db, 'SELECT token, kid FROM discovery_tokens WHERE patient_ref = ? ORDER BY token').all(
    patientRef,
  ) as { token: string; kid: string }[];
}
