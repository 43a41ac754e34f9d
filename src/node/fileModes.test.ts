import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { securePrivateDir } from '../util/privateFiles.js';
import { createIdentity } from './memberIdentity.js';
import { dbFileOf, keyFileOf, openMemberNode } from './memberNode.js';
import { createPatientKeys } from './patientKeys.js';

const PASS = 'file modes passphrase';
const mode = (p: string) => statSync(p).mode & 0o777;
const root = mkdtempSync(path.join(tmpdir(), 'medchain-modes-'));
let umask: number;
// With umask 0 every file and folder would be created world-readable unless its mode is set: the
// modes checked here come from the code, not from the test machine's umask.
before(() => {
  umask = process.umask(0);
});
after(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});

/** Open a node in `dir`, write one record (so the WAL and its index exist), note the modes, close it. */
async function writeOneRecord(dir: string) {
  const node = openMemberNode(dir, PASS);
  try {
    await node.records.create({ resourceType: 'Patient', gender: 'unknown' });
    for (const side of ['-wal', '-shm'])
      assert.ok(existsSync(`${dbFileOf(dir)}${side}`), `SQLite made node.db${side}`);
    // Modes while the node is open: SQLite removes the sidecars when the last connection closes.
    const modes = Object.fromEntries(readdirSync(dir).map((f) => [f, mode(path.join(dir, f))]));
    return { tightened: node.tightened, modes };
  } finally {
    node.close();
  }
}

const ALL_0600 = { 'keys.json': 0o600, 'node.db': 0o600, 'node.db-shm': 0o600, 'node.db-wal': 0o600 };

describe('a member directory is owner-only', () => {
  test('a new member: folder 0700; keys.json, node.db, node.db-wal, node.db-shm 0600', async () => {
    const dir = path.join(root, 'new-member', 'hospital'); // neither folder exists yet
    createIdentity(keyFileOf(dir), PASS);
    const { tightened, modes } = await writeOneRecord(dir);
    assert.deepEqual(tightened, [], 'nothing to tighten: everything was created owner-only');
    assert.equal(mode(dir), 0o700);
    assert.deepEqual(modes, ALL_0600);
  });

  test('wider modes left by an older medchain are tightened when the node opens, and reported', async () => {
    const dir = path.join(root, 'old-member');
    createIdentity(keyFileOf(dir), PASS);
    await writeOneRecord(dir);
    chmodSync(dir, 0o755);
    const wide = ['keys.json', 'node.db', 'node.db-wal', 'node.db-shm'].map((f) => path.join(dir, f));
    // SQLite removed the sidecars on close; empty ones are what a crash can leave behind.
    for (const f of wide) {
      if (!existsSync(f)) writeFileSync(f, '');
      chmodSync(f, 0o644);
    }
    const { tightened, modes } = await writeOneRecord(dir);
    assert.deepEqual([...tightened].sort(), [dir, ...wide].sort());
    assert.equal(mode(dir), 0o700);
    assert.deepEqual(modes, ALL_0600);
    assert.deepEqual((await writeOneRecord(dir)).tightened, [], 'reported once, not on every open');
  });

  test('a patient key file gets an owner-only folder when it makes one; an existing folder is left alone', () => {
    const made = path.join(root, 'patients-new', 'patient-01.json');
    createPatientKeys(made, PASS);
    assert.equal(mode(path.dirname(made)), 0o700);
    assert.equal(mode(made), 0o600);
    const shared = path.join(root, 'shared');
    securePrivateDir(shared, { create: true });
    chmodSync(shared, 0o755);
    createPatientKeys(path.join(shared, 'patient.json'), PASS);
    assert.equal(
      mode(shared),
      0o755,
      'keygen into an existing folder (say, the current one) does not chmod it',
    );
    assert.equal(mode(path.join(shared, 'patient.json')), 0o600);
  });
});

describe('securePrivateDir', () => {
  test('creates 0700, tightens only what group or others can reach, never widens, skips subfolders', () => {
    const dir = path.join(root, 'sweep');
    assert.deepEqual(securePrivateDir(dir), [], 'without create, a missing folder stays missing');
    assert.equal(existsSync(dir), false);
    assert.deepEqual(securePrivateDir(dir, { create: true }), []);
    assert.equal(mode(dir), 0o700);
    const files = { open: 0o666, group: 0o640, narrow: 0o400, exact: 0o600 };
    for (const [name, m] of Object.entries(files)) {
      writeFileSync(path.join(dir, name), 'x');
      chmodSync(path.join(dir, name), m);
    }
    securePrivateDir(path.join(dir, 'sub'), { create: true });
    chmodSync(path.join(dir, 'sub'), 0o755);
    const tightened = securePrivateDir(dir);
    assert.deepEqual(tightened.sort(), [path.join(dir, 'group'), path.join(dir, 'open')]);
    assert.equal(mode(path.join(dir, 'open')), 0o600);
    assert.equal(mode(path.join(dir, 'group')), 0o600);
    assert.equal(mode(path.join(dir, 'narrow')), 0o400, 'an owner-only mode is not widened');
    assert.equal(mode(path.join(dir, 'sub')), 0o755, 'subfolders are their owners’ business');
  });
});
