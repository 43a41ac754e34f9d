import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { CryptoError } from './cryptoError.js';
import { readKeystore, readKeystorePublic, writeKeystore } from './keystore.js';

describe('keystore', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keystore-'));
  const file = path.join(dir, 'keys.json');
  const secrets = { chainKey: `0x${'ab'.repeat(32)}`, indexKey: 'c2VjcmV0' };

  test('secrets round-trip under the passphrase; the file is 0600 and holds no secret in clear', () => {
    writeKeystore(file, 'correct horse battery', secrets, { address: '0x1234' });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('abab'), 'chain key not in clear');
    assert.ok(!text.includes('c2VjcmV0'));
    assert.deepEqual(readKeystore(file, 'correct horse battery'), secrets);
    assert.deepEqual(readKeystorePublic(file), { address: '0x1234' });
  });

  test('a wrong passphrase is refused and says so', () => {
    assert.throws(
      () => readKeystore(file, 'wrong horse battery'),
      (e: CryptoError) => {
        assert.equal(e.code, 'wrong-passphrase');
        assert.match(e.message, /^wrong passphrase for /);
        return true;
      },
    );
  });

  test('missing, corrupt and weak inputs are refused with a clear code', () => {
    assert.throws(
      () => readKeystore(path.join(dir, 'none.json'), 'x'),
      (e: CryptoError) => e.code === 'keystore-missing',
    );
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, 'nope');
    assert.throws(
      () => readKeystore(bad, 'x'),
      (e: CryptoError) => e.code === 'keystore-corrupt',
    );
    writeFileSync(bad, JSON.stringify({ version: 9 }));
    assert.throws(
      () => readKeystore(bad, 'x'),
      (e: CryptoError) => e.code === 'keystore-corrupt',
    );
    assert.throws(
      () => writeKeystore(bad, 'short', secrets),
      (e: CryptoError) => e.code === 'weak-passphrase',
    );
  });
});
