/**
 * Attacks on member request MACs (README entry 27): the `MedchainMemberMac` Authorization of
 * lookups between members (src/access/memberMac.ts), an HMAC-SHA256 under a directional pairwise
 * key from the two members' Registry X25519 keys. Four member nodes over real sockets
 * (test/support/supplyNetwork.ts, seeded like `medchain up`): the pharmacy (A) asks the
 * manufacturer (B, the GTIN responder) about a pack it holds, at `POST /federation/supply/verify`;
 * the hospital (C) is the third member that tries to pass as A.
 *
 * Every refusal must be the one same 401 (status and body), whichever check failed; every test
 * has a control that B accepts, so a node that refused every MAC could not pass. Requests are sent
 * each from its own loopback source address, so the per-client throttle of unauthenticated
 * requests (20 a minute) never answers in place of the check under test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Address, getAddress, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { memberAuthHeader } from '../../src/access/memberAuth.js';
import { memberMacHeader } from '../../src/access/memberMac.js';
import { walletFor } from '../../src/chain/clients.js';
import { registryAbi } from '../../src/chain/generated/index.js';
import { writeAndWait } from '../../src/chain/transact.js';
import { type MacDomain, pairwiseMacKey } from '../../src/crypto/pairwiseKey.js';
import { generateX25519 } from '../../src/crypto/x25519.js';
import { supplyVerifyRequestBody } from '../../src/federation/wire.js';
import { decodeEntry } from '../../src/log/entry.js';
import type { DemoUnit } from '../../src/node/seed/seedSupply.js';
import { SUPPLY_VERIFY_PATH } from '../../src/supply/verificationRequester.js';
import { type Answer, request } from '../support/attackNetwork.js';
import { type SupplyMemberName, type SupplyNetwork, startSupplyNetwork } from '../support/supplyNetwork.js';

let net: SupplyNetwork;
let domain: MacDomain;
/** The 401 every refused MAC gets (a MAC of all zeros), which every other refusal must equal. */
let refusal: Answer;

const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const addressOf = (m: SupplyMemberName) => net.members[m].identity.address;
/** The member's X25519 key pair as its key file holds it (a test may replace it, see 27e). */
const keyPairs = new Map<SupplyMemberName, { privateKey: Uint8Array; publicKey: Uint8Array }>();
const keysOf = (m: SupplyMemberName) => {
  const k = keyPairs.get(m) ?? {
    privateKey: bytes(net.members[m].identity.encryptionPrivateKey),
    publicKey: bytes(net.members[m].identity.encryptionPublicKey),
  };
  keyPairs.set(m, k);
  return k;
};

/** The key `from` uses for its requests to `to` (what `from` computes from its own private key). */
const keyFromTo = (from: SupplyMemberName, to: SupplyMemberName, d: MacDomain = domain) =>
  pairwiseMacKey(
    { address: addressOf(from), privateKey: keysOf(from).privateKey },
    { address: addressOf(to), publicKey: keysOf(to).publicKey },
    'to-peer',
    d,
  );

/** A verification request body about the first pack of the lot the seed left at the pharmacy. */
let pack: DemoUnit;
const verifyBody = () =>
  supplyVerifyRequestBody({
    gtin: pack.gtin,
    serial: pack.serial,
    lot: pack.lot,
    expiry: pack.expiry,
    corrUUID: randomUUID(),
  });

let source = 0;
/** A loopback source address not used before in this file (127.0.2.1, 127.0.2.2, ...). */
const freshSource = () => {
  source++;
  return `127.0.${2 + Math.floor(source / 250)}.${1 + (source % 250)}`;
};

/** POST `body` to `path` at `to` with `authorization`, from a fresh client address. */
const post = (to: SupplyMemberName, path: string, body: string, authorization: string) =>
  request(`${net.url(to)}${path}`, {
    method: 'POST',
    from: freshSource(),
    headers: { authorization },
    body,
  });

/** A MAC header as `from`'s node makes it for a request to `to` (key: `from` -> `to`). */
const macOf = (
  from: SupplyMemberName,
  to: SupplyMemberName,
  path: string,
  body: string,
  opts: { key?: Uint8Array; address?: Address; toAddress?: Address; timestamp?: number } = {},
) =>
  memberMacHeader(
    opts.key ?? keyFromTo(from, to),
    opts.address ?? addressOf(from),
    opts.toAddress ?? addressOf(to),
    'POST',
    path,
    body,
    opts.timestamp ?? Date.now(),
  );

/** Verifications B logged for `caller` so far (every answer is logged before it is sent). */
const verificationsLoggedFor = (caller: SupplyMemberName) => {
  const log = net.members.manufacturer.node?.log;
  assert.ok(log, 'the manufacturer is served');
  return log
    .entries(0, log.size)
    .map((e) => decodeEntry(e.leaf))
    .filter((e) => e.action === 'supply-verify' && e.actor === `member:${addressOf(caller)}`).length;
};

/** Collects what B accepted that it must have refused, or refused in another shape than `refusal`. */
function problems() {
  const found: string[] = [];
  return {
    found,
    /** `r` must be the MAC refusal (`anyShape`: any 401, for a header that is not of the scheme at all). */
    refused(what: string, r: Answer, anyShape = false) {
      if (r.status !== 401)
        found.push(`${what}: answered ${r.status} (${JSON.stringify(r.body).slice(0, 160)})`);
      else if (!anyShape && JSON.stringify(r.body) !== JSON.stringify(refusal.body))
        found.push(`${what}: refused in another shape, which tells the check: ${JSON.stringify(r.body)}`);
    },
    done() {
      assert.equal(found.length, 0, found.join('\n'));
    },
  };
}

/** A control B must accept: 200 and a verification answer. */
function accepted(what: string, r: Answer): void {
  assert.equal(
    r.status,
    200,
    `${what} (the control) must be answered: ${JSON.stringify(r.body).slice(0, 300)}`,
  );
  assert.equal(
    typeof (r.body as { data?: { verified?: unknown } }).data?.verified,
    'boolean',
    `${what}: an answer`,
  );
}

before(async () => {
  net = await startSupplyNetwork();
  await net.serve();
  domain = { chainId: net.manifest.chainId, registry: net.manifest.contracts.Registry };
  pack = net.units.find((u) => u.holder === addressOf('pharmacy')) as DemoUnit;
  assert.ok(pack, 'the seed leaves packs at the pharmacy');
  refusal = await post(
    'manufacturer',
    SUPPLY_VERIFY_PATH,
    verifyBody(),
    `MedchainMemberMac address=${addressOf('pharmacy')},timestamp=${Date.now()},mac=${'0'.repeat(64)}`,
  );
  assert.equal(refusal.status, 401, `a MAC of zeros is refused (${refusal.status})`);
});
after(() => net?.close());

describe('27. member request MACs', { timeout: 600_000 }, () => {
  test('27a. a third member cannot make a MAC the responder accepts as another member’s', async () => {
    const p = problems();
    const logged = verificationsLoggedFor('pharmacy');
    const asA = { address: addressOf('pharmacy') };
    // C's own key with B, presented as A's.
    let body = verifyBody();
    p.refused(
      'C’s key with B, sent as A',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('hospital', 'manufacturer', SUPPLY_VERIFY_PATH, body, asA),
      ),
    );
    // The key C shares with A (A -> C, which C can compute), presented to B as A's.
    body = verifyBody();
    p.refused(
      'the A–C key, sent to B as A',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, {
          key: keyFromTo('pharmacy', 'hospital'),
        }),
      ),
    );
    body = verifyBody();
    p.refused(
      'the C -> A key, sent to B as A',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, {
          key: keyFromTo('hospital', 'pharmacy'),
        }),
      ),
    );
    // Keys are directional: what B would use towards A is no key of A's towards B.
    body = verifyBody();
    p.refused(
      'the B -> A key (the other direction), sent as A',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, {
          key: keyFromTo('manufacturer', 'pharmacy'),
        }),
      ),
    );
    // A's key for another deployment (another Registry) is no key here.
    body = verifyBody();
    const elsewhere = { chainId: domain.chainId, registry: getAddress(toHex(1n, { size: 20 })) };
    p.refused(
      'A’s key under another Registry',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, {
          key: keyFromTo('pharmacy', 'manufacturer', elsewhere),
        }),
      ),
    );
    body = verifyBody();
    p.refused(
      'A’s key under another chain id',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, {
          key: keyFromTo('pharmacy', 'manufacturer', { ...domain, chainId: domain.chainId + 1 }),
        }),
      ),
    );
    p.done();
    assert.equal(
      verificationsLoggedFor('pharmacy'),
      logged,
      'no refused request was answered (logged as a verification)',
    );
    // Controls: A's own MAC, and C's own MAC as itself, are accepted.
    body = verifyBody();
    accepted(
      'A’s genuine MAC',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body),
      ),
    );
    body = verifyBody();
    accepted(
      'C’s genuine MAC as C',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('hospital', 'manufacturer', SUPPLY_VERIFY_PATH, body),
      ),
    );
    assert.equal(verificationsLoggedFor('pharmacy'), logged + 1, 'the control was logged once');
  });

  test('27b. a MAC header is single use, and a signature over the same request does not reopen it', async () => {
    const p = problems();
    const body = verifyBody();
    const t = Date.now();
    const header = macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, { timestamp: t });
    accepted('the MAC request itself', await post('manufacturer', SUPPLY_VERIFY_PATH, body, header));
    const logged = verificationsLoggedFor('pharmacy');
    p.refused('a verbatim replay', await post('manufacturer', SUPPLY_VERIFY_PATH, body, header));
    p.refused('a second replay', await post('manufacturer', SUPPLY_VERIFY_PATH, body, header));
    // The same request (same timestamp), now signed: single use is of the request, whatever the scheme.
    const signed = await memberAuthHeader(
      privateKeyToAccount(net.members.pharmacy.identity.chainKey),
      addressOf('manufacturer'),
      'POST',
      SUPPLY_VERIFY_PATH,
      body,
      t,
    );
    const again = await post('manufacturer', SUPPLY_VERIFY_PATH, body, signed);
    if (again.status !== 401) p.found.push(`the used request, signed instead: answered ${again.status}`);
    p.done();
    assert.equal(verificationsLoggedFor('pharmacy'), logged, 'no replay was answered');
  });

  test('27c. a MAC covers exactly its request: another body, path, query, target or method is refused', async () => {
    const p = problems();
    const body = verifyBody();
    const header = macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body);
    const logged = verificationsLoggedFor('pharmacy');
    p.refused('another body', await post('manufacturer', SUPPLY_VERIFY_PATH, verifyBody(), header));
    p.refused(
      'the body with a space added',
      await post('manufacturer', SUPPLY_VERIFY_PATH, `${body} `, header),
    );
    p.refused(
      'a query added to the path',
      await post('manufacturer', `${SUPPLY_VERIFY_PATH}?x=1`, body, header),
    );
    const forHead = memberMacHeader(
      keyFromTo('pharmacy', 'manufacturer'),
      addressOf('pharmacy'),
      addressOf('manufacturer'),
      'GET',
      '/log/head',
      '',
      Date.now(),
    );
    p.refused('a MAC for GET /log/head', await post('manufacturer', SUPPLY_VERIFY_PATH, body, forHead));
    const forPost = memberMacHeader(
      keyFromTo('pharmacy', 'manufacturer'),
      addressOf('pharmacy'),
      addressOf('manufacturer'),
      'POST',
      '/log/head',
      '',
      Date.now(),
    );
    const head = await request(`${net.url('manufacturer')}/log/head`, {
      from: freshSource(),
      headers: { authorization: forPost },
    });
    p.refused('a MAC for POST /log/head sent with GET', head);
    // Made for C as the target (A's key towards B, message to C): B is not C.
    const b2 = verifyBody();
    p.refused(
      'a MAC naming another target',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        b2,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, b2, { toAddress: addressOf('hospital') }),
      ),
    );
    // A's genuine MAC to C, sent to B.
    const b3 = verifyBody();
    p.refused(
      'A’s MAC for C, sent to B',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        b3,
        macOf('pharmacy', 'hospital', SUPPLY_VERIFY_PATH, b3),
      ),
    );
    p.done();
    assert.equal(verificationsLoggedFor('pharmacy'), logged, 'no refused request was answered');
    // Control: the header with the very request it was made for (none of the above used it up).
    accepted('the header with its own request', await post('manufacturer', SUPPLY_VERIFY_PATH, body, header));
    const okHead = await request(`${net.url('manufacturer')}/log/head`, {
      from: freshSource(),
      headers: {
        authorization: memberMacHeader(
          keyFromTo('pharmacy', 'manufacturer'),
          addressOf('pharmacy'),
          addressOf('manufacturer'),
          'GET',
          '/log/head',
          '',
          Date.now(),
        ),
      },
    });
    assert.equal(okHead.status, 200, `a MAC for GET /log/head is accepted there (${okHead.status})`);
  });

  test('27d. only the one canonical encoding is accepted (lowercase hex, 64 digits; checksummed address; no leading zeros)', async () => {
    const p = problems();
    const body = verifyBody();
    const t = Date.now();
    const header = macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, { timestamp: t });
    const m = /mac=([0-9a-f]{64})$/.exec(header)?.[1] as string;
    assert.ok(m, `the header ends with a 64-digit lowercase MAC: ${header}`);
    const a = addressOf('pharmacy');
    const prefix = `MedchainMemberMac address=${a},timestamp=${t},mac=`;
    // (Whitespace around a header value is not part of it in HTTP, so no variant pads the MAC.)
    const variants: [string, string, boolean?][] = [
      ['uppercase hex', `${prefix}${m.toUpperCase()}`],
      ['one uppercase digit', `${prefix}${m.replace(/[a-f]/, (c) => c.toUpperCase())}`],
      ['0x prefix', `${prefix}0x${m}`],
      ['63 digits', `${prefix}${m.slice(0, 63)}`],
      ['62 digits', `${prefix}${m.slice(0, 62)}`],
      ['66 digits', `${prefix}${m}00`],
      ['the first 16 bytes', `${prefix}${m.slice(0, 32)}`],
      ['base64', `${prefix}${Buffer.from(m, 'hex').toString('base64')}`],
      ['empty', prefix],
      ['spaces after the commas', `MedchainMemberMac address=${a}, timestamp=${t}, mac=${m}`],
      ['an extra field', `${prefix}${m},x=1`],
      ['the mac field twice', `${prefix}${m},mac=${m}`],
      ['fields in another order', `MedchainMemberMac timestamp=${t},address=${a},mac=${m}`],
      ['the scheme in lowercase', `medchainmembermac address=${a},timestamp=${t},mac=${m}`, true],
      ['a lowercase address', `MedchainMemberMac address=${a.toLowerCase()},timestamp=${t},mac=${m}`],
      ['a leading zero in the timestamp', `MedchainMemberMac address=${a},timestamp=0${t},mac=${m}`],
    ];
    const logged = verificationsLoggedFor('pharmacy');
    for (const [what, h, anyShape] of variants)
      p.refused(what, await post('manufacturer', SUPPLY_VERIFY_PATH, body, h), anyShape);
    // Stale and future: a genuine MAC over a timestamp outside the window.
    const b2 = verifyBody();
    p.refused(
      '3 minutes old',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        b2,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, b2, { timestamp: Date.now() - 180_000 }),
      ),
    );
    const b3 = verifyBody();
    p.refused(
      '3 minutes ahead',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        b3,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, b3, { timestamp: Date.now() + 180_000 }),
      ),
    );
    p.done();
    assert.equal(verificationsLoggedFor('pharmacy'), logged, 'no variant was answered');
    accepted('the canonical header', await post('manufacturer', SUPPLY_VERIFY_PATH, body, header));
  });

  test('27e. after a member’s Registry key changes, MACs under its old pairwise key are refused', async () => {
    const p = problems();
    // B has cached K(A -> B): A's MAC is accepted.
    let body = verifyBody();
    accepted(
      'A’s MAC before the change',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body),
      ),
    );
    const oldKey = keyFromTo('pharmacy', 'manufacturer');
    const fresh = generateX25519();
    await writeAndWait(net.conn, walletFor(net.conn, net.members.pharmacy.identity.chainKey), {
      address: net.manifest.contracts.Registry,
      abi: registryAbi,
      functionName: 'updateEncryptionKey',
      args: [toHex(fresh.publicKey)],
    });
    keyPairs.set('pharmacy', fresh);
    const logged = verificationsLoggedFor('pharmacy');
    body = verifyBody();
    p.refused(
      'a MAC under the old key',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body, { key: oldKey }),
      ),
    );
    p.done();
    assert.equal(verificationsLoggedFor('pharmacy'), logged, 'the old key’s MAC was not answered');
    // Control: under the key from A's new private key, accepted at once.
    body = verifyBody();
    accepted(
      'a MAC under the new key',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body),
      ),
    );
  });

  test('27f. a MAC does not stand in for a signature where the receiver keeps the request as evidence', async () => {
    // A shipment notice to the distributor: with A's genuine MAC it is refused before the body is
    // read; signed, the same junk body reaches the parser (400), so the route itself answers members.
    const junk = '{"junk":true}';
    const mac = await post(
      'distributor',
      '/federation/supply/shipment',
      junk,
      macOf('pharmacy', 'distributor', '/federation/supply/shipment', junk),
    );
    assert.equal(
      mac.status,
      401,
      `a MAC on a shipment notice: ${mac.status} ${JSON.stringify(mac.body).slice(0, 200)}`,
    );
    const notice = await post(
      'manufacturer',
      '/federation/supply/notice',
      junk,
      macOf('pharmacy', 'manufacturer', '/federation/supply/notice', junk),
    );
    assert.equal(notice.status, 401, `a MAC on an illegitimate-product notice: ${notice.status}`);
    const signed = await net.signedPost('pharmacy', 'distributor', '/federation/supply/shipment', junk);
    assert.equal(signed.status, 400, `the control (signed, junk body) reaches the parser: ${signed.status}`);
  });

  test('27g. a removed member’s MAC is refused, though the responder holds its pairwise key', async () => {
    const p = problems();
    let body = verifyBody();
    accepted(
      'A’s MAC while a member',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body),
      ),
    );
    // Removed by vote of the distributor, the hospital and A itself (3 of 4). Their nodes' outboxes
    // send with the same accounts (an anchor round of a node that logged a request here): a vote
    // that lost the race for a nonce is sent again with the next one.
    const send = async (
      m: SupplyMemberName,
      functionName: 'proposeRemoval' | 'vote',
      args: readonly unknown[],
    ) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await writeAndWait(net.conn, walletFor(net.conn, net.members[m].identity.chainKey), {
            address: net.manifest.contracts.Registry,
            abi: registryAbi,
            functionName,
            args,
          } as never);
        } catch (err) {
          if (attempt >= 5 || !/nonce too low|nonce has already been used/i.test(String(err))) throw err;
        }
      }
    };
    await send('distributor', 'proposeRemoval', [addressOf('pharmacy')]);
    const registry = net.manifest.contracts.Registry;
    const id =
      (await net.conn.publicClient.readContract({
        address: registry,
        abi: registryAbi,
        functionName: 'proposalCount',
      })) - 1n;
    await send('hospital', 'vote', [id]);
    await send('pharmacy', 'vote', [id]);
    const active = await net.conn.publicClient.readContract({
      address: registry,
      abi: registryAbi,
      functionName: 'isActiveMember',
      args: [addressOf('pharmacy')],
    });
    assert.equal(active, false, 'A was removed');
    const logged = verificationsLoggedFor('pharmacy');
    body = verifyBody();
    p.refused(
      'the removed member’s fresh MAC',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('pharmacy', 'manufacturer', SUPPLY_VERIFY_PATH, body),
      ),
    );
    p.done();
    assert.equal(verificationsLoggedFor('pharmacy'), logged, 'the removed member was not answered');
    // Control: an active member's MAC is still accepted.
    body = verifyBody();
    accepted(
      'C’s MAC',
      await post(
        'manufacturer',
        SUPPLY_VERIFY_PATH,
        body,
        macOf('hospital', 'manufacturer', SUPPLY_VERIFY_PATH, body),
      ),
    );
  });
});
