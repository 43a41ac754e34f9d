/** Edit tables: the shipped files parse, their hashes are those of the bytes, and bad tables are refused. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EditTableError } from './claimsError.js';
import { parseMueTable, parsePtpTable } from './editTables.js';
import { loadEditTables, SHIPPED_TABLES } from './tableFiles.js';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const ptp = (pairs: unknown) => bytes({ table: 'ptp', version: '1', pairs });
const mue = (limits: unknown) => bytes({ table: 'mue', version: '1', limits });

describe('edit tables', () => {
  test('each shipped table carries the SHA-256 of its file bytes (what sha256sum prints)', () => {
    const t = loadEditTables();
    for (const [kind, file] of Object.entries(SHIPPED_TABLES)) {
      const raw = readFileSync(fileURLToPath(new URL(`./tables/${file}`, import.meta.url)));
      assert.equal(t[kind as keyof typeof t].sha256, createHash('sha256').update(raw).digest('hex'));
    }
    assert.equal(t.ptp.byColumn2.get('Z1002')?.[0]?.modifierIndicator, 0);
    assert.equal(t.mue.byCode.get('Z1022')?.mai, 3);
  });

  test('one changed byte changes the hash', () => {
    const a = ptp([{ column1: 'Z1001', column2: 'Z1002', modifierIndicator: 0 }]);
    const b = ptp([{ column1: 'Z1001', column2: 'Z1002', modifierIndicator: 1 }]);
    assert.notEqual(parsePtpTable('a', a).sha256, parsePtpTable('b', b).sha256);
  });

  const badPtp: [string, Uint8Array][] = [
    ['not JSON', new TextEncoder().encode('{')],
    ['an array', bytes([])],
    ['the wrong table kind', bytes({ table: 'mue', version: '1', pairs: [] })],
    ['no version', bytes({ table: 'ptp', pairs: [] })],
    ['pairs not an array', ptp({})],
    ['a CPT-shaped code', ptp([{ column1: '99213', column2: 'Z1002', modifierIndicator: 0 }])],
    ['indicator 2', ptp([{ column1: 'Z1001', column2: 'Z1002', modifierIndicator: 2 }])],
    ['a code paired with itself', ptp([{ column1: 'Z1001', column2: 'Z1001', modifierIndicator: 0 }])],
    [
      'a repeated pair',
      ptp([
        { column1: 'Z1001', column2: 'Z1002', modifierIndicator: 0 },
        { column1: 'Z1001', column2: 'Z1002', modifierIndicator: 1 },
      ]),
    ],
    [
      'a pair listed both ways',
      ptp([
        { column1: 'Z1001', column2: 'Z1002', modifierIndicator: 0 },
        { column1: 'Z1002', column2: 'Z1001', modifierIndicator: 0 },
      ]),
    ],
  ];
  for (const [name, b] of badPtp) {
    test(`PTP refused: ${name}`, () => assert.throws(() => parsePtpTable('t', b), EditTableError));
  }
  const badMue: [string, Uint8Array][] = [
    ['limits not an array', mue(null)],
    ['limit 0', mue([{ code: 'Z1001', limit: 0, mai: 1 }])],
    ['limit 1.5', mue([{ code: 'Z1001', limit: 1.5, mai: 1 }])],
    ['MAI 4', mue([{ code: 'Z1001', limit: 1, mai: 4 }])],
    ['MAI as a string', mue([{ code: 'Z1001', limit: 1, mai: '1' }])],
    ['a lower-case code', mue([{ code: 'z1001', limit: 1, mai: 1 }])],
    [
      'a repeated code',
      mue([
        { code: 'Z1001', limit: 1, mai: 1 },
        { code: 'Z1001', limit: 2, mai: 2 },
      ]),
    ],
  ];
  for (const [name, b] of badMue) {
    test(`MUE refused: ${name}`, () => assert.throws(() => parseMueTable('t', b), EditTableError));
  }
});
