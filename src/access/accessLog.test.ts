import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { queryHash } from './accessLog.js';

test('a logged search query hash is keyed: equal queries match, guesses without the key do not', () => {
  const key = randomBytes(32);
  const q = { name: 'okafor', birthdate: '1980-04-01' };
  const h = queryHash(key, 'Patient', q);
  assert.match(h, /^0x[0-9a-f]{64}$/);
  assert.equal(
    queryHash(key, 'Patient', { birthdate: '1980-04-01', name: 'okafor' }),
    h,
    'order does not matter',
  );
  assert.notEqual(queryHash(key, 'Patient', { ...q, name: 'okafore' }), h);
  assert.notEqual(queryHash(randomBytes(32), 'Patient', q), h, 'another member keys it differently');
  // Whoever reads the log and guesses the name cannot confirm it with a plain hash of the query.
  const plain = (s: string) => `0x${createHash('sha256').update(s).digest('hex')}`;
  for (const guess of [
    'Patient?birthdate=1980-04-01&name=okafor',
    'query\0Patient?birthdate=1980-04-01&name=okafor',
  ])
    assert.notEqual(plain(guess), h);
});
