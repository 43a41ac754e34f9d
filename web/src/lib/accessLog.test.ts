import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LogEntry } from '../../../src/log/entry.js';
import { accessRows, type CheckedItem, checkedItems, countWords, pageOf } from './accessLog.js';

const PATIENT = '0x00000000000000000000000000000000000000aa' as const;
const LAB = '0x00000000000000000000000000000000000000Cc' as const;
const CLINIC = '0x00000000000000000000000000000000000000Dd' as const;
const HOSPITAL = '0x00000000000000000000000000000000000000Ee' as const;
const ACME = '0x00000000000000000000000000000000000000Ff' as const;
const names = new Map([
  [LAB.toLowerCase(), 'Central Lab'],
  [CLINIC.toLowerCase(), 'Valley Clinic'],
  [HOSPITAL.toLowerCase(), 'City Hospital'],
  [ACME.toLowerCase(), 'Acme Health Insurance'],
]);
const NAME_OF: Record<string, string> = {
  [LAB]: 'Central Lab',
  [CLINIC]: 'Valley Clinic',
  [HOSPITAL]: 'City Hospital',
  [ACME]: 'Acme Health Insurance',
};
const T0 = Date.UTC(2026, 11, 1, 10, 4);
let next = 0;

const entry = (over: Partial<LogEntry>): LogEntry => ({
  index: next++,
  time: T0,
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
const item = (e: LogEntry, status: CheckedItem['status'] = 'verified'): CheckedItem => ({
  entry: e,
  holder: NAME_OF[e.member] as string,
  index: e.index,
  status,
});
const obs = (id: string) => ({ resourceType: 'Observation', id, version: 1, ciphertextHash: null });
const type = (resourceType: string) => ({ resourceType, id: '', version: 0, ciphertextHash: null });
const USER = '3d1ee62d-0b4c-4a51-9a43-6a1f0e9b2c11';

/** What one chart opening at Valley Clinic leaves in three logs, with labs shared under consent. */
function chartOpening(at: number): LogEntry[] {
  const labIds = Array.from({ length: 8 }, (_, i) => `lab-${at}-${i}`);
  return [
    // Central Lab: a permit per record released, a deny for what the consent does not cover.
    ...labIds.map((id, i) => entry({ time: at + 100 + i, target: obs(id) })),
    entry({ time: at + 120, outcome: 'deny', reason: 'withheld', target: type('Observation') }),
    // City Hospital: nothing consented.
    entry({
      member: HOSPITAL,
      time: at + 90,
      outcome: 'deny',
      reason: 'no-consent',
      target: type('Observation'),
    }),
    entry({
      member: HOSPITAL,
      time: at + 91,
      outcome: 'deny',
      reason: 'no-consent',
      target: type('Condition'),
    }),
    // Valley Clinic: its clinician's read of its own records, what it received, what was refused.
    ...[0, 1, 2, 3].map((i) =>
      entry({ member: CLINIC, actor: USER, time: at + i, reason: 'ok', target: obs(`own-${at}-${i}`) }),
    ),
    ...labIds.map((id, i) =>
      entry({ member: CLINIC, actor: USER, time: at + 800 + i, reason: 'received', target: obs(id) }),
    ),
    entry({
      member: CLINIC,
      actor: USER,
      time: at + 810,
      outcome: 'deny',
      reason: 'remote-no-consent',
      target: type('Observation'),
    }),
    entry({
      member: CLINIC,
      actor: USER,
      time: at + 811,
      outcome: 'deny',
      reason: 'remote-no-consent',
      target: type('Condition'),
    }),
  ];
}

describe('the patient’s access list: one row per access, in words', () => {
  test('one chart opening across three logs is one row; each record counted once; readers by name', () => {
    const rows = accessRows(
      chartOpening(T0).map((e) => item(e)),
      PATIENT,
      names,
    );
    assert.equal(rows.length, 1, rows.map((r) => `${r.who} ${r.what}`).join('\n'));
    const r = rows[0];
    assert.ok(r);
    assert.equal(r.who, 'Valley Clinic');
    assert.equal(r.what, 'read 8 results held at Central Lab; 4 results held at Valley Clinic itself');
    assert.equal(r.refused, 'City Hospital shared nothing (no consent)');
    assert.equal(r.kind, 'partly');
    assert.equal(r.purpose, 'for treatment');
    assert.deepEqual(r.logs, ['Central Lab', 'City Hospital', 'Valley Clinic']);
    assert.equal(r.entries, 25);
    assert.equal(r.status, 'verified');
    assert.equal(r.time, T0, 'when it began (the clinic’s own read came first)');
    assert.doesNotMatch(`${r.who} ${r.what} ${r.refused}`, /0x|3d1ee62d/, 'no addresses or pseudonyms');
  });

  test('a refusal says nothing was shared, and never counts the records asked about', () => {
    const rows = accessRows(
      [
        entry({ outcome: 'deny', reason: 'no-consent', target: type('Observation') }),
        entry({
          member: CLINIC,
          actor: USER,
          time: T0 + 300,
          outcome: 'deny',
          reason: 'remote-no-consent',
          target: type('Observation'),
        }),
      ].map((e) => item(e)),
      PATIENT,
      names,
    );
    assert.equal(rows.length, 1);
    assert.equal(
      `${rows[0]?.who} ${rows[0]?.what} (${rows[0]?.refused})`,
      'Valley Clinic asked for your records; nothing was shared (no consent)',
    );
    assert.equal(rows[0]?.kind, 'refused');
  });

  test('the requester’s own note of a refusal stands in when the refusing member’s log is not read', () => {
    const rows = accessRows(
      [
        entry({ member: CLINIC, actor: USER, reason: 'received', target: obs('r1') }),
        entry({
          member: CLINIC,
          actor: USER,
          outcome: 'deny',
          reason: 'remote-no-consent',
          target: type('Condition'),
        }),
      ].map((e) => item(e)),
      PATIENT,
      names,
    );
    assert.equal(rows[0]?.what, 'read 1 result held at another member');
    assert.equal(rows[0]?.refused, undefined, 'a member that shared some is not listed for the rest');
    const alone = accessRows(
      [
        entry({
          member: CLINIC,
          actor: USER,
          outcome: 'deny',
          reason: 'remote-no-consent',
          target: type('Condition'),
        }),
      ].map((e) => item(e)),
      PATIENT,
      names,
    );
    assert.equal(
      `${alone[0]?.what} (${alone[0]?.refused})`,
      'asked for your records; nothing was shared (no consent)',
    );
  });

  test('records a replica served are counted once, and say where the copy was', () => {
    const rows = accessRows(
      [
        entry({ member: ACME, reason: 'replica-consent', target: obs('h1') }),
        entry({ member: ACME, reason: 'replica-consent', target: obs('h2') }),
        entry({ member: CLINIC, actor: USER, reason: 'received-from-replica', target: obs('h1') }),
        entry({ member: CLINIC, actor: USER, reason: 'received-from-replica', target: obs('h2') }),
      ].map((e) => item(e)),
      PATIENT,
      names,
    );
    assert.equal(rows.length, 1);
    assert.equal(
      rows[0]?.what,
      'read 2 results held at another member, served from its copy at Acme Health Insurance',
    );
  });

  test('separate accesses stay separate: far apart, another purpose, break-glass, another reader', () => {
    const later = T0 + 5 * 60_000;
    const items = [
      ...chartOpening(T0),
      ...chartOpening(later),
      entry({
        time: T0 + 200,
        action: 'break-glass',
        purpose: 'emergency',
        reason: 'break-glass',
        target: obs('bg'),
      }),
      entry({ time: T0 + 300, actor: `member:${ACME}`, purpose: 'payment', target: obs('pay') }),
    ].map((e) => item(e));
    const rows = accessRows(items, PATIENT, names);
    assert.equal(rows.length, 4, rows.map((r) => `${r.who} ${r.what} ${r.purpose}`).join('\n'));
    assert.equal(rows[0]?.time, later, 'newest first');
    const glass = rows.find((r) => r.breakGlass);
    assert.equal(glass?.what, 'read 1 result held at Central Lab');
    assert.equal(glass?.purpose, 'in an emergency, without consent');
    assert.equal(rows.find((r) => r.who === 'Acme Health Insurance')?.purpose, 'for billing and payment');
  });

  test('a consent change between two reads makes them two accesses, however close in time', () => {
    const items = [
      entry({ time: T0, target: obs('before') }),
      entry({
        time: T0 + 1_000,
        member: HOSPITAL,
        actor: `patient:${PATIENT}`,
        action: 'consent-revoke',
        purpose: 'none',
        reason: 'ok',
        target: null,
      }),
      entry({ time: T0 + 2_000, outcome: 'deny', reason: 'no-consent', target: type('Observation') }),
    ].map((e) => item(e));
    const rows = accessRows(items, PATIENT, names).filter((r) => r.who === 'Valley Clinic');
    assert.deepEqual(
      rows.map((r) => [r.what, r.refused]),
      [
        ['asked for your records; nothing was shared', 'no consent'],
        ['read 1 result held at Central Lab', undefined],
      ],
    );
  });

  test('a row is verified only when every entry behind it is; a failed one says why', () => {
    const opening = chartOpening(T0);
    const pending = accessRows(
      opening.map((e, i) => item(e, i === 3 ? 'pending' : 'verified')),
      PATIENT,
      names,
    );
    assert.equal(pending[0]?.status, 'pending');
    const failed = accessRows(
      opening.map((e, i) =>
        i === 5 ? { ...item(e, 'failed'), problem: 'is not proven included' } : item(e),
      ),
      PATIENT,
      names,
    );
    assert.equal(failed[0]?.status, 'failed');
    assert.equal(failed[0]?.problem, 'is not proven included');
  });

  test('what the patient did, imports and sign-ins: in words, grouped across members', () => {
    const you = `patient:${PATIENT}`;
    const rows = accessRows(
      [
        entry({ actor: you, action: 'export', purpose: 'none', reason: 'ok', target: obs('a') }),
        entry({
          member: HOSPITAL,
          actor: you,
          action: 'export',
          purpose: 'none',
          reason: 'ok',
          target: obs('b'),
        }),
        entry({
          member: HOSPITAL,
          actor: you,
          action: 'export',
          purpose: 'none',
          reason: 'record-keys',
          target: null,
        }),
        entry({
          time: T0 + 30_000,
          actor: you,
          action: 'audit-read',
          purpose: 'none',
          reason: 'ok',
          target: null,
        }),
        entry({
          time: T0 + 30_000,
          member: CLINIC,
          actor: you,
          action: 'audit-read',
          purpose: 'none',
          reason: 'ok',
          target: null,
        }),
        ...[1, 2, 3].map((i) =>
          entry({
            time: T0 - 60_000,
            member: HOSPITAL,
            actor: 'operator:seed',
            action: 'create',
            purpose: 'operations',
            reason: 'ok',
            target: obs(`s${i}`),
          }),
        ),
      ].map((e) => item(e)),
      PATIENT,
      names,
    );
    assert.deepEqual(
      rows.map((r) => `${r.who} ${r.what}`),
      [
        'You looked at your access log at Central Lab and Valley Clinic',
        'You looked at 1 result from Central Lab; 1 result from City Hospital; your record keys from City Hospital',
        'City Hospital (data import) added 3 results',
      ],
    );
  });

  test('consent changes: the patient’s own, and refused ones sent in their name', () => {
    const you = `patient:${PATIENT}`;
    const consent = (over: Partial<LogEntry>) =>
      entry({
        member: HOSPITAL,
        actor: you,
        action: 'consent-grant',
        purpose: 'none',
        reason: 'ok',
        target: null,
        ...over,
      });
    const rows = accessRows(
      [
        consent({}),
        consent({ time: T0 + 60_000, outcome: 'deny', reason: 'consent-invalid-signer' }),
        consent({ time: T0 + 60_001, outcome: 'deny', reason: 'consent-invalid-signer' }),
      ].map((e) => item(e)),
      PATIENT,
      names,
    );
    assert.deepEqual(
      rows.map((r) => `${r.who} ${r.what}`),
      [
        'Someone tried to give consent in your name at City Hospital (2 times); it was refused: it was not signed with your key',
        'You gave consent, relayed to the chain by City Hospital',
      ],
    );
  });

  test('an entry that could not be decoded is a failed row of its own', () => {
    const items = checkedItems(
      [{ index: 7, ok: false, problem: 'does not decode: junk' }],
      [],
      'Central Lab',
    );
    const rows = accessRows(items, PATIENT, names);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.status, 'failed');
    assert.match(`${rows[0]?.who} ${rows[0]?.what}`, /in the log of Central Lab could not be read/);
  });

  test('checkedItems: anchored entries carry their proof result; pending ones wait', () => {
    const e = entry({});
    const items = checkedItems([{ index: e.index, ok: true, entry: e }], [entry({})], 'Central Lab');
    assert.deepEqual(
      items.map((i) => i.status),
      ['verified', 'pending'],
    );
  });

  test('words and pages', () => {
    assert.equal(countWords(1, 'Observation'), '1 result');
    assert.equal(countWords(12, 'Observation'), '12 results');
    assert.equal(countWords(2, 'Unknown'), '2 records');
    const xs = Array.from({ length: 45 }, (_, i) => i);
    assert.deepEqual(pageOf(xs, 0), { rows: xs.slice(0, 20), page: 0, pages: 3 });
    assert.deepEqual(pageOf(xs, 2).rows, xs.slice(40));
    assert.equal(pageOf(xs, 9).page, 2, 'past the end: the last page');
    assert.deepEqual(pageOf([], 0), { rows: [], page: 0, pages: 1 });
  });
});
