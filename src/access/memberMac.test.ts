import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type MacDomain, pairwiseMacKey } from '../crypto/pairwiseKey.js';
import { generateX25519 } from '../crypto/x25519.js';
import { MEMBER_AUTH_WINDOW_MS, memberAuthHeader } from './memberAuth.js';
import { memberMacFields, memberMacHeader, verifyMemberMac } from './memberMac.js';
import { MemberMacKeys, type RegistryKeyOf } from './memberMacKeys.js';
import { ReplayGuard } from './replayGuard.js';

const T = 1_750_000_000_000;
const domain: MacDomain = { chainId: 31337, registry: privateKeyToAccount(generatePrivateKey()).address };
const party = () => {
  const account = privateKeyToAccount(generatePrivateKey());
  return { account, address: account.address, ...generateX25519() };
};
const a = party();
const b = party();
const c = party();
const kAB = pairwiseMacKey(a, { address: b.address, publicKey: b.publicKey }, 'to-peer', domain);
/** B's view of who may call: `members` active with their Registry keys. */
const keyAtB =
  (members: { address: Address; publicKey: Uint8Array; active?: boolean }[]) => async (caller: Address) => {
    const m = members.find((x) => x.address === caller);
    return m && m.active !== false
      ? pairwiseMacKey(b, { address: caller, publicKey: m.publicKey }, 'from-peer', domain)
      : undefined;
  };

describe('member request MACs', () => {
  test('a header is good once, for exactly its request, within the window', async () => {
    const header = memberMacHeader(kAB, a.address, b.address, 'POST', '/federation/search?x=1', '{"a":1}', T);
    const check = (guard: ReplayGuard, h: string, over: Partial<Record<string, string | number>> = {}) =>
      verifyMemberMac(
        h,
        (over.self as Address) ?? b.address,
        (over.method as string) ?? 'POST',
        (over.target as string) ?? '/federation/search?x=1',
        (over.body as string) ?? '{"a":1}',
        guard,
        keyAtB([a]),
        (over.now as number) ?? T + 1000,
      );
    const cases: [string, Partial<Record<string, string | number>>][] = [
      ['another method', { method: 'GET' }],
      ['another path', { target: '/federation/replica/search?x=1' }],
      ['another query', { target: '/federation/search?x=2' }],
      ['another body', { body: '{"a":2}' }],
      ['another member', { self: c.address }],
      ['too old', { now: T + MEMBER_AUTH_WINDOW_MS + 1 }],
      ['too far ahead', { now: T - MEMBER_AUTH_WINDOW_MS - 1 }],
    ];
    for (const [name, over] of cases)
      assert.equal(await check(new ReplayGuard(() => T), header, over), undefined, name);
    const guard = new ReplayGuard(() => T);
    assert.equal(await check(guard, header), a.address);
    assert.equal(await check(guard, header), undefined, 'replayed');
  });

  test('corrupt it and it fails: every bit of the MAC, and every other key', async () => {
    const header = memberMacHeader(kAB, a.address, b.address, 'GET', '/log/head', '', T);
    const f = memberMacFields(header);
    assert.ok(f);
    const verify = (h: string, keyOf = keyAtB([a])) =>
      verifyMemberMac(h, b.address, 'GET', '/log/head', '', new ReplayGuard(() => T), keyOf, T);
    for (let bit = 0; bit < 256; bit += 7) {
      const mac: Buffer = Buffer.from(f.mac);
      mac[bit >> 3] = (mac[bit >> 3] as number) ^ (1 << (bit & 7));
      const h: string = header.replace(/mac=[0-9a-f]+$/, `mac=${mac.toString('hex')}`);
      assert.equal(await verify(h), undefined, `bit ${bit} flipped`);
    }
    const under = (k: Uint8Array, from = a.address) =>
      memberMacHeader(k, from, b.address, 'GET', '/log/head', '', T);
    const others: [string, string][] = [
      [
        'C’s key with B, as A',
        under(pairwiseMacKey(c, { address: b.address, publicKey: b.publicKey }, 'to-peer', domain)),
      ],
      [
        'the A–C key, as A',
        under(pairwiseMacKey(a, { address: c.address, publicKey: c.publicKey }, 'to-peer', domain)),
      ],
      [
        'the B -> A key',
        under(pairwiseMacKey(b, { address: a.address, publicKey: a.publicKey }, 'to-peer', domain)),
      ],
      [
        'A’s key under another Registry',
        under(
          pairwiseMacKey(a, { address: b.address, publicKey: b.publicKey }, 'to-peer', {
            ...domain,
            registry: c.address,
          }),
        ),
      ],
    ];
    for (const [name, h] of others) assert.equal(await verify(h, keyAtB([a, c])), undefined, name);
    assert.equal(await verify(header), a.address, 'the control');
    assert.equal(await verify(header, keyAtB([{ ...a, active: false }])), undefined, 'a removed member');
    assert.equal(
      await verify(header, keyAtB([{ ...a, publicKey: generateX25519().publicKey }])),
      undefined,
      'after a key change',
    );
  });

  test('one spelling only', async () => {
    const header = memberMacHeader(kAB, a.address, b.address, 'GET', '/log/head', '', T);
    const mac = /mac=([0-9a-f]{64})$/.exec(header)?.[1] as string;
    const pre = `MedchainMemberMac address=${a.address},timestamp=${T},mac=`;
    const bad: [string, string | undefined][] = [
      ['missing', undefined],
      ['empty', ''],
      ['uppercase', `${pre}${mac.toUpperCase()}`],
      ['0x', `${pre}0x${mac}`],
      ['63 digits', `${pre}${mac.slice(0, 63)}`],
      ['65 digits', `${pre}${mac}0`],
      ['base64', `${pre}${Buffer.from(mac, 'hex').toString('base64')}`],
      ['spaces', `MedchainMemberMac address=${a.address}, timestamp=${T}, mac=${mac}`],
      ['extra field', `${pre}${mac},x=1`],
      ['reordered', `MedchainMemberMac timestamp=${T},address=${a.address},mac=${mac}`],
      ['lowercase address', `MedchainMemberMac address=${a.address.toLowerCase()},timestamp=${T},mac=${mac}`],
      ['leading zero', `MedchainMemberMac address=${a.address},timestamp=0${T},mac=${mac}`],
      ['the signature scheme', `MedchainMember address=${a.address},timestamp=${T},mac=${mac}`],
      ['over long', `${pre}${mac}${' '.repeat(300)}`],
    ];
    for (const [name, h] of bad) {
      assert.equal(memberMacFields(h), undefined, name);
      assert.equal(
        await verifyMemberMac(h, b.address, 'GET', '/log/head', '', new ReplayGuard(() => T), keyAtB([a]), T),
        undefined,
        name,
      );
    }
    assert.ok(memberMacFields(header));
  });

  test('a request used with a signature cannot be used again with a MAC (one guard, keyed on the message)', async () => {
    const guard = new ReplayGuard(() => T);
    const { verifyMemberAuth } = await import('./memberAuth.js');
    const signed = await memberAuthHeader(a.account, b.address, 'GET', '/log/head', '', T);
    assert.equal(await verifyMemberAuth(signed, b.address, 'GET', '/log/head', '', guard, T), a.address);
    const mac = memberMacHeader(kAB, a.address, b.address, 'GET', '/log/head', '', T);
    assert.equal(
      await verifyMemberMac(mac, b.address, 'GET', '/log/head', '', guard, keyAtB([a]), T),
      undefined,
    );
  });
});

describe('MemberMacKeys', () => {
  const registry =
    (entries: Map<Address, { active: boolean; encryptionKey: Uint8Array }>): RegistryKeyOf =>
    async (x) =>
      entries.get(x) ?? { active: false, encryptionKey: new Uint8Array(32) };

  test('the sender’s header is accepted by the receiver; removal and key changes take effect at once', async () => {
    const entries = new Map([
      [a.address, { active: true, encryptionKey: a.publicKey }],
      [b.address, { active: true, encryptionKey: b.publicKey }],
    ]);
    const atA = new MemberMacKeys(a, domain, registry(entries));
    const atB = new MemberMacKeys(b, domain, registry(entries));
    const send = async () => {
      const h = await atA.headerFor({ address: b.address }, 'POST', '/federation/supply/verify', '{}');
      assert.ok(h, 'A makes a MAC header');
      return verifyMemberMac(
        h,
        b.address,
        'POST',
        '/federation/supply/verify',
        '{}',
        new ReplayGuard(),
        atB.callerKey,
      );
    };
    assert.equal(await send(), a.address);
    entries.set(a.address, { active: false, encryptionKey: a.publicKey });
    assert.equal(await atB.callerKey(a.address), undefined, 'a removed member has no key at B');
    entries.set(a.address, { active: true, encryptionKey: a.publicKey });
    const before = await atB.callerKey(a.address);
    entries.set(a.address, { active: true, encryptionKey: generateX25519().publicKey });
    const after = await atB.callerKey(a.address);
    assert.ok(
      before && after && Buffer.from(before).toString('hex') !== Buffer.from(after).toString('hex'),
      'a key change gives another key',
    );
    assert.equal(
      await atA.headerFor({ address: b.address }, 'GET', '/log/head', ''),
      undefined,
      'A’s Registry key is no longer its node’s: it signs instead',
    );
  });

  test('no MAC with a peer whose Registry key gives no secret', async () => {
    const entries = new Map([
      [a.address, { active: true, encryptionKey: a.publicKey }],
      [c.address, { active: true, encryptionKey: new Uint8Array(32) }],
    ]);
    const atA = new MemberMacKeys(a, domain, registry(entries));
    assert.equal(await atA.headerFor({ address: c.address }, 'GET', '/log/head', ''), undefined);
    assert.equal(await atA.callerKey(c.address), undefined);
  });
});

describe('ReplayGuard', () => {
  test('forgets what expired, second by second, and never what is still fresh', () => {
    let now = T;
    const guard = new ReplayGuard(() => now);
    for (let i = 0; i < 1000; i++) assert.equal(guard.firstUse(`m${i}`, now + 2_000), true);
    now += 1_999;
    assert.equal(guard.firstUse('m0', now + 2_000), false, 'still fresh: refused');
    now += 2;
    assert.equal(guard.firstUse('x', now + 2_000), true);
    now += 1_000;
    assert.equal(guard.firstUse('y', now + 2_000), true);
    assert.ok(guard.size <= 3, `expired entries are dropped (${guard.size} held)`);
    assert.equal(guard.firstUse('x', now + 2_000), false, 'x is still fresh');
  });
});
