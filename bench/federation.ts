/**
 * Cross-member read latency, side by side with a local read of the same records, over HTTP on one
 * embedded chain: a lab holds 20 lab results of a patient who granted a clinic labs for treatment.
 * Alternating rounds, each of N sequential requests:
 *
 *   local   a lab clinician searches the lab's own node: Observation?patient=<address> (20 records)
 *   remote  a clinic clinician searches the clinic's node for the same, which asks the lab (and
 *           every other member) under the patient's consent and decrypts what the lab releases
 *
 * Reports p50 and p90 latency of each and the ratio remote/local (medians over rounds). Also the
 * custodian's own time to answer one request in process (decide, log, seal 20 records), which is
 * the custodian CPU a cross-member read costs (bench/custodian.ts breaks it into its parts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { walletFor } from '../src/chain/clients.js';
import { signGrant } from '../src/chain/consentSignatures.js';
import { consortiumContracts } from '../src/chain/contracts.js';
import { deployContracts } from '../src/chain/deploy.js';
import { consentAbi, registryAbi } from '../src/chain/generated/index.js';
import { categoriesToMask, purposesToMask, rolesToMask } from '../src/chain/scopes.js';
import { writeAndWait } from '../src/chain/transact.js';
import { hashPassword } from '../src/crypto/password.js';
import { answerMember } from '../src/federation/custodian.js';
import { createIdentity } from '../src/node/memberIdentity.js';
import { keyFileOf, openMemberNode, serveMemberNode } from '../src/node/memberNode.js';
import { startTestChain } from '../test/support/testChain.js';
import { median, quantile } from './_stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 40);
const RECORDS = 20;
const PASS = 'bench passphrase';
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const OPERATOR = { id: 'operator:bench', role: 'operator', purpose: 'operations' } as const;

const ms = (x: number) => Number(x.toFixed(2));

export async function main(): Promise<void> {
  const load0 = loadavg()[0] ?? 0;
  const t = await startTestChain({ memberCount: 1 });
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-bench-fed-'));
  const running: { close(): Promise<void> }[] = [];
  try {
    const names = ['lab', 'clinic'] as const;
    const ids = Object.fromEntries(
      names.map((n) => [n, createIdentity(keyFileOf(path.join(dir, n)), PASS)]),
    ) as Record<(typeof names)[number], ReturnType<typeof createIdentity>>;
    const { manifest } = await deployContracts(t.conn, walletFor(t.conn, ids.lab.chainKey), {
      genesis: names.map((n) => ({
        account: ids[n].address,
        roles: rolesToMask([n === 'lab' ? 'LAB' : 'CLINIC']),
        encryptionKey: ids[n].encryptionPublicKey,
        name: n,
        endpoint: 'http://127.0.0.1',
      })),
      manifestFile: path.join(dir, 'consortium.json'),
    });
    const nodes = {} as Record<(typeof names)[number], ReturnType<typeof openMemberNode>>;
    const urls = {} as Record<(typeof names)[number], string>;
    for (const n of names) {
      const node = openMemberNode(path.join(dir, n), PASS, { manifest });
      node.users.add('clinician', 'clinician', await hashPassword('clinician password 123'));
      const r = await serveMemberNode(node, {
        rpcUrl: t.chain.rpcUrl,
        anchor: { intervalMs: 3_600_000 },
        replicate: false,
      });
      running.push(r);
      nodes[n] = node;
      urls[n] = r.url;
      await writeAndWait(t.conn, walletFor(t.conn, ids[n].chainKey), {
        address: manifest.contracts.Registry,
        abi: registryAbi,
        functionName: 'updateEndpoint',
        args: [r.url],
      });
    }
    const patient = privateKeyToAccount(generatePrivateKey());
    const p = await nodes.lab.gate.create(OPERATOR, 'Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medchain:patient', value: patient.address }],
    });
    for (let i = 0; i < RECORDS; i++) {
      await nodes.lab.gate.create(OPERATOR, 'Observation', {
        resourceType: 'Observation',
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
            ],
          },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }] },
        subject: { reference: `Patient/${p.id}` },
        valueQuantity: { value: 12 + (i % 5), unit: 'g/dL' },
      });
    }
    const c = consortiumContracts(t.conn, manifest);
    const now = BigInt(Math.floor(Date.now() / 1000));
    const g = {
      patient: patient.address,
      grantee: ids.clinic.address,
      granteeAdmission: await c.registry.read.admissionOf([ids.clinic.address]),
      categories: categoriesToMask(['general', 'labs']),
      purposes: purposesToMask(['treatment']),
      validFrom: now - 60n,
      expiry: now + 86_400n,
      nonce: await c.consent.read.nonces([patient.address]),
      deadline: now + 600n,
    };
    await writeAndWait(t.conn, walletFor(t.conn, ids.lab.chainKey), {
      address: manifest.contracts.Consent,
      abi: consentAbi,
      functionName: 'grantWithSig',
      args: [g, await signGrant(patient, manifest, g)],
    });
    const token = async (n: (typeof names)[number]) => {
      const r = await fetch(`${urls[n]}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'clinician', password: 'clinician password 123' }),
      });
      return ((await r.json()) as { access_token: string }).access_token;
    };
    const tokens = { lab: await token('lab'), clinic: await token('clinic') };
    const search = async (n: (typeof names)[number]) => {
      const t0 = performance.now();
      const r = await fetch(`${urls[n]}/fhir/Observation?patient=${patient.address}&_count=100`, {
        headers: { authorization: `Bearer ${tokens[n]}` },
      });
      const b = (await r.json()) as { entry?: { search?: { mode?: string } }[] };
      const got = (b.entry ?? []).filter((e) => e.search?.mode === 'match').length;
      if (r.status !== 200 || got !== RECORDS) throw new Error(`${n}: ${r.status}, ${got} records`);
      return performance.now() - t0;
    };
    // The custodian's own work for one answer, in process (decide, log, seal the 20 records).
    const consortiumMember = async () => ({
      address: ids.clinic.address,
      name: 'clinic',
      endpoint: urls.clinic,
      encryptionKey: new Uint8Array(Buffer.from(ids.clinic.encryptionPublicKey.slice(2), 'hex')),
      active: true,
      roles: rolesToMask(['CLINIC']),
      admission: Number(g.granteeAdmission),
    });
    const cpu: number[] = [];
    const custodianAnswer = async () => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const a = await answerMember(
        { gate: nodes.lab.gate, records: nodes.lab.records, member: consortiumMember, self: ids.lab.address },
        ids.clinic.address,
        {
          patient: patient.address,
          resourceTypes: ['Observation'],
          purpose: 'treatment',
          userRole: 'clinician',
          breakGlass: null,
        },
      );
      if (a.records.length !== RECORDS) throw new Error(`custodian answered ${a.records.length} records`);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      return performance.now() - t0;
    };
    for (let i = 0; i < 5; i++) {
      await search('lab');
      await search('clinic');
    }
    const rounds = { local: [] as number[][], remote: [] as number[][], custodian: [] as number[][] };
    for (let round = 0; round < ROUNDS; round++) {
      const take = async (f: () => Promise<number>) => {
        const xs: number[] = [];
        for (let i = 0; i < PER_ROUND; i++) xs.push(await f());
        return xs;
      };
      // Alternate the order each round so neither side always runs first.
      if (round % 2 === 0) {
        rounds.local.push(await take(() => search('lab')));
        rounds.remote.push(await take(() => search('clinic')));
      } else {
        rounds.remote.push(await take(() => search('clinic')));
        rounds.local.push(await take(() => search('lab')));
      }
      rounds.custodian.push(await take(custodianAnswer));
    }
    const per = (k: keyof typeof rounds, q: number) => ms(median(rounds[k].map((xs) => quantile(xs, q))));
    const result = {
      localP50Ms: per('local', 0.5),
      localP90Ms: per('local', 0.9),
      remoteP50Ms: per('remote', 0.5),
      remoteP90Ms: per('remote', 0.9),
      ratioP50: Number((per('remote', 0.5) / per('local', 0.5)).toFixed(2)),
      custodianAnswerP50Ms: per('custodian', 0.5),
      custodianCpuP50Ms: ms(median(cpu)),
    };
    const table = [
      `| read of ${RECORDS} lab results over HTTP | p50 ms | p90 ms |`,
      '|---|---:|---:|',
      `| local (the custodian's own clinician) | ${result.localP50Ms} | ${result.localP90Ms} |`,
      `| cross-member (another member, under consent) | ${result.remoteP50Ms} | ${result.remoteP90Ms} |`,
      '',
      `cross-member / local at p50: ${result.ratioP50}x. The custodian's own work per answer (decide on the requester's Registry entry and the patient's grant, from the event-kept consortium cache after one block-number call; log ${RECORDS + 1} entries durably; seal the response key once and wrap ${RECORDS} data keys under it; in process): p50 ${result.custodianAnswerP50Ms} ms wall, ${result.custodianCpuP50Ms} ms CPU.`,
    ].join('\n');
    const meta = {
      bench: 'federation',
      date: new Date().toISOString(),
      node: process.version,
      rounds: ROUNDS,
      perRound: PER_ROUND,
      records: RECORDS,
      /** 1-minute load average at the start and the end of the run (other work on the machine). */
      loadStart: Number(load0.toFixed(2)),
      loadEnd: Number(loadavg()[0]?.toFixed(2)),
    };
    writeFileSync(
      path.join(outDir, 'federation.json'),
      `${JSON.stringify({ ...meta, results: result, samples: rounds }, null, 2)}\n`,
    );
    writeFileSync(
      path.join(outDir, 'federation.md'),
      `# Cross-member read vs local read\n\n${meta.date}, ${meta.node}, load ${meta.loadStart} -> ${meta.loadEnd}, ${ROUNDS} rounds x ${PER_ROUND} sequential requests each, alternating; medians over rounds of each round's p50/p90\n\n${table}\n`,
    );
    process.stdout.write(`${table}\n\nwrote bench/results/federation.json and bench/results/federation.md\n`);
  } finally {
    for (const r of running) await r.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
