/**
 * One member organization's node: its key file and SQLite store in one directory, the record
 * service on top, and the HTTP API. This is the composition root for a node.
 *
 *   <dir>/keys.json   the member identity (passphrase-protected, mode 0600)
 *   <dir>/node.db     the store (WAL; node.db-wal, node.db-shm beside it)
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LoginThrottle, SessionStore } from '../access/sessions.js';
import { buildApi } from '../api/server.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { type Db, openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { RecordStore } from '../store/recordStore.js';
import { UserStore } from '../store/userStore.js';
import { loadIdentity, type MemberIdentity } from './memberIdentity.js';
import { RecordService } from './recordService.js';

export interface MemberNode {
  dir: string;
  identity: MemberIdentity;
  db: Db;
  records: RecordService;
  users: UserStore;
  close(): void;
}

export const keyFileOf = (dir: string) => path.join(dir, 'keys.json');
export const dbFileOf = (dir: string) => path.join(dir, 'node.db');

const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

/** Open a member's store with its keys. Throws CryptoError('wrong-passphrase') for a wrong passphrase. */
export function openMemberNode(dir: string, passphrase: string): MemberNode {
  const identity = loadIdentity(keyFileOf(dir), passphrase);
  loadFhirDefinitions();
  const db = openDatabase(dbFileOf(dir), NODE_MIGRATIONS);
  const records = new RecordService(new RecordStore(db), {
    encryptionPrivateKey: bytes(identity.encryptionPrivateKey),
    encryptionPublicKey: bytes(identity.encryptionPublicKey),
    indexKey: bytes(identity.indexKey),
  });
  return { dir, identity, db, records, users: new UserStore(db), close: () => db.close() };
}

export interface RunningNode {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Serve the node's API on 127.0.0.1 (port 0 = any free port). */
export async function serveMemberNode(
  node: MemberNode,
  opts: { port?: number; host?: string } = {},
): Promise<RunningNode> {
  const app = buildApi({
    records: node.records,
    users: node.users,
    sessions: new SessionStore(),
    throttle: new LoginThrottle(),
  });
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  return {
    url: address,
    app,
    close: async () => {
      await app.close();
    },
  };
}
