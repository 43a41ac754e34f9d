import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LogEntry } from '../../../src/log/entry.js';
import { accessRows, whoText } from './accessLog.js';

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
});
