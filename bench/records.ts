/**
 * Record store speed: the encrypted path (validate, AES-256-GCM with a fresh key, HPKE wrap,
 * blind index, one durable SQLite transaction) against a plaintext baseline that stores the same
 * JSON in the same kind of SQLite table (WAL, synchronous=FULL, one transaction per record),
 * measured side by side, alternating rounds, in one run. Reports medians over rounds and the ratio.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRecord, sealRecord } from '../src/crypto/envelope.js';
import { unwrapperFor, wrapKey } from '../src/crypto/keyWrap.js';
import { generateX25519 } from '../src/crypto/x25519.js';
import { createIdentity } from '../src/node/memberIdentity.js';
import { keyFileOf, openMemberNode } from '../src/node/memberNode.js';
import { openDatabase } from '../src/store/database.js';
import { median } from './_stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 200);
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

const observation = (patientId: string, i: number) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: i % 2 ? '718-7' : '2345-7', display: 'Lab result' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
  valueQuantity: { value: 10 + (i % 7), unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
});

export async function runRecordBench() {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-bench-'));
  try {
    createIdentity(keyFileOf(dir), 'bench passphrase');
    const node = openMemberNode(dir, 'bench passphrase');
    const plain = openDatabase(path.join(dir, 'plain.db'), [
      'CREATE TABLE r (id TEXT PRIMARY KEY, patient TEXT, code TEXT, body TEXT); CREATE INDEX r_p ON r (patient, code);',
    ]);
    const insertPlain = plain.prepare('INSERT INTO r (id, patient, code, body) VALUES (?, ?, ?, ?)');
    const selectPlain = plain.prepare('SELECT body FROM r WHERE id = ?');
    const searchPlain = plain.prepare('SELECT body FROM r WHERE patient = ? AND code = ? LIMIT 20');
    const patient = await node.records.create({ resourceType: 'Patient', name: [{ family: 'Bench' }] });

    const samples: Record<string, number[]> = {};
    const rec = (k: string, opsPerSec: number) => {
      samples[k] = [...(samples[k] ?? []), opsPerSec];
    };
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const encIds: string[] = [];
      let t0 = performance.now();
      for (let i = 0; i < PER_ROUND; i++)
        encIds.push((await node.records.create(observation(patient.id, n + i))).id);
      rec('create encrypted', PER_ROUND / ((performance.now() - t0) / 1000));

      const plainIds: string[] = [];
      t0 = performance.now();
      for (let i = 0; i < PER_ROUND; i++) {
        const o = observation(patient.id, n + i);
        const id = `p${n + i}`;
        plain.transaction(() =>
          insertPlain.run(id, o.subject.reference, o.code.coding[0]?.code, JSON.stringify(o)),
        )();
        plainIds.push(id);
      }
      rec('create plaintext', PER_ROUND / ((performance.now() - t0) / 1000));

      t0 = performance.now();
      for (const id of encIds) await node.records.read('Observation', id);
      rec('read encrypted', PER_ROUND / ((performance.now() - t0) / 1000));
      t0 = performance.now();
      for (const id of plainIds) JSON.parse((selectPlain.get(id) as { body: string }).body);
      rec('read plaintext', PER_ROUND / ((performance.now() - t0) / 1000));

      const searches = 20;
      t0 = performance.now();
      for (let i = 0; i < searches; i++) {
        await node.records.search({
          resourceType: 'Observation',
          clauses: [
            { kind: 'reference', param: 'patient', values: [`Patient/${patient.id}`] },
            { kind: 'token', param: 'code', values: ['http://loinc.org|718-7'] },
          ],
          count: 20,
          offset: 0,
          countCapped: false,
        });
      }
      rec('search (20 results) encrypted', searches / ((performance.now() - t0) / 1000));
      t0 = performance.now();
      for (let i = 0; i < searches; i++) {
        for (const r of searchPlain.all(`Patient/${patient.id}`, '718-7') as { body: string }[])
          JSON.parse(r.body);
      }
      rec('search (20 results) plaintext', searches / ((performance.now() - t0) / 1000));
      n += PER_ROUND;
    }
    // Where the time goes: one HPKE wrap, one unwrap (key imported once, as the node does), and
    // AES-256-GCM seal + open of one record, each timed over many runs.
    const micro = await primitives();
    node.close();
    plain.close();
    const rows = ['create', 'read', 'search (20 results)'].map((op) => {
      const enc = median(samples[`${op} encrypted`] ?? []);
      const pl = median(samples[`${op} plaintext`] ?? []);
      return {
        operation: op,
        encryptedOpsPerSec: Math.round(enc),
        plaintextOpsPerSec: Math.round(pl),
        slowdown: Number((pl / enc).toFixed(2)),
      };
    });
    return { rows, samples, micro };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const { rows, samples, micro } = await runRecordBench();
  const lines = [
    '| operation | encrypted ops/s (median) | plaintext baseline ops/s (median) | encrypted is slower by |',
    '|---|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.operation} | ${r.encryptedOpsPerSec} | ${r.plaintextOpsPerSec} | ${r.slowdown}x |`,
    ),
    '',
    '| primitive | ms per operation (median of 5 rounds) |',
    '|---|---:|',
    `| HPKE wrap of a data key | ${micro.wrapMs} |`,
    `| HPKE unwrap of a data key | ${micro.unwrapMs} |`,
    `| AES-256-GCM seal + open of a 1 KB record | ${micro.aesMs} |`,
  ];
  const table = lines.join('\n');
  const meta = {
    bench: 'records',
    date: new Date().toISOString(),
    node: process.version,
    rounds: ROUNDS,
    perRound: PER_ROUND,
  };
  writeFileSync(
    path.join(outDir, 'records.json'),
    `${JSON.stringify({ ...meta, results: rows, primitives: micro, samples }, null, 2)}\n`,
  );
  writeFileSync(
    path.join(outDir, 'records.md'),
    `# Record store: encrypted vs plaintext baseline\n\n${meta.date}, ${meta.node}, ${ROUNDS} rounds x ${PER_ROUND} records, both durable (WAL, synchronous=FULL, one transaction per record)\n\n${table}\n`,
  );
  process.stdout.write(`${table}\n\nwrote bench/results/records.json and bench/results/records.md\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();

async function primitives(): Promise<{ wrapMs: number; unwrapMs: number; aesMs: number }> {
  const r = generateX25519();
  const key = new Uint8Array(32).fill(7);
  const aad = new Uint8Array(40);
  const unwrap = await unwrapperFor(r.privateKey);
  const wrap = await wrapKey(r.publicKey, key, aad);
  const plaintext = new Uint8Array(1024).fill(65);
  const binding = { resourceType: 'Observation', id: 'x', version: 1, patient: 'Patient/p' };
  const rounds = { wrap: [] as number[], unwrap: [] as number[], aes: [] as number[] };
  for (let round = 0; round < 5; round++) {
    let t0 = performance.now();
    for (let i = 0; i < 100; i++) await wrapKey(r.publicKey, key, aad);
    rounds.wrap.push((performance.now() - t0) / 100);
    t0 = performance.now();
    for (let i = 0; i < 100; i++) await unwrap(wrap, aad);
    rounds.unwrap.push((performance.now() - t0) / 100);
    t0 = performance.now();
    for (let i = 0; i < 2000; i++) {
      const sealed = sealRecord(plaintext, binding);
      openRecord(sealed.dataKey, sealed.nonce, sealed.ciphertext, binding);
    }
    rounds.aes.push((performance.now() - t0) / 2000);
  }
  const ms = (xs: number[]) => Number(median(xs).toFixed(3));
  return { wrapMs: ms(rounds.wrap), unwrapMs: ms(rounds.unwrap), aesMs: ms(rounds.aes) };
}
