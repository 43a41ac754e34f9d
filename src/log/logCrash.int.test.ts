import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { leafHash, MerkleTree } from './merkle.js';
import { TransparencyLog } from './transparencyLog.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'log-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('kill -9 while appending: every acknowledged entry is in the store, and the log opens without a rebuild', async () => {
  const file = path.join(dir, 'node.db');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'test/support/logAppender.ts'), file],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const acked = new Set<number>();
  // Wait (generous deadline: a loaded machine) until 500 appends were acknowledged, then kill it hard
  // while it goes on appending.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the appender acknowledged fewer than 500 entries in 120 s')),
      120_000,
    );
    createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /^ack (\d+)$/.exec(l);
      if (m) acked.add(Number(m[1]));
      if (acked.size === 500) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the appender exited (${code}) before it was killed`)));
  });
  await exited;
  const warnings: string[] = [];
  const db = openDatabase(file, NODE_MIGRATIONS);
  const log = new TransparencyLog(db, '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD', Date.now, {
    warn: (m) => warnings.push(m),
  });
  const stored = new Set((db.prepare('SELECT idx FROM log_entries').pluck().all() as number[]).map(Number));
  for (const i of acked) assert.ok(stored.has(i), `acknowledged entry ${i} is in the store`);
  assert.ok(log.size >= 500);
  assert.equal(log.rebuilt, null, warnings.join('\n'));
  const ref = new MerkleTree();
  for (const r of db
    .prepare('SELECT entry FROM log_entries ORDER BY idx')
    .pluck()
    .iterate() as Iterable<Buffer>)
    ref.append(leafHash(r));
  assert.deepEqual(log.root(), ref.root(), 'the persisted tree is the tree of the stored entries');
  db.close();
});
