import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { admitByVote, removeMember } from '../../test/support/membership.js';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import type { ChainError } from './chainError.js';
import { type GrantTerms, grantPermits } from './consentModel.js';
import { signGrant, signRevoke } from './consentSignatures.js';
import { consentAbi } from './generated/index.js';
import { writeAndWait } from './transact.js';

let t: TestChain;
before(async () => {
  t = await startTestChain({ memberCount: 3 });
});
after(() => t.close());

type Op =
  | {
      kind: 'grant';
      grantee: number;
      categories: number;
      purposes: number;
      from: number;
      length: number;
      /** Signed for the grantee's current admission plus this (0: current; else stale or not yet). */
      admissionOffset: number;
    }
  | { kind: 'revoke'; grantee: number }
  | { kind: 'advance'; seconds: number }
  // Membership: members 1 and 2 may be removed and re-admitted; member 0 relays and stays.
  | { kind: 'remove'; grantee: number }
  | { kind: 'readmit'; grantee: number }
  | { kind: 'cycle'; grantee: number };

const BASE = 2_000_000_000n; // a fixed model clock; isPermitted takes the time as an argument

// Grants weigh most: most checks need a grant in force to be interesting.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      grantee: fc.integer({ min: 0, max: 2 }),
      categories: fc.integer({ min: 1, max: 0xff }),
      purposes: fc.integer({ min: 1, max: 0xf }),
      from: fc.integer({ min: -100, max: 100 }),
      length: fc.integer({ min: 1, max: 300 }),
      admissionOffset: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.constantFrom(-1, 1) },
      ),
    }),
  },
  fc.record({ kind: fc.constant('revoke' as const), grantee: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ kind: fc.constant('remove' as const), grantee: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant('readmit' as const), grantee: fc.integer({ min: 1, max: 2 }) }),
  // Removed and admitted again at once: the case where old grants must not come back.
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('cycle' as const), grantee: fc.integer({ min: 1, max: 2 }) }),
  },
);
const queryArb = fc.record({
  grantee: fc.integer({ min: 0, max: 2 }),
  // Half of the queries ask about the member the step's operation touched (just re-admitted,
  // just granted...), where a stale answer would show.
  sameGrantee: fc.boolean(),
  category: fc.integer({ min: 0, max: 7 }),
  purpose: fc.integer({ min: 0, max: 3 }),
  // Half of the queries ask for a category and purpose inside the current grant's scope, so that
  // "permitted" answers are common enough to test.
  inScope: fc.boolean(),
  dt: fc.integer({ min: -150, max: 350 }),
  // Half of the queries probe a boundary of the grantee's current grant (validFrom-1, validFrom,
  // expiry-1, expiry), where off-by-one mistakes live, or its middle, where it is surely in force.
  boundary: fc.option(fc.integer({ min: 0, max: 4 }), { freq: 2 }),
});

/** The i-th set bit of `mask` (cyclically) when `inScope`, else bit i itself. */
function pickBit(i: number, mask: number | undefined, inScope: boolean): number {
  if (!inScope || !mask) return 1 << i;
  const bits = [...Array(8).keys()].map((b) => 1 << b).filter((b) => (mask & b) !== 0);
  return bits[i % bits.length] as number;
}

function queryTime(clock: bigint, dt: number, boundary: number | null, g: GrantTerms | undefined): bigint {
  if (boundary === null || !g) return clock + BigInt(dt);
  const middle = (g.validFrom + g.expiry) / 2n;
  return [g.validFrom - 1n, g.validFrom, g.expiry - 1n, g.expiry, middle][boundary] as bigint;
}

interface Membership {
  active: boolean;
  admission: number;
}
/** The model's membership of the three genesis members; it persists across runs, like the chain. */
const membership: Membership[] = [0, 1, 2].map(() => ({ active: true, admission: 1 }));
const memberOf = (i: number) => membership[i] as Membership;

test('isPermitted agrees with the reference model over random grants, revokes, time jumps, removals and re-admissions', async () => {
  const relayer = t.members[0] as TestMember;
  const grantees: Address[] = t.members.map((m) => m.input.account);
  const deadline = (await t.conn.publicClient.getBlock()).timestamp + 86_400n;
  const remove = async (i: number) => {
    const m = memberOf(i);
    if (!m.active) return;
    await removeMember(t, t.members[i] as TestMember);
    m.active = false;
  };
  const readmit = async (i: number) => {
    const m = memberOf(i);
    if (m.active) return;
    await admitByVote(t, t.members[i] as TestMember);
    m.active = true;
    m.admission++;
  };
  /** The chain's membership must be the model's before a run and after each membership change. */
  const sameMembership = async (what: string) => {
    for (const [i, m] of membership.entries()) {
      const a = grantees[i] as Address;
      assert.deepEqual(
        {
          active: await t.contracts.registry.read.isActiveMember([a]),
          admission: await t.contracts.registry.read.admissionOf([a]),
        },
        m,
        `member ${i} ${what}`,
      );
    }
  };
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(opArb, fc.array(queryArb, { minLength: 1, maxLength: 5 })), { maxLength: 10 }),
      async (steps) => {
        await sameMembership('at the start of a run');
        const patient = privateKeyToAccount(generatePrivateKey());
        const model = new Map<number, GrantTerms>();
        let clock = BASE;
        let nonce = 0n;
        for (const [op, queries] of steps) {
          if (op.kind === 'advance') {
            clock += BigInt(op.seconds);
          } else if (op.kind === 'grant') {
            const member = memberOf(op.grantee);
            const terms: GrantTerms = {
              granteeAdmission: Math.max(0, member.admission + op.admissionOffset),
              categories: op.categories,
              purposes: op.purposes,
              validFrom: clock + BigInt(op.from),
              expiry: clock + BigInt(op.from + op.length),
            };
            const g = {
              patient: patient.address,
              grantee: grantees[op.grantee] as Address,
              ...terms,
              nonce,
              deadline,
            };
            const sent = writeAndWait(t.conn, relayer.wallet, {
              address: t.manifest.contracts.Consent,
              abi: consentAbi,
              functionName: 'grantWithSig',
              args: [g, await signGrant(patient, t.manifest, g)],
            });
            // A refused grant changes nothing, not even the nonce.
            const refusal = !member.active
              ? 'ConsentGranteeNotMember'
              : terms.granteeAdmission !== member.admission
                ? 'ConsentStaleAdmission'
                : undefined;
            if (refusal) {
              await assert.rejects(sent, (e: ChainError) => {
                assert.equal(e.code, refusal, e.message);
                return true;
              });
            } else {
              await sent;
              model.set(op.grantee, terms);
              nonce++;
            }
          } else if (op.kind === 'revoke') {
            const r = { patient: patient.address, grantee: grantees[op.grantee] as Address, nonce, deadline };
            await writeAndWait(t.conn, relayer.wallet, {
              address: t.manifest.contracts.Consent,
              abi: consentAbi,
              functionName: 'revokeWithSig',
              args: [r, await signRevoke(patient, t.manifest, r)],
            });
            model.delete(op.grantee);
            nonce++;
          } else {
            if (op.kind === 'remove' || op.kind === 'cycle') await remove(op.grantee);
            if (op.kind === 'readmit' || op.kind === 'cycle') await readmit(op.grantee);
            await sameMembership(`after ${op.kind}`);
          }
          for (const query of queries) {
            const q = {
              ...query,
              grantee: query.sameGrantee && 'grantee' in op ? op.grantee : query.grantee,
            };
            const g = model.get(q.grantee);
            const at = queryTime(clock, q.dt, q.boundary, g);
            const category = pickBit(q.category, g?.categories, q.inScope);
            const purpose = pickBit(q.purpose, g?.purposes, q.inScope);
            const onChain = await t.contracts.consent.read.isPermitted([
              patient.address,
              grantees[q.grantee] as Address,
              category,
              purpose,
              at,
            ]);
            const expected = grantPermits(g, memberOf(q.grantee), category, purpose, at);
            assert.equal(
              onChain,
              expected,
              `grantee ${q.grantee} category ${category} purpose ${purpose} at ${at}`,
            );
            const stored = await t.contracts.consent.read.getGrant([
              patient.address,
              grantees[q.grantee] as Address,
            ]);
            assert.deepEqual(
              stored,
              g ?? { granteeAdmission: 0, categories: 0, purposes: 0, validFrom: 0n, expiry: 0n },
              `stored grant of grantee ${q.grantee}`,
            );
          }
        }
      },
    ),
    { numRuns: 50 },
  );
});
