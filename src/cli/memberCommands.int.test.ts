import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Bundle } from '@medplum/fhirtypes';
import { runCliCaptured } from '../../test/support/testNetwork.js';
import { openMemberNode } from '../node/memberNode.js';

const PASS = 'member commands passphrase';
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/medchain.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'medchain-member-'));
const member = path.join(dir, 'clinic');
after(() => rmSync(dir, { recursive: true, force: true }));

const cli = runCliCaptured;

before(async () => {
  process.env.MEDCHAIN_PASSPHRASE = PASS;
  mkdirSync(member, { recursive: true });
  assert.equal((await cli('keygen', '--out', path.join(member, 'keys.json'))).code, 0);
});

const patient = (family: string) => ({ resourceType: 'Patient', name: [{ family }] });

describe('member commands', () => {
  test('keygen needs a passphrase, and says how to give one', async () => {
    delete process.env.MEDCHAIN_PASSPHRASE;
    try {
      const r = await cli('keygen', '--out', path.join(dir, 'other.json'));
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        'medchain: give the key file passphrase: set MEDCHAIN_PASSPHRASE or pass --passphrase-file <file>',
      );
      const pf = path.join(dir, 'pass.txt');
      writeFileSync(pf, 'from a file 123\n');
      assert.equal(
        (await cli('keygen', '--out', path.join(dir, 'other.json'), '--passphrase-file', pf)).code,
        0,
      );
    } finally {
      process.env.MEDCHAIN_PASSPHRASE = PASS;
    }
  });

  test('user add: generated or given password, role checked, duplicates refused', async () => {
    const a = await cli('user', 'add', '--dir', member, '--username', 'dr.rivera', '--role', 'clinician');
    assert.equal(a.code, 0, a.err);
    assert.match(
      a.out,
      /^added dr\.rivera \(clinician\), user id [0-9a-f-]{36}\npassword [A-Za-z0-9_-]{20}$/,
    );
    const pw = path.join(dir, 'pw.txt');
    writeFileSync(pw, 'a long enough password\n');
    const b = await cli(
      'user',
      'add',
      '--dir',
      member,
      '--username',
      'nurse.kim',
      '--role',
      'nurse',
      '--password-file',
      pw,
    );
    assert.equal(b.code, 0, b.err);
    assert.doesNotMatch(b.out, /password/);
    assert.match(
      (await cli('user', 'add', '--dir', member, '--username', 'x1', '--role', 'janitor')).err,
      /unknown role "janitor"/,
    );
    assert.match(
      (await cli('user', 'add', '--dir', member, '--username', 'dr.rivera', '--role', 'nurse')).err,
      /already exists/,
    );
    assert.match(
      (await cli('user', 'add', '--dir', member, '--username', 'Bad Name', '--role', 'nurse')).err,
      /usernames are/,
    );
    writeFileSync(pw, 'short\n');
    assert.match(
      (
        await cli(
          'user',
          'add',
          '--dir',
          member,
          '--username',
          'x2',
          '--role',
          'nurse',
          '--password-file',
          pw,
        )
      ).err,
      /at least 12 characters/,
    );
  });

  test('a wrong passphrase is refused with one line', async () => {
    process.env.MEDCHAIN_PASSPHRASE = 'not the passphrase';
    try {
      const r = await cli('user', 'add', '--dir', member, '--username', 'y', '--role', 'nurse');
      assert.equal(r.code, 1);
      assert.match(r.err, /^medchain: wrong passphrase for .*keys\.json$/);
    } finally {
      process.env.MEDCHAIN_PASSPHRASE = PASS;
    }
  });

  test('import: a folder of bundles and resources, with rejections explained and transactions all or nothing', async () => {
    const src = path.join(dir, 'import');
    mkdirSync(src, { recursive: true });
    const tx: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
          request: { method: 'POST', url: 'Patient' },
          resource: patient('Tx') as never,
        },
        {
          request: { method: 'POST', url: 'Condition' },
          resource: {
            resourceType: 'Condition',
            subject: { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' },
            code: { text: 'asthma' },
          } as never,
        },
      ],
    };
    const badTx: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Patient' }, resource: patient('Never') as never },
        {
          request: { method: 'POST', url: 'Patient' },
          resource: { resourceType: 'Patient', favouriteColour: 'blue' } as never,
        },
      ],
    };
    const collection: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: patient('C1') as never },
        { resource: { resourceType: 'Patient', birthDate: '1990-02-30' } as never },
        { resource: patient('C2') as never },
      ],
    };
    writeFileSync(path.join(src, 'a-transaction.json'), JSON.stringify(tx));
    writeFileSync(path.join(src, 'b-bad-transaction.json'), JSON.stringify(badTx));
    writeFileSync(path.join(src, 'c-collection.json'), JSON.stringify(collection));
    writeFileSync(path.join(src, 'd-single.json'), JSON.stringify(patient('Single')));
    writeFileSync(path.join(src, 'notes.txt'), 'ignored');
    const r = await cli('import', src, '--dir', member);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'imported 5, rejected 2');
    assert.match(
      lines[1] ?? '',
      /^rejected b-bad-transaction\.json \(transaction, nothing imported\): entry\[1\] \(POST Patient\): .*favouriteColour/,
    );
    assert.match(lines[2] ?? '', /^rejected c-collection\.json entry\[1\]: .*Patient\.birthDate/);
    assert.match(r.err, /\[#{30}\] 8\/8 resources/, 'progress reaches the end');

    const node = openMemberNode(member, PASS);
    try {
      const all = await node.records.search({
        resourceType: 'Patient',
        clauses: [],
        count: 100,
        offset: 0,
        countCapped: false,
      });
      assert.deepEqual(
        all.resources.map((p) => (p as { name: { family: string }[] }).name[0]?.family).sort(),
        ['C1', 'C2', 'Single', 'Tx'],
      );
    } finally {
      node.close();
    }
    const missing = await cli('import', path.join(dir, 'nope.json'), '--dir', member);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nope\.json does not exist/);
    writeFileSync(path.join(dir, 'broken.json'), '{"resourceType":');
    assert.match(
      (await cli('import', path.join(dir, 'broken.json'), '--dir', member)).err,
      /broken\.json is not valid JSON/,
    );
  });

  test('node serves the FHIR API until stopped', async () => {
    const child = spawn(process.execPath, [bin, 'node', '--dir', member, '--port', '0'], {
      env: { ...process.env, MEDCHAIN_PASSPHRASE: PASS },
    });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`node exited ${code}: ${out}`)));
    });
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nurse.kim', password: 'a long enough password' }),
    });
    assert.equal(login.status, 200);
    const { access_token } = (await login.json()) as { access_token: string };
    const search = await fetch(`${url}/fhir/Patient?_count=1`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    assert.equal(search.status, 200);
    assert.equal(search.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
    assert.equal(((await search.json()) as Bundle).total, 4);
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);

    const wrong = spawn(process.execPath, [bin, 'node', '--dir', member], {
      env: { ...process.env, MEDCHAIN_PASSPHRASE: 'wrong passphrase' },
    });
    let err = '';
    wrong.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((r) => wrong.once('exit', (c) => r(c)));
    assert.equal(code, 1, 'refuses to start with a wrong passphrase');
    assert.match(err, /^medchain: wrong passphrase for .*keys\.json\n$/);
  });
});
