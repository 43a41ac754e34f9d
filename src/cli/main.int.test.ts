import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestChain } from '../../test/support/testChain.js';
import { runCliCaptured, startUp, stopAllUp, stopUp } from '../../test/support/testNetwork.js';
import { consortiumContracts } from '../chain/contracts.js';

const _bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/medchain.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'medchain-cli-'));
process.env.MEDCHAIN_PASSPHRASE = 'cli test passphrase';
after(async () => {
  await stopAllUp(); // a failed assertion mid-test must not leave a network running
  rmSync(dir, { recursive: true, force: true });
});

const cli = runCliCaptured;

const up = (d: string) => startUp(d);
const stop = stopUp;

describe('medchain CLI', () => {
  test('--help lists the commands', async () => {
    const r = await cli('--help');
    assert.equal(r.code, 0);
    for (const c of ['up', 'deploy', 'keygen', 'status', 'node', 'user', 'import'])
      assert.match(r.out, new RegExp(`^  ${c} `, 'm'));
  });

  test('unknown commands and missing options exit 2 with a one-line message', async () => {
    const r = await cli('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'frobnicate'/);
    assert.equal((await cli('deploy')).code, 2);
  });

  test('up deploys the consortium, survives Ctrl-C, and resumes the same network without redeploying', async () => {
    const data = path.join(dir, 'data');
    const first = await up(data);
    assert.match(first.output(), /contracts {2}deployed/);
    const network = JSON.parse(readFileSync(path.join(data, 'network.json'), 'utf8'));
    assert.equal(network.members.length, 7);
    assert.equal(
      network.demoUsers.length,
      7 * 6 + 3,
      'six users per member, and a pharmacist at the pharmacy, the hospital and the distributor',
    );
    assert.equal(network.units.length, 8, 'two demo units of each of the four seeded lots');
    assert.deepEqual(Object.keys(network.units[0]).sort(), ['expiry', 'gtin', 'holder', 'lot', 'serial']);
    assert.equal(network.patients.length, 20, 'twenty synthetic patients');
    assert.ok(statSync(network.patients[0].keyFile).isFile(), 'each patient has a key file');
    // Every member node answers on its own port, over a real socket, and its demo users sign in.
    for (const m of network.members) {
      assert.match(m.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const meta = await fetch(`${m.url}/fhir/metadata`);
      assert.equal(meta.status, 200);
    }
    const clinician = network.demoUsers.find(
      (u: { member: string; role: string }) => u.member === 'Central Lab' && u.role === 'clinician',
    );
    const lab = network.members.find((m: { name: string }) => m.name === 'Central Lab');
    const login = await fetch(`${lab.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: clinician.username, password: clinician.password }),
    });
    assert.equal(login.status, 200);
    // The CLI reads the chain through the first member's allow-listing proxy, not anvil itself.
    assert.equal(network.chain.rpcUrl, `${network.members[0].url}/rpc`);
    const status = await cli('status', '--dir', data);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /members: 7 active, 4 votes to admit or remove/);
    assert.match(status.out, /active {2}Main Street Pharmacy/);
    assert.equal(await stop(first.child), 0);
    assert.match(first.output(), /stopped/);
    assert.equal(statSync(path.join(data, 'members/city-hospital/keys.json')).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(data, 'network.json')).mode & 0o777, 0o600);
    // Owner-only throughout: folders 0700, files 0600 (keys, stores, patients' keys, chain state).
    const modeOf = (p: string) => statSync(path.join(data, p)).mode & 0o777;
    for (const d of ['.', 'members', 'members/city-hospital', 'members/central-lab', 'patients', 'chain'])
      assert.equal(modeOf(d), 0o700, d);
    for (const f of [
      'members/city-hospital/node.db',
      'patients/seeded.json',
      path.relative(data, network.patients[0].keyFile),
      'chain/anvil-state.json',
      'deployment.json',
    ])
      assert.equal(modeOf(f), 0o600, f);

    const second = await up(data);
    assert.match(second.output(), /contracts {2}resumed/);
    assert.match(second.output(), /Acme Health Insurance already a member/);
    const again = JSON.parse(readFileSync(path.join(data, 'network.json'), 'utf8'));
    assert.deepEqual(again.chain.contracts, network.chain.contracts);
    assert.deepEqual(
      again.members.map((m: { address: string }) => m.address),
      network.members.map((m: { address: string }) => m.address),
    );
    assert.deepEqual(again.demoUsers, network.demoUsers, 'users are not reseeded');
    assert.deepEqual(again.patients, network.patients, 'patients are not reseeded');
    assert.doesNotMatch(second.output(), /seed: patient/);
    const lab2 = again.members.find((m: { name: string }) => m.name === 'Central Lab');
    const relogin = await fetch(`${lab2.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: clinician.username, password: clinician.password }),
    });
    assert.equal(relogin.status, 200, 'the same users sign in after a restart');
    const st = await cli('status', '--dir', data);
    assert.equal(st.code, 0);
    assert.ok(st.out.includes(lab2.url), 'each member published its node endpoint in the Registry');
    // Every member keeps its port: URLs, bookmarks and the portal origin (where a patient's browser
    // keeps their key) are the same after a restart.
    assert.deepEqual(
      again.members.map((m: { url: string }) => m.url),
      network.members.map((m: { url: string }) => m.url),
      'the same URLs after a restart',
    );
    for (const m of again.members) {
      const saved = JSON.parse(readFileSync(path.join(data, 'members', m.slug, 'port.json'), 'utf8'));
      assert.equal(`http://127.0.0.1:${saved.port}`, m.url, `${m.name}'s port is kept in its folder`);
      assert.equal(modeOf(`members/${m.slug}/port.json`), 0o600);
    }
    // verify: the whole network by default (the data folder), or one member folder; the anchors are
    // read through a member's /rpc proxy named in network.json.
    const whole = await cli('verify', '--dir', data);
    assert.equal(whole.code, 0, whole.out + whole.err);
    for (const m of again.members)
      assert.match(
        whole.out,
        new RegExp(
          `^${m.name}: ok: \\d+ log entries, \\d+ record versions, \\d+ anchored heads checked; 0 problem\\(s\\)$`,
          'm',
        ),
      );
    assert.match(
      whole.out,
      /^ok: 7 members, \d+ log entries, \d+ record versions, [1-9]\d* anchored heads checked; 0 problem\(s\)$/m,
    );
    const cwd = process.cwd();
    process.chdir(path.dirname(data)); // `medchain verify` alone reads ./data
    try {
      const byDefault = await cli('verify');
      assert.equal(byDefault.code, 0, byDefault.out + byDefault.err);
      assert.match(byDefault.out, /^ok: 7 members, /m);
    } finally {
      process.chdir(cwd);
    }
    const one = await cli('verify', '--dir', path.join(data, 'members', 'central-lab'));
    assert.equal(one.code, 0, one.out + one.err);
    assert.match(
      one.out,
      /^ok: \d+ log entries, \d+ record versions, [1-9]\d* anchored heads checked; 0 problem\(s\)$/m,
    );
    assert.equal(await stop(second.child), 0);
    for (const m of again.members) {
      await assert.rejects(fetch(`${m.url}/fhir/metadata`), 'member nodes stop with up');
    }
    const offline = await cli('verify', '--dir', data);
    assert.equal(offline.code, 0, offline.out + offline.err);
    assert.match(
      offline.out,
      /cannot reach the chain of .*network\.json .*is the network running \(npm start\)\?/,
    );
    assert.match(offline.out, /anchors NOT checked \(no chain\)$/m);

    // A saved port that another program holds: one line naming the member, the port and what to do.
    const lab3 = again.members.find((m: { slug: string }) => m.slug === 'central-lab');
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(Number(new URL(lab3.url).port), '127.0.0.1', r));
    try {
      await assert.rejects(startUp(data), (err: Error) => {
        assert.match(
          err.message,
          /^medchain: Central Lab's port \d+ \(kept in .*central-lab\/port\.json\) is in use by another program: stop it .*or delete that file/m,
        );
        return true;
      });
    } finally {
      squatter.close();
    }
  });

  test('verify names what it cannot check', async () => {
    const r = await cli('verify', '--dir', path.join(dir, 'nowhere'));
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /nowhere is neither the data folder of `medchain up` \(no network\.json; run npm start first\) nor a member folder/,
    );
  });

  test('status without a running network says what is wrong', async () => {
    const r = await cli('status', '--dir', path.join(dir, 'nowhere'));
    assert.equal(r.code, 1);
    assert.match(r.err, /^medchain: .*network\.json does not exist$/);
  });

  test('keygen + deploy deploy to any JSON-RPC chain, idempotently; bad genesis files are refused', async () => {
    const t = await startTestChain({ memberCount: 1 });
    try {
      const key = path.join(dir, 'hospital.json');
      const kg = await cli('keygen', '--out', key);
      assert.equal(kg.code, 0, kg.err);
      assert.match(kg.out, /^address 0x[0-9a-fA-F]{40}$/m);
      assert.equal((await cli('keygen', '--out', key)).code, 1, 'never overwrites a key');
      const genesis = path.join(dir, 'genesis.json');
      writeFileSync(
        genesis,
        JSON.stringify([
          { name: 'City Hospital', roles: ['HOSPITAL'], endpoint: 'https://h', keyFile: 'hospital.json' },
          // Another founder shares only its public halves.
          {
            name: 'Valley Clinic',
            roles: ['CLINIC'],
            endpoint: 'https://c',
            account: t.members[0]?.input.account,
            encryptionKey: t.members[0]?.input.encryptionKey,
          },
        ]),
      );
      const manifest = path.join(dir, 'deployment.json');
      const args = [
        'deploy',
        '--rpc-url',
        t.chain.rpcUrl,
        '--key-file',
        key,
        '--genesis',
        genesis,
        '--manifest',
        manifest,
      ];
      const d1 = await cli(...args);
      assert.equal(d1.code, 0, d1.err);
      assert.match(d1.out, /^deployed on chain 31337/);
      const m = JSON.parse(readFileSync(manifest, 'utf8'));
      const c = consortiumContracts(t.conn, m);
      assert.equal(await c.registry.read.activeMemberCount(), 2n);
      assert.equal(
        await c.registry.read.isActiveMember([t.members[0]?.input.account as `0x${string}`]),
        true,
      );
      const d2 = await cli(...args);
      assert.match(d2.out, /^already deployed/);

      const bad = path.join(dir, 'bad-genesis.json');
      const cases: [string, RegExp][] = [
        ['not json', /not valid JSON/],
        ['[]', /non-empty JSON array/],
        [
          JSON.stringify([{ name: 'X', roles: ['SPACESHIP'], endpoint: 'e', keyFile: 'hospital.json' }]),
          /unknown role "SPACESHIP"/,
        ],
        [JSON.stringify([{ roles: ['LAB'], endpoint: 'e', keyFile: 'hospital.json' }]), /name is required/],
        [
          JSON.stringify([{ name: 'X', roles: ['LAB'], endpoint: 'e', keyFile: 'missing.json' }]),
          /no key file at .*missing\.json/,
        ],
        [
          JSON.stringify([{ name: 'X', roles: ['LAB'], endpoint: 'e' }]),
          /either account \+ encryptionKey, or keyFile/,
        ],
        [
          JSON.stringify([
            {
              name: 'X',
              roles: ['LAB'],
              endpoint: 'e',
              account: '0x12',
              encryptionKey: `0x${'1'.repeat(64)}`,
            },
          ]),
          /account must be an address/,
        ],
        [
          JSON.stringify([
            {
              name: 'X',
              roles: ['LAB'],
              endpoint: 'e',
              account: '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD',
              encryptionKey: '0x12',
            },
          ]),
          /encryptionKey must be a 32-byte/,
        ],
      ];
      for (const [text, msg] of cases) {
        writeFileSync(bad, text);
        const r = await cli(
          'deploy',
          '--rpc-url',
          t.chain.rpcUrl,
          '--key-file',
          key,
          '--genesis',
          bad,
          '--manifest',
          path.join(dir, 'm2.json'),
        );
        assert.equal(r.code, 1, text);
        assert.match(r.err, msg);
        assert.equal(r.err.split('\n').length, 1, 'one line, no stack trace');
      }
      const q = await cli(
        'deploy',
        '--rpc-url',
        t.chain.rpcUrl,
        '--key-file',
        key,
        '--genesis',
        genesis,
        '--quorum',
        '0',
      );
      assert.match(q.err, /--quorum must be an integer percent/);
      const unreachable = await cli(
        'deploy',
        '--rpc-url',
        'http://127.0.0.1:1',
        '--key-file',
        key,
        '--genesis',
        genesis,
        '--manifest',
        path.join(dir, 'm3.json'),
      );
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.err, /cannot reach the chain at http:\/\/127\.0\.0\.1:1/);
    } finally {
      await t.close();
    }
  });
});
