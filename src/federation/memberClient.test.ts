import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { verifyMemberAuth } from '../access/memberAuth.js';
import { verifyMemberMac } from '../access/memberMac.js';
import { MemberMacKeys, type RegistryKeyOf } from '../access/memberMacKeys.js';
import { ReplayGuard } from '../access/replayGuard.js';
import { generateX25519 } from '../crypto/x25519.js';
import { postLookup, postSigned } from './memberClient.js';

const party = () => {
  const signer = privateKeyToAccount(generatePrivateKey());
  return { signer, address: signer.address, ...generateX25519() };
};
const a = party();
const b = party();
const domain = { chainId: 31337, registry: privateKeyToAccount(generatePrivateKey()).address };
const registry = new Map<Address, { active: boolean; encryptionKey: Uint8Array }>();
const member: RegistryKeyOf = async (x) =>
  registry.get(x) ?? { active: false, encryptionKey: new Uint8Array(32) };

/** B's node: answers with the member it authenticated and how ("mac", "signature" or none). */
let server: http.Server;
let endpoint: string;
const atB = new MemberMacKeys(b, domain, member);
const guard = new ReplayGuard();
before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', async () => {
      const h = req.headers.authorization;
      const url = req.url ?? '';
      const mac = await verifyMemberMac(h, b.address, 'POST', url, body, guard, atB.callerKey);
      const signed = mac ? undefined : await verifyMemberAuth(h, b.address, 'POST', url, body, guard);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ by: mac ?? signed ?? null, scheme: mac ? 'mac' : signed ? 'signature' : null }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

describe('member client', () => {
  test('a lookup goes with a MAC the target accepts; what is kept as evidence goes signed', async () => {
    registry.set(a.address, { active: true, encryptionKey: a.publicKey });
    registry.set(b.address, { active: true, encryptionKey: b.publicKey });
    const target = { address: b.address, endpoint, name: 'B', encryptionKey: b.publicKey };
    const caller = { signer: a.signer, macs: new MemberMacKeys(a, domain, member) };
    const lookup = await postLookup(caller, target, '/federation/supply/verify', '{"x":1}');
    assert.deepEqual(lookup.kind === 'ok' && lookup.body, { by: a.address, scheme: 'mac' });
    // Without the target's key at hand, it is read from the Registry.
    const { encryptionKey: _, ...bare } = target;
    const read = await postLookup(caller, bare, '/federation/supply/verify', '{"x":2}');
    assert.deepEqual(read.kind === 'ok' && read.body, { by: a.address, scheme: 'mac' });
    const signed = await postSigned(a.signer, target, '/federation/supply/notice', '{"x":3}');
    assert.deepEqual(signed.kind === 'ok' && signed.body, { by: a.address, scheme: 'signature' });
  });

  test('a lookup is signed when no MAC could be accepted: own Registry key not the node’s, or no MAC keys', async () => {
    registry.set(a.address, { active: true, encryptionKey: generateX25519().publicKey });
    const target = { address: b.address, endpoint, name: 'B', encryptionKey: b.publicKey };
    const stale = await postLookup(
      { signer: a.signer, macs: new MemberMacKeys(a, domain, member) },
      target,
      '/federation/search',
      '{"x":4}',
    );
    assert.deepEqual(stale.kind === 'ok' && stale.body, { by: a.address, scheme: 'signature' });
    const none = await postLookup({ signer: a.signer }, target, '/federation/search', '{"x":5}');
    assert.deepEqual(none.kind === 'ok' && none.body, { by: a.address, scheme: 'signature' });
  });
});
