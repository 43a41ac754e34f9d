import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type GrantTerms, grantPermits, grantState } from './consentModel.js';

const g: GrantTerms = { categories: 2, purposes: 1, validFrom: 100n, expiry: 200n, granteeAdmission: 2 };

describe('the consent rule', () => {
  test('a grant’s state, in words', () => {
    const cases: [{ active: boolean; admission: number }, bigint, string][] = [
      [{ active: true, admission: 2 }, 150n, 'in force'],
      [{ active: true, admission: 2 }, 99n, 'not yet valid'],
      [{ active: true, admission: 2 }, 200n, 'expired'],
      [{ active: false, admission: 2 }, 150n, 'member removed'],
      [{ active: true, admission: 3 }, 150n, 'member re-admitted'],
    ];
    for (const [grantee, at, state] of cases) assert.equal(grantState(g, grantee, at), state);
  });
  test('only a grant in force permits, and then for what it covers', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        fc.bigInt({ min: 50n, max: 250n }),
        fc.integer({ min: 1, max: 255 }),
        (active, admission, at, mask) => {
          const permits = grantPermits(g, { active, admission }, mask, 1, at);
          const inForce = grantState(g, { active, admission }, at) === 'in force';
          return permits === (inForce && (mask & ~g.categories) === 0);
        },
      ),
    );
  });
});
