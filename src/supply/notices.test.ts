import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import { InvalidInputError } from '../errors.js';
import { parseSupplyNotice, type SupplyNotice, supplyNoticeBody } from '../federation/wire.js';
import { TransparencyLog } from '../log/transparencyLog.js';
import { openDatabase } from '../store/database.js';
import { IncidentStore } from '../store/incidentStore.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { acknowledgeAlert, NOTICE_DEADLINE_MS, openAlerts } from './notices.js';

const notice: SupplyNotice = {
  noticeId: '2f1c3c1e-7a0b-4c1e-9a55-0d4c2b1e9f00',
  kind: 'illegitimate',
  gtin: '09521234000112',
  lot: 'AMX2601',
  serials: ['ABC123DEF456'],
  reason: 'counterfeit',
  determinedAt: '2026-03-01T10:00:00.000Z',
};

describe('the supply notice wire (strict)', () => {
  test('a notice round-trips', () => {
    assert.deepEqual(parseSupplyNotice(JSON.parse(supplyNoticeBody(notice))), notice);
  });

  const bad: [string, unknown][] = [
    ['not an object', []],
    ['an extra field', { ...notice, deadline: '2099-01-01T00:00:00Z' }],
    ['no noticeId', { ...notice, noticeId: undefined }],
    ['a noticeId that is no UUID', { ...notice, noticeId: 'x' }],
    ['another kind', { ...notice, kind: 'suspect' }],
    ['a wrong GTIN check digit', { ...notice, gtin: '09521234000113' }],
    ['no serials', { ...notice, serials: [] }],
    ['a serial twice', { ...notice, serials: ['A1', 'A1'] }],
    ['a serial with a space', { ...notice, serials: ['A 1'] }],
    ['1,001 serials', { ...notice, serials: Array.from({ length: 1001 }, (_, i) => `S${i}`) }],
    ['an empty reason', { ...notice, reason: '' }],
    ['a control character in the reason', { ...notice, reason: 'a\nb' }],
    ['a local time', { ...notice, determinedAt: '2026-03-01T10:00:00+02:00' }],
    ['a number for the lot', { ...notice, lot: 7 }],
  ];
  for (const [name, body] of bad)
    test(`refused: ${name}`, () => assert.throws(() => parseSupplyNotice(body), InvalidInputError));
});

describe('alerts: 24-hour deadline on an injected clock', () => {
  /** `notice` as the store keeps it, received (and determined) at `receivedMs`. */
  const stored = (receivedMs: number, deadlineMs: number) => ({
    id: notice.noticeId,
    sender: '0x0000000000000000000000000000000000000001' as const,
    kind: 'illegitimate' as const,
    gtin: notice.gtin,
    lot: notice.lot,
    serials: notice.serials,
    reason: notice.reason,
    determinedMs: receivedMs,
    receivedMs,
    deadlineMs,
  });
  const setup = () => {
    const db = openDatabase(':memory:', NODE_MIGRATIONS);
    const incidents = new IncidentStore(db);
    const log = new TransparencyLog(db, privateKeyToAccount(`0x${'11'.repeat(32)}`).address);
    let now = Date.parse('2026-03-01T10:00:00Z');
    const deps = { incidents, log, now: () => new Date(now) };
    const received = now;
    incidents.putNotice(stored(received, received + NOTICE_DEADLINE_MS));
    return { deps, advance: (ms: number) => (now += ms), db };
  };
  const pharmacist = { id: 'u1', role: 'pharmacist' as const, purpose: 'operations' as const };

  test('open with the time left, overdue exactly at the deadline, closed by an acknowledgement', async () => {
    const { deps, advance } = setup();
    const a = openAlerts(deps, pharmacist);
    assert.equal(a.alerts.length, 1);
    assert.equal(a.alerts[0]?.timeLeftMs, NOTICE_DEADLINE_MS);
    assert.equal(a.alerts[0]?.overdue, false);
    advance(NOTICE_DEADLINE_MS - 1);
    assert.equal(openAlerts(deps, pharmacist).alerts[0]?.overdue, false);
    advance(1);
    const due = openAlerts(deps, pharmacist);
    assert.equal(due.alerts[0]?.overdue, true);
    assert.equal(due.alerts[0]?.timeLeftMs, 0);
    assert.equal(due.overdue, 1);
    const ack = await acknowledgeAlert(deps, pharmacist, notice.noticeId);
    assert.equal(ack.acknowledged, true);
    assert.equal(openAlerts(deps, pharmacist).alerts.length, 0);
    await assert.rejects(acknowledgeAlert(deps, pharmacist, notice.noticeId), { code: 'conflict' });
  });

  test('the same notice stored twice is one alert; other roles see none', () => {
    const { deps } = setup();
    const again = deps.incidents.putNotice(stored(0, 0));
    assert.equal(again, false);
    assert.equal(openAlerts(deps, pharmacist).alerts.length, 1);
    assert.throws(() => openAlerts(deps, { ...pharmacist, role: 'clinician' }), { code: 'access-denied' });
  });
});
