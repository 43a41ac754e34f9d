import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { commissioningEvent } from './epcisEvents.js';
import { epcisEventHash } from './epcisHash.js';

const serials = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/), { minLength: 1, maxLength: 30 });
const ctx = { time: new Date('2026-03-01T09:00:00Z'), location: '9506000134369' };
const units = (s: string[]) =>
  s.map((serial) => ({ gtin: '09506000134352', serial, lot: 'L1', expiry: '271231' }));

test('the order of the units does not change the hash; changing one serial does', () => {
  fc.assert(
    fc.property(serials, fc.nat(), fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/), (s, pick, other) => {
      const h = epcisEventHash(commissioningEvent(units(s), ctx));
      assert.equal(epcisEventHash(commissioningEvent(units([...s].reverse()), ctx)), h);
      const i = pick % s.length;
      if (s.includes(other)) return;
      const changed = s.map((x, j) => (j === i ? other : x));
      assert.notEqual(epcisEventHash(commissioningEvent(units(changed), ctx)), h);
    }),
    { numRuns: 300 },
  );
});
