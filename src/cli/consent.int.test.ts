import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { runCliCaptured, startUp, stopUp } from '../../test/support/testNetwork.js';
import { waitFor } from '../../test/support/waitFor.js';
import { connectChain } from '../chain/clients.js';
import { signGrant } from '../chain/consentSignatures.js';
import { consortiumContracts } from '../chain/contracts.js';
import { replicasOf } from '../federation/replicaRing.js';
import { decodeEntry } from '../log/entry.js';
import { readPublicIdentity } from '../node/memberIdentity.js';
import { readNetwork } from './cliSupport.js';

const dir = mkdtempSync(path.join(tmpdir(), 'medchain-consent-'));
const data = path.join(dir, 'data');
const network = path.join(data, 'network.json');
const keyfile = path.join(dir, 'alice.json');
let up: ChildProcess;

const cli = runCliCaptured;
const net = () => JSON.parse(readFileSync(network, 'utf8'));

before(async () => {
  process.env.MEDCHAIN_PASSPHRASE = 'patient and demo passphrase';
  up = (await startUp(data)).child;
});
after(async () => {
  await stopUp(up);
  rmSync(dir, { recursive: true, force: true });
});

describe('patient consent from the command line', () => {
  let address: string;
  test('patient new makes a key file and prints the address and encryption key', async () => {
    const r = await cli('patient', 'new', '--out', keyfile);
    assert.equal(r.code, 0, r.err);
    address = /^address (0x[0-9a-fA-F]{40})$/m.exec(r.out)?.[1] as string;
    assert.ok(address);
    assert.match(r.out, /^encryption key [A-Za-z0-9+/]{43}= \(base64/m);
    assert.equal((await cli('patient', 'new', '--out', keyfile)).code, 1, 'never overwrites');
  });

  test('grant, list, revoke: signed locally, relayed by a member, in force at once', async () => {
    const g = await cli(
      'consent',
      'grant',
      '--patient',
      keyfile,
      '--to',
      'Central Lab',
      '--categories',
      'labs,medications',
      '--purpose',
      'treatment',
      '--expires',
      '2099-01-01',
      '--network',
      network,
    );
    assert.equal(g.code, 0, g.err);
    assert.match(
      g.out,
      /^granted labs, medications for treatment to Central Lab until 2099-01-01T00:00:00.000Z$/m,
    );
    assert.match(g.out, /relayed by City Hospital/);
    const l = await cli('consent', 'list', '--patient', address, '--network', network);
    assert.match(l.out, /^Central Lab: labs, medications for treatment, .* \(in force\)$/m);
    const l2 = await cli('consent', 'list', '--patient', keyfile, '--network', network);
    assert.equal(l2.out, l.out, 'the key file names the same patient without a passphrase');
    const v = await cli(
      'consent',
      'revoke',
      '--patient',
      keyfile,
      '--to',
      'central lab',
      '--via',
      'Valley Clinic',
      '--network',
      network,
    );
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /^revoked Central Lab's access; on chain in block \d+/m);
    assert.equal(
      (await cli('consent', 'list', '--patient', address, '--network', network)).out,
      `no consent recorded for ${address}`,
    );
    const { manifest } = readNetwork(network);
    const consentOnChain = consortiumContracts(await connectChain(net().chain.rpcUrl), manifest).consent;
    const nonce = () => consentOnChain.read.nonces([address as `0x${string}`]);
    const before = await nonce();
    const again = await cli(
      'consent',
      'revoke',
      '--patient',
      keyfile,
      '--to',
      'Central Lab',
      '--network',
      network,
    );
    assert.equal(again.code, 0, again.err);
    assert.equal(
      again.out,
      `nothing to revoke: ${address} has granted Central Lab nothing; no transaction was sent`,
    );
    assert.equal(await nonce(), before, 'no revoke was signed or relayed (the nonce is unused)');
  });

  test('the relaying member logged each consent change against the patient', async () => {
    const net = JSON.parse(readFileSync(network, 'utf8'));
    const hospital = net.members.find((m: { name: string }) => m.name === 'City Hospital');
    const admin = net.demoUsers.find(
      (u: { member: string; role: string }) => u.member === 'City Hospital' && u.role === 'admin',
    );
    const login = await fetch(`${hospital.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: admin.username, password: admin.password }),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const head = (await (
      await fetch(`${hospital.url}/log/head`, { headers: { authorization: `Bearer ${access_token}` } })
    ).json()) as { treeSize: number };
    const { entries } = (await (
      await fetch(`${hospital.url}/log/entries?start=0&end=${head.treeSize - 1}`, {
        headers: { authorization: `Bearer ${access_token}` },
      })
    ).json()) as { entries: { leaf: string }[] };
    const grants = entries
      .map((e) => decodeEntry(Buffer.from(e.leaf, 'base64')))
      .filter((e) => e.action === 'consent-grant');
    assert.equal(grants.length, 1);
    assert.equal(grants[0]?.patient?.toLowerCase(), address.toLowerCase());
    assert.equal(grants[0]?.outcome, 'permit');
  });

  test('the demo story: a seeded patient grants labs to Valley Clinic, whose clinician then sees the results held at Central Lab', async () => {
    const net = JSON.parse(readFileSync(network, 'utf8'));
    const p = net.patients[0];
    const clinic = net.members.find((m: { name: string }) => m.name === 'Valley Clinic');
    const lab = net.members.find((m: { name: string }) => m.name === 'Central Lab');
    const user = net.demoUsers.find(
      (u: { member: string; role: string }) => u.member === 'Valley Clinic' && u.role === 'clinician',
    );
    const login = await fetch(`${clinic.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: user.password }),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const labs = () =>
      fetch(`${clinic.url}/fhir/Observation?patient=${p.address}&code=http://loinc.org|718-7`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
    const before = await labs();
    assert.equal(before.status, 200);
    const refused = (await before.json()) as {
      entry?: {
        search?: { mode?: string };
        resource: { issue?: { code: string; details: { text: string } }[] };
      }[];
    };
    assert.equal(
      (refused.entry ?? []).filter((e) => e.search?.mode === 'match').length,
      0,
      'the clinic has no hemoglobin of its own, and Central Lab needs consent',
    );
    assert.ok(
      (refused.entry ?? []).some(
        (e) =>
          e.resource.issue?.[0]?.code === 'suppressed' &&
          /^Central Lab did not share any Observation records with you for treatment: the patient has not consented/.test(
            e.resource.issue[0].details.text,
          ),
      ),
      'Central Lab says it did not share them, and why',
    );
    const g = await cli(
      'consent',
      'grant',
      '--patient',
      p.keyFile,
      '--to',
      'Valley Clinic',
      '--categories',
      'labs',
      '--purpose',
      'treatment',
      '--network',
      network,
    );
    assert.equal(g.code, 0, g.err);
    // No --expires: a year from now (give or take the test's own run time).
    const until = Date.parse(/ until (\S+)$/m.exec(g.out)?.[1] ?? '');
    assert.ok(Math.abs(until - (Date.now() + 365 * 86_400_000)) < 3_600_000, g.out);
    const after = (await (await labs()).json()) as {
      entry: { resource: { resourceType: string; meta?: { source?: string } } }[];
    };
    const fromLab = after.entry.filter(
      (e) => e.resource.meta?.source === `urn:medchain:member:${lab.address}`,
    );
    assert.equal(fromLab.length, 2, 'two hemoglobin results from Central Lab');
  });

  test('kill -9 the custodian process: a replica serves the consented read, and the reader checks it', async () => {
    const net = JSON.parse(readFileSync(network, 'utf8'));
    const p = net.patients[0];
    const clinic = net.members.find((m: { name: string }) => m.name === 'Valley Clinic');
    const clinicKey = readPublicIdentity(
      path.join(data, 'members', 'valley-clinic', 'keys.json'),
    ).encryptionPublicKey.slice(2);
    // A replica can serve only what it can prove against the head Central Lab anchored last: wait
    // until Central Lab's log is anchored in full (the demo story's reads grew it), and some member
    // holds a copy of that whole log and replica wraps for Valley Clinic of all eight of the
    // patient's lab results (replication and anchoring run every second; loaded, they take longer).
    const lab = net.members.find((m: { slug: string }) => m.slug === 'central-lab');
    const { manifest } = readNetwork(network);
    const anchors = consortiumContracts(await connectChain(net.chain.rpcUrl), manifest).auditAnchor;
    const count = (slug: string, sql: string, ...args: string[]) => {
      const db = new Database(path.join(data, 'members', slug, 'node.db'), { readonly: true });
      try {
        return (db.prepare(sql).get(...args) as { n: number }).n;
      } finally {
        db.close();
      }
    };
    // The clinic asks the lab's replicas in ring order (skipping itself) and takes the first answer.
    const asked = replicasOf(lab.address, net.members as { address: `0x${string}`; slug: string }[]).filter(
      (m) => m.slug !== 'valley-clinic',
    );
    const replicasReady = async () => {
      const logSize = count('central-lab', 'SELECT count(*) AS n FROM log_entries');
      const anchored = Number((await anchors.read.latestHead([lab.address])).treeSize);
      return (
        anchored === logSize &&
        asked.every(
          (m) =>
            count(
              m.slug,
              'SELECT count(*) AS n FROM replica_log WHERE custodian = ?',
              lab.address.toLowerCase(),
            ) >= anchored &&
            count(m.slug, 'SELECT count(*) AS n FROM replica_wraps WHERE recipient = ?', clinicKey) >= 8,
        )
      );
    };
    await waitFor(
      `Central Lab’s whole log anchored, and its replicas (${asked.map((m) => m.slug).join(', ')}) holding it and the clinic’s wraps of all eight lab results`,
      replicasReady,
      undefined,
      500, // each poll reads the chain through a member's rate-limited /rpc proxy
    );
    // Find Central Lab's node process and kill it hard.
    const labDir = path.join(data, 'members', 'central-lab');
    const pid = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .find((d) => {
        try {
          return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(labDir);
        } catch {
          return false;
        }
      });
    assert.ok(pid, 'the Central Lab node process');
    process.kill(Number(pid), 'SIGKILL');
    const user = net.demoUsers.find(
      (u: { member: string; role: string }) => u.member === 'Valley Clinic' && u.role === 'clinician',
    );
    const login = await fetch(`${clinic.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: user.password }),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const r = await fetch(`${clinic.url}/fhir/Observation?patient=${p.address}&code=http://loinc.org|718-7`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    assert.equal(r.status, 200);
    const b = (await r.json()) as {
      entry: {
        resource: {
          resourceType: string;
          meta?: { source?: string };
          issue?: { details: { text: string } }[];
        };
        search: { mode: string };
      }[];
    };
    assert.equal(
      b.entry.filter((e) => e.search.mode === 'match' && e.resource.meta?.source).length,
      2,
      'both hemoglobin results, from a replica',
    );
    const notes = b.entry
      .filter((e) => e.search.mode === 'outcome')
      .map((e) => e.resource.issue?.[0]?.details.text ?? '');
    assert.ok(
      notes.some((t) => /^Central Lab is offline; served by its replica at /.test(t)),
      notes.join('\n'),
    );
  });

  test('the relay refuses forged and replayed signatures, and logs each refusal against the patient', async () => {
    const net = JSON.parse(readFileSync(network, 'utf8'));
    const hospital = net.members.find((m: { name: string }) => m.name === 'City Hospital');
    const lab = net.members.find((m: { name: string }) => m.name === 'Central Lab');
    const victim = privateKeyToAccount(generatePrivateKey());
    const mallory = privateKeyToAccount(generatePrivateKey());
    const manifest = { chainId: net.chain.chainId, contracts: net.chain.contracts };
    const now = BigInt(Math.floor(Date.now() / 1000));
    const request = {
      patient: victim.address,
      grantee: lab.address,
      granteeAdmission: 1, // a genesis member's first admission
      categories: 2,
      purposes: 1,
      validFrom: now - 10n,
      expiry: now + 3600n,
      nonce: 0n,
      deadline: now + 600n,
    };
    const post = (signature: string, req: object = request) =>
      fetch(`${hospital.url}/consent/relay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'grant', request: req, signature }, (_k, v) =>
          typeof v === 'bigint' ? v.toString() : v,
        ),
      });
    const forged = await post(await signGrant(mallory, manifest, request));
    assert.equal(forged.status, 422);
    assert.match(
      ((await forged.json()) as { issue: { details: { text: string } }[] }).issue[0]?.details.text ?? '',
      /ConsentInvalidSigner/,
    );
    const genuine = await signGrant(victim, manifest, request);
    assert.equal((await post(genuine)).status, 200);
    const replay = await post(genuine);
    assert.equal(replay.status, 409, 'the same signature cannot be used twice');
    assert.equal((await post('0x1234')).status, 422);
    // Signed for an admission of Central Lab that is not its current one (genesis members are at 1).
    const stale = { ...request, granteeAdmission: 2, nonce: 1n };
    const refused = await post(await signGrant(victim, manifest, stale), stale);
    assert.equal(refused.status, 422);
    assert.match(
      ((await refused.json()) as { issue: { details: { text: string } }[] }).issue[0]?.details.text ?? '',
      /ConsentStaleAdmission/,
    );
    const { granteeAdmission: _, ...unnamed } = request;
    assert.equal((await post(genuine, unnamed)).status, 400, 'a grant must name the admission');
    assert.equal(
      (
        await fetch(`${hospital.url}/consent/relay`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"kind":"steal"}',
        })
      ).status,
      400,
    );

    const admin = net.demoUsers.find(
      (u: { member: string; role: string }) => u.member === 'City Hospital' && u.role === 'admin',
    );
    const login = await fetch(`${hospital.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: admin.username, password: admin.password }),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const audit = await fetch(`${hospital.url}/fhir/AuditEvent?patient=${victim.address}`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    const events = (
      (await audit.json()) as { entry: { resource: { outcome: string; outcomeDesc: string } }[] }
    ).entry.map((e) => `${e.resource.outcome}:${e.resource.outcomeDesc}`);
    assert.deepEqual(
      events.sort(),
      [
        '0:ok',
        '4:already-relayed',
        '4:consent-invalid-signer',
        '4:consent-invalid-signer',
        '4:consent-stale-admission',
      ].sort(),
    );
  });

  test('bad requests are refused with one line', async () => {
    const base = [
      'consent',
      'grant',
      '--patient',
      keyfile,
      '--network',
      network,
      '--purpose',
      'treatment',
      '--expires',
      '2099-01-01',
    ];
    const cases: [string[], RegExp][] = [
      [
        [...base, '--to', 'Moon Base', '--categories', 'labs'],
        /no member "Moon Base"; members: City Hospital/,
      ],
      [[...base, '--to', 'Central Lab', '--categories', 'lab'], /unknown category "lab"/],
      [
        [
          'consent',
          'grant',
          '--patient',
          keyfile,
          '--network',
          network,
          '--to',
          'Central Lab',
          '--categories',
          'labs',
          '--purpose',
          'emergency',
          '--expires',
          '2099-01-01',
        ],
        /unknown purpose "emergency"/,
      ],
      [
        [
          'consent',
          'grant',
          '--patient',
          keyfile,
          '--network',
          network,
          '--to',
          'Central Lab',
          '--categories',
          'labs',
          '--purpose',
          'treatment',
          '--expires',
          '2001-01-01',
        ],
        /--expires must be in the future/,
      ],
      [
        [
          'consent',
          'grant',
          '--patient',
          keyfile,
          '--network',
          network,
          '--to',
          'Central Lab',
          '--categories',
          'labs',
          '--purpose',
          'treatment',
          '--expires',
          'soon',
        ],
        /--expires must be a date/,
      ],
      [['consent', 'list', '--patient', 'nobody', '--network', network], /no key file at nobody/],
      [
        ['consent', 'list', '--patient', address, '--network', path.join(dir, 'missing.json')],
        /missing\.json does not exist/,
      ],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, 1, argv.join(' '));
      assert.match(r.err, msg);
      assert.equal(r.err.split('\n').length, 1);
    }
    process.env.MEDCHAIN_PASSPHRASE = 'not the patient passphrase';
    try {
      assert.match(
        (await cli(...base, '--to', 'Central Lab', '--categories', 'labs')).err,
        /wrong passphrase/,
      );
    } finally {
      process.env.MEDCHAIN_PASSPHRASE = 'patient and demo passphrase';
    }
  });
});
