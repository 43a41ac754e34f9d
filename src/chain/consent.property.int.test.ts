import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
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
  | { kind: 'grant'; grantee: number; categories: number; purposes: number; from: number; length: number }
  | { kind: 'revoke'; grantee: number }
  | { kind: 'advance'; seconds: number };

const BASE = 2_000_000_000n; // a fixed model clock; isPermitted takes the time as an argument

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('grant' as const),
    grantee: fc.integer({ min: 0, max: 2 }),
    categories: fc.integer({ min: 1, max: 0xff }),
    purposes: fc.integer({ min: 1, max: 0xf }),
    from: fc.integer({ min: -100, max: 100 }),
    length: fc.integer({ min: 1, max: 300 }),
  }),
  fc.record({ kind: fc.constant('revoke' as const), grantee: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 200 }) }),
);
const queryArb = fc.record({
  grantee: fc.integer({ min: 0, max: 2 }),
  category: fc.integer({ min: 0, max: 7 }),
  purpose: fc.integer({ min: 0, max: 3 }),
  // Half of the queries ask for a category and purpose inside the current grant's scope, so that
  // "permitted" answers are common enough to test.
  inScope: fc.boolean(),
  dt: fc.integer({ min: -150, max: 350 }),
  // Half of the queries probe a boundary of the grantee's current grant (validFrom-1, validFrom,
  // expiry-1, expiry), where off-by-one mistakes live.
  boundary: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 2 }),
});

/** The i-th set bit of `mask` (cyclically) when `inScope`, else bit i itself. */
function pickBit(i: number, mask: number | undefined, inScope: boolean): number {
  if (!inScope || !mask) return 1 << i;
  const bits = [...Array(8).keys()].map((b) => 1 << b).filter((b) => (mask & b) !== 0);
  return bits[i % bits.length] as number;
}

function queryTime(clock: bigint, dt: number, boundary: number | null, g: GrantTerms | undefined): bigint {
  if (boundary === null || !g) return clock + BigInt(dt);
  return [g.validFrom - 1n, g.validFrom, g.expiry - 1n, g.expiry][boundary] as bigint;
}

test('isPermitted agrees with the reference model over random grants, revokes and time jumps', async () => {
  const relayer = t.members[0] as TestMember;
  const grantees: Address[] = t.members.map((m) => m.input.account);
  const deadline = (await t.conn.publicClient.getBlock()).timestamp + 86_400n;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(opArb, fc.array(queryArb, { minLength: 1, maxLength: 3 })), { maxLength: 10 }),
      async (steps) => {
        const patient = privateKeyToAccount(generatePrivateKey());
        const model = new Map<number, GrantTerms>();
        let clock = BASE;
        let nonce = 0n;
        for (const [op, queries] of steps) {
          if (op.kind === 'advance') {
            clock += BigInt(op.seconds);
          } else if (op.kind === 'grant') {
            const terms: GrantTerms = {
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
            await writeAndWait(t.conn, relayer.wallet, {
              address: t.manifest.contracts.Consent,
              abi: consentAbi,
              functionName: 'grantWithSig',
              args: [g, await signGrant(patient, t.manifest, g)],
            });
            model.set(op.grantee, terms);
            nonce++;
          } else {
            const r = { patient: patient.address, grantee: grantees[op.grantee] as Address, nonce, deadline };
            await writeAndWait(t.conn, relayer.wallet, {
              address: t.manifest.contracts.Consent,
              abi: consentAbi,
              functionName: 'revokeWithSig',
              args: [r, await signRevoke(patient, t.manifest, r)],
            });
            model.delete(op.grantee);
            nonce++;
          }
          for (const q of queries) {
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
            const expected = grantPermits(g, true, category, purpose, at);
            assert.equal(
              onChain,
              expected,
              `grantee ${q.grantee} category ${category} purpose ${purpose} at ${at}`,
            );
          }
        }
      },
    ),
    { numRuns: 30 },
  );
});
