import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Address } from 'viem';
import type { GrantTerms } from '../chain/consentModel.js';
import { categoriesToMask, purposesToMask, rolesToMask } from '../chain/scopes.js';
import {
  type AccessRequest,
  ALL_CATEGORIES,
  BREAK_GLASS_PER_HOUR,
  covers,
  type Decision,
  decide,
  type Requester,
} from './policy.js';
import { MEMBER_PURPOSES, ROLE_PURPOSES } from './purposeOfUse.js';
import { USER_ROLES } from './roles.js';

const PATIENT = '0x00000000000000000000000000000000000000aA' as Address;
const OTHER = '0x00000000000000000000000000000000000000bB' as Address;
const MEMBER = '0x00000000000000000000000000000000000000cC' as Address;
const NOW = 2_000_000_000n;

const member = (roles: string[], over: Partial<Extract<Requester, { kind: 'member' }>> = {}): Requester => ({
  kind: 'member',
  address: MEMBER,
  roles: rolesToMask(roles),
  active: true,
  admission: 1,
  self: false,
  ...over,
});
const grant = (categories: string[], purposes: string[], over: Partial<GrantTerms> = {}): GrantTerms => ({
  categories: categoriesToMask(categories),
  purposes: purposesToMask(purposes),
  validFrom: NOW - 60n,
  expiry: NOW + 3600n,
  granteeAdmission: 1,
  ...over,
});
const ask = (over: Partial<AccessRequest> = {}): AccessRequest => ({
  requester: member(['CLINIC']),
  userRole: 'clinician',
  purpose: 'treatment',
  breakGlass: false,
  patient: PATIENT,
  categories: ALL_CATEGORIES,
  at: NOW,
  ...over,
});
const none = { grant: undefined, breakGlassRecent: 0 };
const reasonOf = (d: Decision) => (d.permit ? `permit:${d.basis}` : `deny:${d.reason}`);

describe('the access decision', () => {
  test('each rule, in order', () => {
    const labs = grant(['labs'], ['treatment']);
    const cases: [
      string,
      AccessRequest,
      { grant: GrantTerms | undefined; breakGlassRecent: number },
      string,
    ][] = [
      [
        'the patient themself',
        ask({ requester: { kind: 'patient', address: PATIENT }, userRole: null }),
        none,
        'permit:patient',
      ],
      [
        'another patient',
        ask({ requester: { kind: 'patient', address: OTHER }, userRole: null }),
        none,
        'deny:not-the-patient',
      ],
      [
        'a removed member',
        ask({ requester: member(['CLINIC'], { active: false, roles: 0 }) }),
        { ...none, grant: labs },
        'deny:not-a-member',
      ],
      [
        'billing claiming treatment',
        ask({ userRole: 'billing' }),
        { ...none, grant: labs },
        'deny:purpose-role',
      ],
      [
        'an insurer claiming treatment',
        ask({ requester: member(['INSURER']) }),
        { ...none, grant: labs },
        'deny:purpose-member',
      ],
      [
        'a manufacturer for payment',
        ask({ requester: member(['MANUFACTURER']), userRole: 'billing', purpose: 'payment' }),
        { ...none, grant: grant(['general'], ['payment']) },
        'deny:purpose-member',
      ],
      [
        'break-glass by a clinician',
        ask({ breakGlass: true, purpose: 'emergency' }),
        none,
        'deny:purpose-role',
      ],
      [
        'break-glass by an insurer',
        ask({
          requester: member(['INSURER']),
          userRole: 'emergency-clinician',
          breakGlass: true,
          purpose: 'emergency',
        }),
        none,
        'deny:purpose-member',
      ],
      [
        'break-glass by a lab',
        ask({
          requester: member(['LAB']),
          userRole: 'emergency-clinician',
          breakGlass: true,
          purpose: 'emergency',
        }),
        none,
        'deny:purpose-member',
      ],
      [
        'break-glass over the limit',
        ask({ userRole: 'emergency-clinician', breakGlass: true, purpose: 'emergency' }),
        { ...none, breakGlassRecent: BREAK_GLASS_PER_HOUR },
        'deny:break-glass-limit',
      ],
      [
        'break-glass by a hospital',
        ask({
          requester: member(['HOSPITAL']),
          userRole: 'emergency-clinician',
          breakGlass: true,
          purpose: 'emergency',
        }),
        none,
        'permit:break-glass',
      ],
      [
        'emergency purpose without break-glass',
        ask({ userRole: 'emergency-clinician', purpose: 'emergency' }),
        none,
        'deny:break-glass-role',
      ],
      ['the custodian itself', ask({ requester: member(['LAB'], { self: true }) }), none, 'permit:custodian'],
      ['no grant', ask(), none, 'deny:no-consent'],
      ['a grant', ask(), { ...none, grant: labs }, 'permit:consent'],
      [
        'a grant for another purpose',
        ask(),
        { ...none, grant: grant(['labs'], ['research']) },
        'deny:no-consent',
      ],
      [
        'an expired grant',
        ask(),
        { ...none, grant: grant(['labs'], ['treatment'], { expiry: NOW }) },
        'deny:no-consent',
      ],
      [
        'a grant not yet valid',
        ask(),
        { ...none, grant: grant(['labs'], ['treatment'], { validFrom: NOW + 1n }) },
        'deny:no-consent',
      ],
      [
        'a grant to an earlier admission',
        ask({ requester: member(['CLINIC'], { admission: 2 }) }),
        { ...none, grant: labs },
        'deny:no-consent',
      ],
      [
        'a grant, asking only for what it does not cover',
        ask({ categories: categoriesToMask(['mental-health']) }),
        { ...none, grant: labs },
        'deny:no-consent',
      ],
      [
        'records with no patient address',
        ask({ patient: null }),
        { ...none, grant: labs },
        'deny:no-patient',
      ],
    ];
    for (const [name, req, state, expected] of cases)
      assert.equal(reasonOf(decide(req, state)), expected, name);
  });

  test('a grant releases exactly its categories; a record needs every one of its bits covered', () => {
    const d = decide(ask(), { ...none, grant: grant(['labs', 'mental-health'], ['treatment']) });
    assert.ok(d.permit);
    assert.equal(d.categories, categoriesToMask(['labs', 'mental-health']));
    assert.equal(d.withheld, ALL_CATEGORIES & ~categoriesToMask(['labs', 'mental-health']));
    assert.ok(covers(d, categoriesToMask(['labs'])));
    assert.ok(covers(d, categoriesToMask(['labs', 'mental-health'])));
    assert.ok(
      !covers(d, categoriesToMask(['general', 'mental-health'])),
      'a PSY Condition is general + mental health',
    );
    assert.ok(
      !covers(
        decide(ask(), { ...none, grant: grant(['general', 'mental-health'], ['treatment']) }),
        categoriesToMask(['general', 'mental-health', 'sexual-reproductive-health']),
      ),
      'a record labelled mental health AND HIV needs both',
    );
    assert.ok(!covers(d, 0), 'a record with no category is never released');
    assert.ok(!covers(decide(ask(), none), categoriesToMask(['general'])), 'a deny covers nothing');
  });

  test('properties: consent never releases more than the grant, every role acts only for its purposes, break-glass only for care members', () => {
    const roleNames = [
      'HOSPITAL',
      'CLINIC',
      'LAB',
      'INSURER',
      'PHARMACY',
      'MANUFACTURER',
      'DISTRIBUTOR',
      'REGULATOR',
    ];
    fc.assert(
      fc.property(
        fc.record({
          roles: fc.subarray(roleNames, { minLength: 1 }),
          active: fc.boolean(),
          self: fc.boolean(),
          admission: fc.integer({ min: 1, max: 3 }),
          userRole: fc.constantFrom(...USER_ROLES),
          purpose: fc.constantFrom('treatment', 'payment', 'operations', 'research', 'emergency' as const),
          asked: fc.integer({ min: 1, max: ALL_CATEGORIES }),
          grant: fc.option(
            fc.record({
              categories: fc.integer({ min: 1, max: ALL_CATEGORIES }),
              purposes: fc.integer({ min: 1, max: 15 }),
              validFrom: fc.bigInt({ min: NOW - 100n, max: NOW + 100n }),
              length: fc.bigInt({ min: 1n, max: 300n }),
              granteeAdmission: fc.integer({ min: 1, max: 3 }),
            }),
          ),
          recent: fc.integer({ min: 0, max: BREAK_GLASS_PER_HOUR + 1 }),
        }),
        (x) => {
          const g = x.grant ? { ...x.grant, expiry: x.grant.validFrom + x.grant.length } : undefined;
          const req = ask({
            requester: member(x.roles, { active: x.active, self: x.self, admission: x.admission }),
            userRole: x.userRole,
            purpose: x.purpose,
            breakGlass: x.purpose === 'emergency',
            categories: x.asked,
          });
          const d = decide(req, { grant: g, breakGlassRecent: x.recent });
          if (!d.permit) return d.withheld === x.asked;
          if ((d.categories & ~x.asked) !== 0) return false; // never more than asked
          if (!(ROLE_PURPOSES[x.userRole] as readonly string[]).includes(x.purpose)) return false;
          if (
            !x.self &&
            !x.roles.some((r) => (MEMBER_PURPOSES[r as 'HOSPITAL'] as readonly string[]).includes(x.purpose))
          )
            return false;
          if (d.basis === 'break-glass')
            return (
              x.userRole === 'emergency-clinician' &&
              x.roles.some((r) => r === 'HOSPITAL' || r === 'CLINIC') &&
              x.recent < BREAK_GLASS_PER_HOUR
            );
          if (d.basis === 'custodian') return x.self;
          // consent: the grant in force, for this admission and purpose, and nothing beyond it
          return (
            !x.self &&
            x.active &&
            g !== undefined &&
            g.granteeAdmission === x.admission &&
            NOW >= g.validFrom &&
            NOW < g.expiry &&
            (d.categories & ~g.categories) === 0 &&
            d.categories === (g.categories & x.asked)
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
