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
import { createIdentity } from '../src/node/memberIdentity.js';
import { keyFileOf, openMemberNode } from '../src/node/memberNode.js';
import { openDatabase } from '../src/store/database.js';

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

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
    return { rows, samples };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const { rows, samples } = await runRecordBench();
  const lines = [
    '| operation | encrypted ops/s (median) | plaintext baseline ops/s (median) | encrypted is slower by |',
    '|---|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.operation} | ${r.encryptedOpsPerSec} | ${r.plaintextOpsPerSec} | ${r.slowdown}x |`,
    ),
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
    `${JSON.stringify({ ...meta, results: rows, samples }, null, 2)}\n`,
  );
  writeFileSync(
    path.join(outDir, 'records.md'),
    `# Record store: encrypted vs plaintext baseline\n\n${meta.date}, ${meta.node}, ${ROUNDS} rounds x ${PER_ROUND} records, both durable (WAL, synchronous=FULL, one transaction per record)\n\n${table}\n`,
  );
  process.stdout.write(`${table}\n\nwrote bench/results/records.json and bench/results/records.md\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
