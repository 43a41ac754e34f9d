import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LogEntry } from '../../../src/log/entry.js';
import { accessRows, groupRows, whoText } from './accessLog.js';

const PATIENT = '0x00000000000000000000000000000000000000aa' as const;
const LAB = '0x00000000000000000000000000000000000000Cc' as const;
const CLINIC = '0x00000000000000000000000000000000000000dd';
const names = new Map([
  [LAB.toLowerCase(), 'Central Lab'],
  [CLINIC, 'Valley Clinic'],
]);

const entry = (over: Partial<LogEntry>): LogEntry => ({
  index: 0,
  time: 1_000,
  member: LAB,
  actor: `member:${CLINIC}`,
  patient: PATIENT,
  action: 'search',
  target: { resourceType: 'Observation', id: 'o1', version: 1, ciphertextHash: null },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'consent',
  queryHash: null,
  ...over,
});

describe('the patient’s access list in words', () => {
  test('who: the patient, a member by name, staff pseudonyms, failed sign-ins', () => {
    assert.equal(whoText(`patient:${PATIENT}`, PATIENT, names, 'Central Lab'), 'You');
    assert.equal(whoText(`member:${CLINIC}`, PATIENT, names, 'Central Lab'), 'Valley Clinic');
    assert.match(
      whoText('member:0x1234567890123456789012345678901234567890', PATIENT, names, 'X'),
      /^member 0x12345678/,
    );
    assert.match(
      whoText('3d1ee62d-aaaa', PATIENT, names, 'Valley Clinic'),
      /a user at Valley Clinic \(3d1ee62d\)/,
    );
    assert.match(whoText('anon:abc', PATIENT, names, 'Valley Clinic'), /unknown user at Valley Clinic/);
  });

  test('break-glass rows are flagged; proof status follows the check; newest first', () => {
    const rows = accessRows(
      [
        { index: 0, ok: true, entry: entry({ index: 0, time: 1_000 }) },
        {
          index: 1,
          ok: false,
          entry: entry({
            index: 1,
            time: 3_000,
            action: 'break-glass',
            purpose: 'emergency',
            reason: 'break-glass',
          }),
          problem: 'is not proven included in the anchored head',
        },
        { index: 2, ok: false, problem: 'does not decode: junk' },
      ],
      [entry({ index: 3, time: 2_000, outcome: 'deny', reason: 'no-consent' })],
      PATIENT,
      names,
      'Central Lab',
    );
    assert.deepEqual(
      rows.map((r) => [r.key, r.status, r.breakGlass]),
      [
        [`${LAB}:1`, 'failed', true],
        [`${LAB}:3`, 'pending', false],
        [`${LAB}:0`, 'verified', false],
        ['Central Lab:2', 'failed', false],
      ],
    );
    assert.match(rows[0]?.what ?? '', /EMERGENCY ACCESS/);
    assert.equal(rows[1]?.reason, 'refused: no consent');
    assert.equal(rows[2]?.holder, 'Central Lab');
    assert.equal(rows[2]?.who, 'Valley Clinic');
  });

  test('the entries of one access become one row with a count; verified only if all are', () => {
    const rows = accessRows(
      [0, 1, 2].map((i) => ({
        index: i,
        ok: i !== 1,
        entry: entry({ index: i, time: 5_000 + i }),
        ...(i === 1 ? { problem: 'bad proof' } : {}),
      })),
      [
        entry({ index: 3, time: 9_000 }),
        entry({ index: 4, time: 9_100 }),
        entry({ index: 5, time: 9_200, outcome: 'deny', reason: 'no-consent' }),
      ],
      PATIENT,
      names,
      'Central Lab',
    );
    const grouped = groupRows(rows);
    assert.deepEqual(
      grouped.map((r) => [r.count, r.status, r.outcome]),
      [
        [1, 'pending', 'deny'],
        [2, 'pending', 'permit'],
        [3, 'failed', 'permit'],
      ],
    );
    assert.equal(grouped[2]?.problem, 'bad proof');
    // Far apart in time: not merged.
    assert.equal(groupRows(rows, 0).length, rows.length);
  });
});
