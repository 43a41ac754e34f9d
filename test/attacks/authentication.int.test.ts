/**
 * Attack family: getting in, or wearing a node down, through its authentication (issue 11). The
 * rules: a throttle protects accounts without letting a stranger lock them out, and cannot be reset
 * by an insider's own sign-in; a patient's or member's signature authorizes exactly one request,
 * once; unauthenticated traffic is rate-limited per client and cannot flood the log or a patient's
 * accounting of disclosures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1';
import { numberToHex } from 'viem';
import { type Answer, AttackNetwork, passwordOf, request } from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

/** Run `fn(0..n-1)` with at most `concurrency` at a time; the answers in order. */
async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

const statusCounts = (as: Answer[]) =>
  as.reduce<Record<number, number>>((c, a) => {
    c[a.status] = (c[a.status] ?? 0) + 1;
    return c;
  }, {});

describe('attack: authentication', { timeout: 600_000 }, () => {
  test('9a-1. a stranger failing on user X from another address does not lock X out from its own', async () => {
    for (let i = 0; i < 6; i++) await net.signIn('hospital', 'nurse', 'not the password', '127.0.0.2');
    const own = await net.signIn('hospital', 'nurse', passwordOf('nurse'));
    assert.equal(
      own.status,
      200,
      `nurse, from its own address, after 6 failures by a stranger: ${own.status} ${JSON.stringify(own.body).slice(0, 200)}`,
    );
  });

  test("9a-2. an insider's sign-in to its own account does not reset its failure count for other accounts", async () => {
    // How many failures one client address may have before it is throttled (today 5), measured
    // from an address of its own so the test holds whatever limit the node sets.
    let limit = 0;
    for (let i = 0; i < 30; i++) {
      const r = await net.signIn('hospital', `measure-${i}`, 'x', '127.0.0.7');
      if (r.status === 429) break;
      limit++;
    }
    assert.ok(
      limit >= 2 && limit < 30,
      `one client address is throttled after some failures (measured ${limit})`,
    );

    // The insider fails limit-1 times on other accounts, signs in to its own (billing), then guesses on.
    const from = '127.0.0.3';
    const earlier: number[] = [];
    for (let i = 1; i < limit; i++)
      earlier.push((await net.signIn('hospital', `guess-${i}`, 'x', from)).status);
    let own = await net.signIn('hospital', 'billing', passwordOf('billing'), from);
    for (let tries = 0; own.status === 429 && tries < 5; tries++) {
      // A back-off the node announced (Retry-After): wait for it, then sign in.
      await new Promise((r) => setTimeout(r, Number(own.headers['retry-after'] ?? 1) * 1000 + 100));
      own = await net.signIn('hospital', 'billing', passwordOf('billing'), from);
    }
    assert.equal(own.status, 200, `the insider's own sign-in (${own.status})`);
    // One more failure reaches the limit; the attempt after it must be throttled (with a reset it is not).
    const afterOwn: number[] = [];
    for (let i = limit; i < limit + 2; i++)
      afterOwn.push((await net.signIn('hospital', `guess-${i}`, 'x', from)).status);
    assert.ok(
      afterOwn.includes(429),
      `${limit} failed guesses from one address with the insider's own sign-in among them did not throttle the next (limit ${limit}; before the sign-in ${earlier.join(',')}, after ${afterOwn.join(',')})`,
    );
  });

  test('9a-3. repeated failures get a growing back-off (Retry-After grows)', async () => {
    const from = '127.0.0.4';
    const budgetMs = 150_000; // a loaded machine slows every attempt; the back-offs themselves are seconds
    const end = Date.now() + budgetMs;
    const waits: number[] = [];
    let attempts = 0;
    while (Date.now() < end) {
      attempts++;
      const r = await net.signIn('hospital', 'guess-backoff', 'x', from);
      if (r.status !== 429) continue;
      const wait = Number(r.headers['retry-after']);
      assert.ok(
        Number.isFinite(wait) && wait > 0,
        `a 429 without a usable Retry-After (${r.headers['retry-after']})`,
      );
      waits.push(wait);
      if (waits.length > 1 && wait > (waits[0] as number)) break;
      if (Date.now() + wait * 1000 > end) break; // cannot wait this one out within the budget
      // Wait for what the node announced, then fail again.
      await new Promise((res) => setTimeout(res, wait * 1000 + 100));
    }
    assert.ok(
      waits.length > 1 && waits.some((w) => w > (waits[0] as number)),
      `Retry-After did not grow within ${budgetMs / 1000} s of failures (${attempts} attempts; Retry-After seen: ${waits.join(', ') || 'none'})`,
    );
  });

  test('9b. a patient request header is bound to its request, single-use, and not from the future', async () => {
    const a = net.patientA;
    const path = `/patients/${a.address}/disclosures`;
    const forDisclosures = (timestamp?: number) =>
      net.patientHeader(a, 'lab', { method: 'GET', pathAndQuery: path }, timestamp);
    const send = (p: string, authorization: string, method = 'GET') =>
      request(`${net.url('lab')}${p}`, { method, headers: { authorization } });

    const captured = await forDisclosures();
    const first = await send(path, captured);
    assert.equal(
      first.status,
      200,
      `the signed request itself is served (${JSON.stringify(first.body).slice(0, 200)})`,
    );
    const accepted: string[] = [];
    const replay = await send(path, captured);
    if (replay.status < 400) accepted.push(`a verbatim replay (${replay.status})`);
    const otherPath = await send(`/patients/${a.address}/records`, await forDisclosures());
    if (otherPath.status < 400)
      accepted.push(
        `a header signed for GET ${path} used on GET /patients/<a>/records (${otherPath.status})`,
      );
    const otherMethod = await send(path, await forDisclosures(), 'HEAD');
    if (otherMethod.status < 400)
      accepted.push(`a header signed for GET used with HEAD (${otherMethod.status})`);
    const future = await send(path, await forDisclosures(Date.now() + 60_000));
    if (future.status < 400) accepted.push(`a timestamp 60 s in the future (${future.status})`);
    assert.equal(accepted.length, 0, `the node accepted:\n${accepted.join('\n')}`);
  });

  test('9c. member signatures: a replay, re-encoded (high-s, v 0/1, EIP-2098 compact) or verbatim, is refused', async () => {
    const path = '/log/head';
    const header = await net.memberHeader('clinic', 'lab', 'GET', path);
    const send = (authorization: string) =>
      request(`${net.url('lab')}${path}`, { headers: { authorization } });
    const first = await send(header);
    assert.equal(first.status, 200, 'the signed request itself is served');

    const sig = /signature=(0x[0-9a-fA-F]{130})$/.exec(header)?.[1] as string;
    const r = sig.slice(2, 66);
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const v = Number.parseInt(sig.slice(130), 16);
    const yParity = v - 27;
    const hex32 = (x: bigint) => numberToHex(x, { size: 32 }).slice(2);
    const variants: Record<string, string> = {
      verbatim: sig,
      'high-s (n - s, v flipped)': `0x${r}${hex32(secp256k1.CURVE.n - s)}${(yParity === 0 ? 28 : 27).toString(16)}`,
      'v as 0/1': `0x${r}${hex32(s)}${yParity.toString(16).padStart(2, '0')}`,
      'EIP-2098 compact (64 bytes)': `0x${r}${hex32(s | (BigInt(yParity) << 255n))}`,
    };
    const accepted: string[] = [];
    for (const [name, variant] of Object.entries(variants)) {
      const a = await send(header.replace(sig, variant));
      if (a.status !== 401) accepted.push(`${name}: ${a.status}`);
    }
    assert.equal(
      accepted.length,
      0,
      `replayed signatures were not refused with 401:\n${accepted.join('\n')}`,
    );
  });

  test('9d. an anonymous flood is rate-limited per client and does not flood the log or the patient’s disclosures', async () => {
    const a = net.patientA;
    const lab = net.members.lab.node;
    const from = '127.0.0.5';
    const size0 = lab.log.size;
    const patient0 = lab.log.entriesForPatient(a.address).length;
    const flood = (p: string) =>
      pool(200, 10, (i) =>
        request(`${net.url('lab')}${p}`, {
          from,
          headers: i % 2 === 0 ? { authorization: `Bearer junk-token-${i}` } : {},
        }),
      );
    const fhir = statusCounts(await flood(`/fhir/Observation?patient=${a.address}`));
    const records = statusCounts(await flood(`/patients/${a.address}/records`));
    const grew = lab.log.size - size0;
    const filed = lab.log.entriesForPatient(a.address).length - patient0;
    const problems: string[] = [];
    if (!fhir[429])
      problems.push(
        `200 anonymous /fhir/Observation requests were not rate-limited: ${JSON.stringify(fhir)}`,
      );
    if (!records[429])
      problems.push(
        `200 anonymous /patients/<a>/records requests were not rate-limited: ${JSON.stringify(records)}`,
      );
    if (grew > 10) problems.push(`400 anonymous requests grew the log by ${grew} entries`);
    if (filed > 0) problems.push(`400 anonymous requests filed ${filed} entries under the patient`);
    // Per client: a signed-in user at another address is still served.
    const other = await net.fhirSearch('lab', 'clinician', 'Observation', { patient: a.address });
    if (other.status !== 200) problems.push(`a signed-in clinician at another address got ${other.status}`);
    assert.equal(problems.length, 0, problems.join('\n'));
  });

  test('9e. /consent/relay is throttled per client: a flood of junk bodies gets 429s', async () => {
    const from = '127.0.0.6';
    const answers = await pool(200, 10, (i) =>
      request(`${net.url('clinic')}/consent/relay`, {
        method: 'POST',
        from,
        body: JSON.stringify({ kind: 'grant', request: { junk: i }, signature: '0x00' }),
      }),
    );
    const counts = statusCounts(answers);
    const other = await request(`${net.url('clinic')}/consent/relay`, {
      method: 'POST',
      body: '{"kind":"junk"}',
    });
    assert.notEqual(other.status, 429, 'another client is not throttled by the flood');
    assert.ok(counts[429], `200 junk relays from one client were never throttled: ${JSON.stringify(counts)}`);
  });
});
