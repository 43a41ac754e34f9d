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
];
