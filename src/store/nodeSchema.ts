/**
 * The schema of one member node's store, as numbered migrations (append only: never edit a
 * migration that has shipped; add a new one).
 */
export const NODE_MIGRATIONS: readonly string[] = [
  // 1: the chain outbox (src/chain/outbox.ts)
  `CREATE TABLE outbox (
     id          INTEGER PRIMARY KEY,
     key         TEXT NOT NULL UNIQUE,
     contract    TEXT NOT NULL,
     address     TEXT NOT NULL,
     data        TEXT NOT NULL,
     description TEXT NOT NULL,
     status      TEXT NOT NULL CHECK (status IN ('queued', 'signed', 'confirmed', 'failed')),
     nonce       INTEGER,
     raw_tx      TEXT,
     tx_hash     TEXT,
     block       INTEGER,
     error       TEXT,
     attempts    INTEGER NOT NULL DEFAULT 0,
     created_at  INTEGER NOT NULL,
     updated_at  INTEGER NOT NULL
   );
   CREATE INDEX outbox_open ON outbox (status) WHERE status IN ('queued', 'signed');`,
  // 2: encrypted FHIR records (src/store/recordStore.ts), blind search index, users (src/store/userStore.ts)
  `CREATE TABLE resource_versions (
     resource_type   TEXT NOT NULL,
     id              TEXT NOT NULL,
     version         INTEGER NOT NULL,
     last_updated    TEXT NOT NULL,
     last_updated_ms INTEGER NOT NULL,
     patient_ref     TEXT NOT NULL,
     deleted         INTEGER NOT NULL DEFAULT 0,
     nonce           BLOB,
     ciphertext      BLOB,
     ciphertext_hash TEXT NOT NULL,
     PRIMARY KEY (resource_type, id, version)
   ) WITHOUT ROWID;
   CREATE TABLE resource_heads (
     resource_type   TEXT NOT NULL,
     id              TEXT NOT NULL,
     version         INTEGER NOT NULL,
     deleted         INTEGER NOT NULL,
     patient_ref     TEXT NOT NULL,
     last_updated_ms INTEGER NOT NULL,
     PRIMARY KEY (resource_type, id)
   ) WITHOUT ROWID;
   CREATE INDEX resource_heads_updated ON resource_heads (resource_type, deleted, last_updated_ms);
   CREATE TABLE key_wraps (
     resource_type TEXT NOT NULL,
     id            TEXT NOT NULL,
     version       INTEGER NOT NULL,
     recipient     TEXT NOT NULL,
     enc           BLOB NOT NULL,
     wrapped       BLOB NOT NULL,
     PRIMARY KEY (resource_type, id, version, recipient)
   ) WITHOUT ROWID;
   CREATE TABLE search_tokens (
     resource_type TEXT NOT NULL,
     id            TEXT NOT NULL,
     param         TEXT NOT NULL,
     token         TEXT NOT NULL,
     PRIMARY KEY (resource_type, param, token, id)
   ) WITHOUT ROWID;
   CREATE INDEX search_tokens_by_id ON search_tokens (resource_type, id);
   CREATE TABLE search_dates (
     resource_type TEXT NOT NULL,
     id            TEXT NOT NULL,
     param         TEXT NOT NULL,
     lo            INTEGER NOT NULL,
     hi            INTEGER NOT NULL
   );
   CREATE INDEX search_dates_by_param ON search_dates (resource_type, param, lo);
   CREATE INDEX search_dates_by_id ON search_dates (resource_type, id);
   CREATE TABLE patient_keys (
     patient_ref    TEXT PRIMARY KEY,
     encryption_key BLOB NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE users (
     id            TEXT PRIMARY KEY,
     username      TEXT NOT NULL UNIQUE,
     role          TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     created_at    INTEGER NOT NULL,
     disabled      INTEGER NOT NULL DEFAULT 0
   );`,
  // 3: the transparency log (src/log/transparencyLog.ts) and patient address links
  `CREATE TABLE log_entries (
     idx       INTEGER PRIMARY KEY,
     entry     BLOB NOT NULL,
     leaf_hash BLOB NOT NULL,
     patient   TEXT,
     action    TEXT NOT NULL,
     outcome   TEXT NOT NULL,
     time_ms   INTEGER NOT NULL
   );
   CREATE INDEX log_entries_patient ON log_entries (patient, idx);
   CREATE INDEX log_entries_action ON log_entries (action, idx);
   CREATE TABLE log_anchors (
     tree_size INTEGER PRIMARY KEY,
     root_hash TEXT NOT NULL,
     timestamp INTEGER NOT NULL,
     tx_hash   TEXT,
     block     INTEGER
   );
   CREATE TABLE patient_addresses (
     patient_ref TEXT PRIMARY KEY,
     address     TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX patient_addresses_by_address ON patient_addresses (address);`,
  // 4: replicas of other members' records and logs (src/federation/replication.ts)
  `CREATE TABLE replica_log (
     custodian TEXT NOT NULL,
     idx       INTEGER NOT NULL,
     entry     BLOB NOT NULL,
     PRIMARY KEY (custodian, idx)
   ) WITHOUT ROWID;
   CREATE TABLE replica_records (
     custodian       TEXT NOT NULL,
     resource_type   TEXT NOT NULL,
     id              TEXT NOT NULL,
     version         INTEGER NOT NULL,
     patient         TEXT NOT NULL,
     patient_ref     TEXT NOT NULL,
     nonce           BLOB NOT NULL,
     ciphertext      BLOB NOT NULL,
     ciphertext_hash TEXT NOT NULL,
     entry_index     INTEGER NOT NULL,
     PRIMARY KEY (custodian, resource_type, id)
   ) WITHOUT ROWID;
   CREATE INDEX replica_records_patient ON replica_records (custodian, patient, resource_type);
   CREATE TABLE replica_wraps (
     custodian     TEXT NOT NULL,
     resource_type TEXT NOT NULL,
     id            TEXT NOT NULL,
     recipient     TEXT NOT NULL,
     enc           BLOB NOT NULL,
     wrapped       BLOB NOT NULL,
     PRIMARY KEY (custodian, resource_type, id, recipient)
   ) WITHOUT ROWID;
   CREATE TABLE replication_cursor (
     target    TEXT PRIMARY KEY,
     log_index INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // 5: the consent categories of every version, decided at write time (src/records/recordCategory.ts).
  // NULL marks a version written before this migration; it counts as every category (released only
  // under a grant covering all of them) until the node classifies it on open. Replicas carry the
  // custodian's mask, and each replica wrap names the grant terms it was made under.
  `ALTER TABLE resource_versions ADD COLUMN category_mask INTEGER;
   ALTER TABLE resource_heads ADD COLUMN category_mask INTEGER;
   CREATE INDEX resource_heads_patient ON resource_heads (patient_ref, resource_type, deleted);
   ALTER TABLE replica_records ADD COLUMN category_mask INTEGER NOT NULL DEFAULT 255;
   ALTER TABLE replica_wraps ADD COLUMN grant_terms TEXT NOT NULL DEFAULT '';`,
  // 6: no asymmetric operation on the local path (src/records/recordService.ts). A wrap's kind:
  // 'hpke' (sealed to an X25519 key: grantees at replicas, and stores from before), 'kek' (under
  // one of this member's key-encryption keys, recipient "kek:<id>"), 'patient-key' (under the
  // patient's record key, recipient "pk:<kid>"). A patient's record keys are kept under the KEK
  // and, sealed once to the patient with HPKE, for the patient to fetch.
  `ALTER TABLE key_wraps ADD COLUMN kind TEXT NOT NULL DEFAULT 'hpke';
   CREATE INDEX key_wraps_by_recipient ON key_wraps (recipient);
   CREATE TABLE patient_record_keys (
     patient_ref TEXT NOT NULL,
     kid         TEXT NOT NULL,
     kek_id      TEXT NOT NULL,
     wrapped     BLOB NOT NULL,
     recipient   TEXT NOT NULL,
     enc         BLOB NOT NULL,
     sealed      BLOB NOT NULL,
     created_ms  INTEGER NOT NULL,
     PRIMARY KEY (patient_ref, kid)
   ) WITHOUT ROWID;`,
  // 7: the transparency log's Merkle tree (src/log/treeStore.ts): chunk c of level j holds the
  // hashes of complete subtrees [256c, 256c + 256) of 2^j leaves each (256 x 32 bytes), written in
  // the transaction of the entries that complete it, so a restart need not rehash the log. A store
  // from before this migration gets its chunks on the next open of its log.
  `CREATE TABLE log_tree_chunks (
     level  INTEGER NOT NULL,
     chunk  INTEGER NOT NULL,
     hashes BLOB NOT NULL,
     PRIMARY KEY (level, chunk)
   );`,
  // 8: Patient search by name, birth date and gender (src/fhir/nameParts.ts, dateTokens.ts): records
  // whose index was made before a change of what is indexed wait here until the node, which can
  // decrypt them, indexes them again (RecordService.reindexStored, on serve). Each batch replaces
  // the records' tokens and leaves the queue in one transaction, so an interrupted run resumes.
  `CREATE TABLE reindex_queue (
     resource_type TEXT NOT NULL,
     id            TEXT NOT NULL,
     PRIMARY KEY (resource_type, id)
   ) WITHOUT ROWID;
   INSERT INTO reindex_queue (resource_type, id)
     SELECT resource_type, id FROM resource_heads WHERE resource_type = 'Patient' AND deleted = 0;`,
  // 9: patient discovery (src/federation/discovery.ts). A live Patient linked to a chain address has one row per
  // discovery token (HMAC under consortium key `kid` of a match key, src/fhir/demographics.ts), and
  // one row in discovery_indexed saying under which key its tokens were made (also when it has none:
  // no name or no full birth date), so a restart indexes only what is new or under an older key.
  `CREATE TABLE discovery_tokens (
     token       TEXT NOT NULL,
     patient_ref TEXT NOT NULL,
     kid         TEXT NOT NULL,
     PRIMARY KEY (token, patient_ref)
   ) WITHOUT ROWID;
   CREATE INDEX discovery_tokens_by_patient ON discovery_tokens (patient_ref);
   CREATE TABLE discovery_indexed (
     patient_ref TEXT PRIMARY KEY,
     kid         TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // 10: the drug supply chain (src/store/unitStore.ts, docs/supply-chain.md). Each member keeps the
  // serialised units it commissioned or received (product identifier in the clear: it is the
  // member's own stock; the chain holds only the keyed commitment), the EPCIS 2.0 events it
  // recorded (JSON-LD, keyed by their CBV event hash), the verification requests it answered
  // (who asked about which unit when: the clone check) and a few settings (its GLN).
  `CREATE TABLE supply_units (
     gtin       TEXT NOT NULL,
     serial     TEXT NOT NULL,
     lot        TEXT NOT NULL,
     expiry     TEXT NOT NULL,
     commitment TEXT NOT NULL,
     batch      INTEGER NOT NULL,
     proof      TEXT NOT NULL,
     received_ms INTEGER NOT NULL,
     PRIMARY KEY (gtin, serial)
   ) WITHOUT ROWID;
   CREATE TABLE supply_events (
     event_hash TEXT PRIMARY KEY,
     biz_step   TEXT NOT NULL,
     event_time TEXT NOT NULL,
     document   TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE supply_scans (
     gtin      TEXT NOT NULL,
     serial    TEXT NOT NULL,
     requester TEXT NOT NULL,
     at_ms     INTEGER NOT NULL
   );
   CREATE INDEX supply_scans_by_unit ON supply_scans (gtin, serial, at_ms);
   CREATE TABLE supply_settings (
     name  TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // 11: custody through the API (src/store/custodyStore.ts, docs/supply-chain.md). The cases
  // (SSCC) a member packed or received and the units aggregated in each; the shipments it sent and
  // those announced to it (the sender's member-signed message, kept whole until the receipt checks
  // what arrived against it). Keyed by sender too: one sender's shipment id cannot shadow another's.
  `CREATE TABLE supply_cases (
     sscc       TEXT PRIMARY KEY,
     created_ms INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE supply_case_units (
     sscc   TEXT NOT NULL,
     gtin   TEXT NOT NULL,
     serial TEXT NOT NULL,
     PRIMARY KEY (sscc, gtin, serial)
   ) WITHOUT ROWID;
   CREATE TABLE supply_shipments (
     direction    TEXT NOT NULL CHECK (direction IN ('out', 'in')),
     counterparty TEXT NOT NULL,
     id           TEXT NOT NULL,
     status       TEXT NOT NULL,
     created_ms   INTEGER NOT NULL,
     received_ms  INTEGER,
     document     TEXT NOT NULL,
     PRIMARY KEY (direction, counterparty, id)
   ) WITHOUT ROWID;
   CREATE INDEX supply_shipments_by_id ON supply_shipments (id);`,
  // 12: drug supply incidents (src/store/incidentStore.ts, docs/supply-chain.md "Incidents"): what
  // this member did about its units (saleable returns accepted or refused, quarantines, cleared or
  // illegitimate determinations), and the illegitimate-product notices it sent or received, each
  // with its 24-hour deadline and when (and by whom) it was acknowledged.
  `CREATE TABLE supply_incidents (
     id       TEXT PRIMARY KEY,
     kind     TEXT NOT NULL,
     gtin     TEXT NOT NULL,
     lot      TEXT,
     serials  TEXT NOT NULL,
     reason   TEXT NOT NULL,
     outcome  TEXT NOT NULL,
     actor    TEXT NOT NULL,
     tx_hash  TEXT,
     at_ms    INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX supply_incidents_by_gtin ON supply_incidents (gtin, at_ms);
   CREATE TABLE supply_notices (
     id            TEXT PRIMARY KEY,
     sender        TEXT NOT NULL,
     kind          TEXT NOT NULL,
     gtin          TEXT NOT NULL,
     lot           TEXT NOT NULL,
     serials       TEXT NOT NULL,
     reason        TEXT NOT NULL,
     determined_ms INTEGER NOT NULL,
     received_ms   INTEGER NOT NULL,
     deadline_ms   INTEGER NOT NULL,
     acked_ms      INTEGER,
     acked_by      TEXT
   ) WITHOUT ROWID;
   CREATE INDEX supply_notices_open ON supply_notices (acked_ms, deadline_ms);`,
  // 13: commissioning runs (src/store/unitStore.ts, src/supply/commission.ts). A run is recorded
  // (its serials, lot, time and cases, as `pending` JSON) in the commit that queues its chain
  // transaction in the outbox (key commission:<root>), so a crash after sending cannot leave a
  // batch on chain whose units no one here knows; its units are stored once the chain numbered the
  // batch, with the batch's Merkle tree kept once (every level, 32 bytes a node, one blob). A unit
  // this member commissioned names its position in that tree (leaf) instead of keeping its own
  // proof; a unit received keeps the proof it came with. The units table is rebuilt for that
  // (SQLite cannot drop a NOT NULL), keeping every row.
  `CREATE TABLE supply_runs (
     id         INTEGER PRIMARY KEY,
     root       TEXT NOT NULL UNIQUE,
     gtin       TEXT NOT NULL,
     lot        TEXT NOT NULL,
     count      INTEGER NOT NULL,
     batch      INTEGER UNIQUE,
     pending    TEXT,
     tree       BLOB,
     created_ms INTEGER NOT NULL,
     CHECK ((batch IS NULL) = (tree IS NULL))
   );
   CREATE INDEX supply_runs_by_lot ON supply_runs (gtin, lot);
   CREATE TABLE supply_units_v13 (
     gtin        TEXT NOT NULL,
     serial      TEXT NOT NULL,
     lot         TEXT NOT NULL,
     expiry      TEXT NOT NULL,
     commitment  TEXT NOT NULL,
     batch       INTEGER NOT NULL,
     proof       TEXT,
     leaf        INTEGER,
     received_ms INTEGER NOT NULL,
     PRIMARY KEY (gtin, serial),
     CHECK ((proof IS NULL) = (leaf IS NOT NULL))
   ) WITHOUT ROWID;
   INSERT INTO supply_units_v13 (gtin, serial, lot, expiry, commitment, batch, proof, received_ms)
     SELECT gtin, serial, lot, expiry, commitment, batch, proof, received_ms FROM supply_units;
   DROP TABLE supply_units;
   ALTER TABLE supply_units_v13 RENAME TO supply_units;`,
  // 14: pallets (src/store/custodyStore.ts, docs/supply-chain.md "Pallets"): cases (SSCC) packed
  // on a pallet (an SSCC of its own, in supply_cases like any case, holding no units directly). A
  // case is on at most one pallet; unpacking deletes its rows.
  `CREATE TABLE supply_pallet_cases (
     pallet TEXT NOT NULL,
     sscc   TEXT NOT NULL UNIQUE,
     PRIMARY KEY (pallet, sscc)
   ) WITHOUT ROWID;`,
  // 15: the verification requests about a unit kept as who asked last when (src/store/unitStore.ts
  // recordScan/recentScans), one row per unit and asker: the clone check needs only whether
  // someone else asked within its window, and a row per request made each answer read every
  // request ever made about its unit. Each request stays in the transparency log.
  `CREATE TABLE supply_askers (
     gtin      TEXT NOT NULL,
     serial    TEXT NOT NULL,
     requester TEXT NOT NULL,
     last_ms   INTEGER NOT NULL,
     PRIMARY KEY (gtin, serial, requester)
   ) WITHOUT ROWID;
   INSERT INTO supply_askers (gtin, serial, requester, last_ms)
     SELECT gtin, serial, requester, max(at_ms) FROM supply_scans GROUP BY gtin, serial, requester;
   DROP TABLE supply_scans;`,
  // 16: the log's indexes made smaller, for the group commit, which rewrote every page of them its
  // entries touched (12.7 WAL pages for 32 entries of one patient, 4.2 of them the patient index and
  // 2.6 the action index; 8.3 with these). By action: only break-glass entries, the one action read by it (the admin
  // alert feed, TransparencyLog.entriesWithAction). By patient: only entries naming one, keyed by
  // the first 8 hex digits of the address (TransparencyLog.entriesForPatient compares the whole
  // address in the row; idx is in every index as the rowid).
  `DROP INDEX log_entries_action;
   CREATE INDEX log_entries_break_glass ON log_entries (idx) WHERE action = 'break-glass';
   DROP INDEX log_entries_patient;
   CREATE INDEX log_entries_by_patient ON log_entries (substr(patient, 3, 8)) WHERE patient IS NOT NULL;`,
];
