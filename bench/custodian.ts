/**
 * The custodian's own work for one cross-member answer, in process, nothing else running: a lab
 * holds 20 lab results of a patient who granted a clinic labs for treatment; the lab answers the
 * clinic's request N times in a row (decide with the chain, log durably, seal for the clinic).
 * Prints wall and CPU (process.cpuUsage) medians and p90 per answer; with BENCH_PARTS=1 also the
 * CPU of each part alone (chain reads, search, the 21 log entries, the seal, the rewraps). A focused companion of
 * bench/federation.ts for profiling (`node --cpu-prof --import tsx bench/custodian.ts`); writes no
 * results file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { entry, targetOf } from '../src/access/accessLog.js';
import { patientQuery } from '../src/access/gatekeeper.js';
import { connectChain, walletFor } from '../src/chain/clients.js';
import { signGrant } from '../src/chain/consentSignatures.js';
import { chainConsortium } from '../src/chain/consortium.js';
import { ConsortiumCache } from '../src/chain/consortiumCache.js';
import { consortiumContracts } from '../src/chain/contracts.js';
import { deployContracts } from '../src/chain/deploy.js';
import { consentAbi } from '../src/chain/generated/index.js';
import { categoriesToMask, purposesToMask, rolesToMask } from '../src/chain/scopes.js';
import { writeAndWait } from '../src/chain/transact.js';
import { bindingBytes } from '../src/crypto/envelope.js';
import { newResponseKey } from '../src/crypto/responseKey.js';
import { wrapSymmetricAll } from '../src/crypto/symmetricWrap.js';
import { answerMember, wireCiphertext } from '../src/federation/custodian.js';
import { createIdentity } from '../src/node/memberIdentity.js';
import { keyFileOf, openMemberNode } from '../src/node/memberNode.js';
import { bindingOf } from '../src/records/recordService.js';
import { startTestChain } from '../test/support/testChain.js';
import { quantile } from './_stats.js';

const ANSWERS = Number(process.env.BENCH_ANSWERS ?? 200);
const RECORDS = 20;
const PASS = 'bench passphrase';
const OPERATOR = { id: 'operator:bench', role: 'operator', purpose: 'operations' } as const;

const ms = (x: number) => Number(x.toFixed(3));

export async function main(): Promise<void> {
  const t = await startTestChain({ memberCount: 1 });
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-bench-custodian-'));
  try {
    const lab = createIdentity(keyFileOf(path.join(dir, 'lab')), PASS);
    const clinic = createIdentity(keyFileOf(path.join(dir, 'clinic')), PASS);
    const { manifest } = await deployContracts(t.conn, walletFor(t.conn, lab.chainKey), {
      genesis: [
        { id: lab, role: 'LAB', name: 'lab' },
        { id: clinic, role: 'CLINIC', name: 'clinic' },
      ].map((m) => ({
        account: m.id.address,
        roles: rolesToMask([m.role as 'LAB' | 'CLINIC']),
        encryptionKey: m.id.encryptionPublicKey,
        name: m.name,
        endpoint: 'http://127.0.0.1',
      })),
      manifestFile: path.join(dir, 'consortium.json'),
    });
    const node = openMemberNode(path.join(dir, 'lab'), PASS, { manifest });
    const conn = await connectChain(t.chain.rpcUrl, { expectedChainId: manifest.chainId });
    // BENCH_DIRECT=1: two contract reads per decision (and one for the key), as before the cache.
    const consortium = process.env.BENCH_DIRECT
      ? chainConsortium(conn, manifest)
      : new ConsortiumCache(conn, manifest);
    node.gate.attachChain(consortium);
    const patient = privateKeyToAccount(generatePrivateKey());
    const p = await node.gate.create(OPERATOR, 'Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medchain:patient', value: patient.address }],
    });
    for (let i = 0; i < RECORDS; i++) {
      await node.gate.create(OPERATOR, 'Observation', {
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
      grantee: clinic.address,
      granteeAdmission: await c.registry.read.admissionOf([clinic.address]),
      categories: categoriesToMask(['general', 'labs']),
      purposes: purposesToMask(['treatment']),
      validFrom: now - 60n,
      expiry: now + 86_400n,
      nonce: await c.consent.read.nonces([patient.address]),
      deadline: now + 600n,
    };
    await writeAndWait(t.conn, walletFor(t.conn, lab.chainKey), {
      address: manifest.contracts.Consent,
      abi: consentAbi,
      functionName: 'grantWithSig',
      args: [g, await signGrant(patient, manifest, g)],
    });
    const ctx = { gate: node.gate, records: node.records, member: consortium.member, self: lab.address };
    const body = {
      patient: patient.address,
      resourceTypes: ['Observation'],
      purpose: 'treatment',
      userRole: 'clinician',
      breakGlass: null,
    };
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < ANSWERS + 20; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const a = await answerMember(ctx, clinic.address, body);
      const dt = performance.now() - t0;
      const dc = process.cpuUsage(c0);
      if (a.records.length !== RECORDS) throw new Error(`custodian answered ${a.records.length} records`);
      if (i < 20) continue; // warm-up
      wall.push(dt);
      cpu.push((dc.user + dc.system) / 1000);
    }
    const out = {
      answers: ANSWERS,
      wallP50Ms: ms(quantile(wall, 0.5)),
      wallP90Ms: ms(quantile(wall, 0.9)),
      cpuP50Ms: ms(quantile(cpu, 0.5)),
      cpuP90Ms: ms(quantile(cpu, 0.9)),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    if (process.env.BENCH_PARTS) {
      // Where the CPU of an answer goes, each part alone (CPU median over ANSWERS runs of it).
      const cpuOf = async (f: () => Promise<unknown>) => {
        const xs: number[] = [];
        for (let i = 0; i < ANSWERS; i++) {
          const c0 = process.cpuUsage();
          await f();
          const d = process.cpuUsage(c0);
          xs.push((d.user + d.system) / 1000);
        }
        return ms(quantile(xs, 0.5));
      };
      const rows = node.records.searchStored(patientQuery('Observation', patient.address)).rows;
      const entries = [...rows, rows[0] as (typeof rows)[number]].map((r) =>
        entry(
          `member:${clinic.address}`,
          'search',
          targetOf(r),
          patient.address,
          'treatment',
          'permit',
          'consent',
        ),
      );
      const parts = {
        chainReadsMs: await cpuOf(() =>
          Promise.all([
            consortium.member(clinic.address),
            consortium.grantOf(patient.address, clinic.address),
          ]),
        ),
        registryKeyReadMs: await cpuOf(() => consortium.member(clinic.address)),
        searchMs: await cpuOf(async () =>
          node.records.searchStored(patientQuery('Observation', patient.address)),
        ),
        searchUnderConsentMs: await cpuOf(async () =>
          node.records.searchStored(patientQuery('Observation', patient.address), g.categories),
        ),
        log21EntriesMs: await cpuOf(() => node.log.appendAll(entries)),
        responseKeySealMs: await cpuOf(() =>
          newResponseKey(
            new Uint8Array(Buffer.from(clinic.encryptionPublicKey.slice(2), 'hex')),
            lab.address,
            clinic.address,
          ),
        ),
        rewrap20Ms: await cpuOf(async () => {
          const key = new Uint8Array(32);
          const items = [];
          for (const r of rows) {
            const aad = bindingBytes(bindingOf(r));
            items.push({ dataKey: await node.records.dataKeyOf(r, aad), aad });
          }
          wrapSymmetricAll(key, items);
        }),
        wire20Ms: await cpuOf(async () => rows.map((r) => wireCiphertext(r, r.categories ?? 0))),
      };
      process.stdout.write(`${JSON.stringify(parts)}\n`);
    }
    node.close();
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
