/**
 * Claims figures (issue 13), end to end over HTTP on one embedded chain: a provider (a lab) and
 * an insurer, each a real member node in its own process (bench/_memberServer.ts), patients with a
 * Coverage at both and Encounters whose creation is in the lab's log, anchored on chain before
 * the run. Then C billing clients at once (levels BENCH_CLAIMS_LEVELS) each POST clean claims to
 * the lab's `/fhir/Claim/$submit` one after another: the lab checks and stores the Claim, builds
 * the evidence, anchors the batch (ClaimBatcher, `submitBatch`), sends the member-signed
 * submission; the insurer checks it against the chain, adjudicates, stores Claim, ClaimResponse
 * and EOB and records the decision (DecisionRecorder, `decideFirstBatch`) before it answers; the
 * lab stores the ClaimResponse and answers it.
 *
 *   throughput   claims answered (a ClaimResponse, 200) per second of wall time, per level
 *   latency      p50 / p99 from the POST to the ClaimResponse, per level
 *   gas          submitBatch + decideFirstBatch from the receipts of the level's blocks, divided
 *                by the claims of each batch; the batch sizes that occurred
 *   cpu          CPU time (user + system, /proc/<pid>/stat) each node process spent during the
 *                level, divided by the claims answered: the cost per claim at the lab and the insurer
 *   where        both nodes' outboxes (enqueued -> mined and settled per transaction), and with
 *                BENCH_CLAIMS_PROFILE=1 both node processes run with --cpu-prof: self time by
 *                module (native code counted to its nearest JavaScript caller)
 *
 * Medians over BENCH_CLAIMS_ROUNDS rounds (each round runs every level, order alternating).
 * Writes bench/results/claims.json and claims.md with the load average at the start and the end
 * and a measured durable commit (fsync) time.
 *
 *   BENCH_CLAIMS_LEVELS       concurrent billing clients, default 1,16,64,256 (a closed loop of C
 *                             clients runs at C / latency: 256 in flight, as a clearinghouse sends a
 *                             day's claims, shows what the nodes and the chain sustain)
 *   BENCH_CLAIMS_PER_CLIENT   claims each client submits per level and round, default 10
 *   BENCH_CLAIMS_ROUNDS       rounds, default 2
 *   BENCH_CLAIMS_PROFILE      1: --cpu-prof both node processes (slower; the figures say so), the
 *                             profiles kept in the temporary folder the run prints
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Claim } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { type Address, decodeFunctionData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Actor } from '../src/access/gatekeeper.js';
import { walletFor } from '../src/chain/clients.js';
import { deployContracts } from '../src/chain/deploy.js';
import { claimsAbi, registryAbi } from '../src/chain/generated/index.js';
import { rolesToMask } from '../src/chain/scopes.js';
import { writeAndWait } from '../src/chain/transact.js';
import { hashPassword } from '../src/crypto/password.js';
import { distributeConsortiumKey } from '../src/node/consortiumSetup.js';
import { createIdentity, type MemberIdentity } from '../src/node/memberIdentity.js';
import {
  dbFileOf,
  keyFileOf,
  type MemberNode,
  openMemberNode,
  serveMemberNode,
} from '../src/node/memberNode.js';
import { openDatabase } from '../src/store/database.js';
import { startTestChain } from '../test/support/testChain.js';
import { processCpuMs } from './_processCpu.js';
import { median, quantile } from './_stats.js';

const LEVELS = (process.env.BENCH_CLAIMS_LEVELS ?? '1,16,64,256').split(',').map(Number);
const PER_CLIENT = Number(process.env.BENCH_CLAIMS_PER_CLIENT ?? 10);
const ROUNDS = Number(process.env.BENCH_CLAIMS_ROUNDS ?? 2);
const PROFILE = process.env.BENCH_CLAIMS_PROFILE === '1';
/** Claims per patient (each on its own date of service, so none is a duplicate or over a MUE). */
const CLAIMS_PER_PATIENT = 4;
/** The issue's target, at the highest level. */
const TARGET = { claimsPerSec: 200 };

const PASS = 'bench passphrase';
const BILLING_PASSWORD = 'billing password 123';
const OPERATOR: Actor = { id: 'operator:bench', role: 'operator', purpose: 'operations' };
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'results');
const repoRoot = path.resolve(here, '..');

const r2 = (x: number) => Number(x.toFixed(2));
const r0 = (x: number) => Math.round(x);
const load = () => os.loadavg().map((x) => r2(x)) as [number, number, number];
const day = (offset: number) => new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);

interface Slot {
  address: Address;
  labPatientId: string;
  coverageId: string;
  encounterId: string;
  servicedDate: string;
}

interface Server {
  url: string;
  /** CPU time (ms) the process has used so far, user and system; NaN where /proc is not available. */
  cpuMs(): { user: number; sys: number };
  stop(): Promise<void>;
}

/** A node in its own process; with `profileDir`, run under --cpu-prof into it. */
async function startServer(dir: string, manifestFile: string, rpcUrl: string, profileDir?: string) {
  const flags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...flags, '--import', 'tsx', path.join(here, '_memberServer.ts'), dir, manifestFile, rpcUrl],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdin?.write(`${PASS}\n`);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the node at ${dir} did not listen within 90 s`)),
      90_000,
    );
    lines.once('line', (l) => {
      clearTimeout(timer);
      resolve((JSON.parse(l) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the node at ${dir} exited (${code}) before listening`)));
  });
  const server: Server = {
    url,
    cpuMs: () => processCpuMs(child.pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin?.end();
      }),
  };
  return server;
}

/** A clean professional claim of the lab for one slot: one line, Z1001 x1 at $120. */
function claimOf(s: Slot, lab: Address, insurer: Address, created: string, i: number): Claim {
  return {
    resourceType: 'Claim',
    id: `bench-${i}-${Math.random().toString(36).slice(2, 10)}`,
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: {
      reference: `Patient/${s.labPatientId}`,
      identifier: { system: 'urn:medchain:patient', value: s.address },
    },
    created,
    provider: { identifier: { system: 'urn:medchain:member', value: lab } },
    insurer: { identifier: { system: 'urn:medchain:member', value: insurer } },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/${s.coverageId}` } }],
    diagnosis: [
      {
        sequence: 1,
        diagnosisCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'R51.9' }],
        },
      },
    ],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ system: 'urn:medchain:procedure', code: 'Z1001' }] },
        servicedDate: s.servicedDate,
        quantity: { value: 1 },
        unitPrice: { value: 120, currency: 'USD' },
        net: { value: 120, currency: 'USD' },
        diagnosisSequence: [1],
        encounter: [{ reference: `Encounter/${s.encounterId}` }],
      },
    ],
    total: { value: 120, currency: 'USD' },
  };
}

/** Patients (Coverage at the lab and enrolled at the insurer), one Encounter per claim slot. */
async function makeSlots(lab: MemberNode, insurer: MemberNode, insurerAddress: Address, n: number) {
  const slots: Slot[] = [];
  const coverage = (node: MemberNode, patientId: string) =>
    node.gate.create(OPERATOR, 'Coverage', {
      resourceType: 'Coverage',
      status: 'active',
      beneficiary: { reference: `Patient/${patientId}` },
      period: { start: '2020-01-01' },
      payor: [{ identifier: { system: 'urn:medchain:member', value: insurerAddress } }],
    });
  for (let p = 0; slots.length < n; p++) {
    const address = privateKeyToAccount(generatePrivateKey()).address;
    const patient = (node: MemberNode) =>
      node.gate.create(OPERATOR, 'Patient', {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:medchain:patient', value: address }],
        name: [{ family: 'Claimant', given: [`P${p}`] }],
      });
    const labPatient = await patient(lab);
    const cov = await coverage(lab, labPatient.id as string);
    const enrolled = await patient(insurer);
    await coverage(insurer, enrolled.id as string);
    for (let k = 0; k < CLAIMS_PER_PATIENT && slots.length < n; k++) {
      const enc = await lab.gate.create(OPERATOR, 'Encounter', {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${labPatient.id}` },
      });
      slots.push({
        address,
        labPatientId: labPatient.id as string,
        coverageId: cov.id as string,
        encounterId: enc.id as string,
        servicedDate: day(1 + k),
      });
    }
  }
  return slots;
}

interface LevelRun {
  clients: number;
  claims: number;
  wallMs: number;
  claimsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  outcomes: Record<string, number>;
  fromBlock: number;
  toBlock: number;
  /** CPU ms per answered claim of each node process during the level (and as user and system time). */
  cpuPerClaimMs: {
    lab: number;
    insurer: number;
    /** anvil, the embedded chain */
    chain: number;
    /** this process: the billing clients, the load generator */
    client: number;
    split: Record<'lab' | 'insurer' | 'chain' | 'client', { user: number; sys: number }>;
  };
}

/** User and system CPU time (ms) of this process so far. */
function clientCpuMs(): { user: number; sys: number } {
  const u = process.cpuUsage();
  return { user: u.user / 1000, sys: u.system / 1000 };
}

/**
 * The billing clients' connections (undici's request API: the load generator shares the 2 cores
 * with the nodes and anvil, and fetch costs it several times the CPU per request).
 */
const billing = new Agent();

/** `clients` billing clients each submit `slots.length / clients` claims in turn. */
async function runLevel(
  labUrl: string,
  token: string,
  slots: readonly Slot[],
  clients: number,
  mk: (s: Slot, i: number) => Claim,
): Promise<Omit<LevelRun, 'fromBlock' | 'toBlock' | 'cpuPerClaimMs'>> {
  const lat: number[] = [];
  const outcomes: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < slots.length; i = next++) {
        const body = JSON.stringify(mk(slots[i] as Slot, i));
        const s = performance.now();
        const r = await request(`${labUrl}/fhir/Claim/$submit`, {
          dispatcher: billing,
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` },
          body,
        });
        const b = (await r.body.json()) as { resourceType?: string; outcome?: string; issue?: unknown };
        const took = performance.now() - s;
        if (r.statusCode === 200 && b.resourceType === 'ClaimResponse') {
          lat.push(took);
          const k = String(b.outcome);
          outcomes[k] = (outcomes[k] ?? 0) + 1;
        } else {
          errors++;
          if (errors <= 3)
            process.stderr.write(`claim refused: ${r.statusCode} ${JSON.stringify(b).slice(0, 400)}\n`);
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  return {
    clients,
    claims: lat.length,
    wallMs: r2(wallMs),
    claimsPerSec: r2((lat.length / wallMs) * 1000),
    p50Ms: r2(median(lat)),
    p99Ms: r2(quantile(lat, 0.99)),
    errors,
    outcomes,
  };
}

interface ChainTx {
  fn: string;
  claims: number;
  gas: number;
  from: Address;
}

/** The Claims transactions mined in [from, to], with their claims and gas (from the receipts). */
async function claimsTxs(
  conn: Awaited<ReturnType<typeof startTestChain>>['conn'],
  claims: Address,
  from: number,
  to: number,
) {
  const out: ChainTx[] = [];
  for (let b = from; b <= to; b++) {
    const block = await conn.publicClient.getBlock({ blockNumber: BigInt(b), includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.to?.toLowerCase() !== claims.toLowerCase()) continue;
      const d = decodeFunctionData({ abi: claimsAbi, data: tx.input });
      const receipt = await conn.publicClient.getTransactionReceipt({ hash: tx.hash });
      const claimCount =
        d.functionName === 'submitBatch'
          ? Number((d.args as readonly unknown[])[2])
          : d.functionName === 'decideFirstBatch'
            ? ((d.args as readonly unknown[])[1] as unknown[]).length
            : 0;
      out.push({ fn: d.functionName, claims: claimCount, gas: Number(receipt.gasUsed), from: tx.from });
    }
  }
  return out;
}

/** Enqueue -> settled per outbox transaction of a node (its store, read after it stopped). */
function outboxTimes(dbFile: string) {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (
      db.prepare(`SELECT description, status, created_at, updated_at FROM outbox ORDER BY id`).all() as {
        description: string;
        status: string;
        created_at: number;
        updated_at: number;
      }[]
    ).map((r) => ({ what: r.description, status: r.status, ms: r.updated_at - r.created_at }));
  } finally {
    db.close();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Self time (ms) by module of a .cpuprofile; native frames count to their nearest JS caller. */
function profileByModule(file: string, top = 25) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const moduleOf = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur) as ProfileNode;
      const { url, functionName } = n.callFrame;
      if (!url) {
        if (/^\((garbage collector|idle|program)\)$/.test(functionName)) return functionName;
        continue;
      }
      const rel = url.replace(/^file:\/\//, '');
      const nm = rel.lastIndexOf('node_modules/');
      if (nm >= 0) {
        const parts = rel.slice(nm + 13).split('/');
        return (parts[0] as string).startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
      }
      const src = rel.indexOf('/src/');
      if (src >= 0) return rel.slice(src + 1);
      if (rel.startsWith('node:')) return rel;
      return path.basename(rel);
    }
    return '(root)';
  };
  const ms = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const m = moduleOf(id);
    ms.set(m, (ms.get(m) ?? 0) + dt);
  });
  const busy = total - (ms.get('(idle)') ?? 0);
  return {
    totalMs: r0(total),
    busyMs: r0(busy),
    top: [...ms.entries()]
      .filter(([m]) => m !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, t]) => ({ module, ms: r0(t), shareOfBusy: r2(t / busy) })),
  };
}

export async function main(): Promise<void> {
  const loadStart = load();
  const t = await startTestChain({ memberCount: 1 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'medchain-bench-claims-'));
  const servers: Server[] = [];
  try {
    const names = ['lab', 'insurer'] as const;
    const dirs = { lab: path.join(dir, 'lab'), insurer: path.join(dir, 'insurer') };
    let ids = names.map((n) => createIdentity(keyFileOf(dirs[n]), PASS)) as MemberIdentity[];
    ids = (await distributeConsortiumKey(
      names.map((n, i) => ({ file: keyFileOf(dirs[n]), identity: ids[i] as MemberIdentity })),
      PASS,
    )) as MemberIdentity[];
    const [labId, insId] = ids as [MemberIdentity, MemberIdentity];
    const manifestFile = path.join(dir, 'consortium.json');
    const { manifest } = await deployContracts(t.conn, walletFor(t.conn, labId.chainKey), {
      genesis: [
        { id: labId, role: 'LAB' as const, name: 'lab' },
        { id: insId, role: 'INSURER' as const, name: 'insurer' },
      ].map((m) => ({
        account: m.id.address,
        roles: rolesToMask([m.role]),
        encryptionKey: m.id.encryptionPublicKey,
        name: m.name,
        endpoint: 'http://127.0.0.1:1',
      })),
      manifestFile,
    });
    const claimsAddress = manifest.contracts.Claims as Address;
    const totalPerRound = LEVELS.reduce((n, c) => n + c * PER_CLIENT, 0);
    const warmup = 8;

    // ------------------------------------------------------------ setup, in process
    const setup0 = performance.now();
    const lab = openMemberNode(dirs.lab, PASS, { manifest });
    const insurer = openMemberNode(dirs.insurer, PASS, { manifest });
    lab.users.add('billing', 'billing', await hashPassword(BILLING_PASSWORD));
    const slots = await makeSlots(lab, insurer, insId.address, warmup + ROUNDS * totalPerRound);
    // The lab's log anchored on chain (its anchorer, as the node runs it), then both stores closed.
    const anchoring = await serveMemberNode(lab, {
      rpcUrl: t.chain.rpcUrl,
      anchor: { intervalMs: 3_600_000 },
      replicate: false,
    });
    await anchoring.anchorer?.tick(true);
    await anchoring.close();
    lab.close();
    insurer.close();
    const setupMs = performance.now() - setup0;

    // ------------------------------------------------------------ the two nodes, own processes
    // Kept after the run (its path is printed) for a closer look: node --cpu-prof output.
    const profDir = path.join(os.tmpdir(), `medchain-bench-claims-profiles-${process.pid}`);
    const prof = (n: string) => (PROFILE ? path.join(profDir, n) : undefined);
    if (PROFILE) for (const n of names) mkdirSync(path.join(profDir, n), { recursive: true });
    const labServer = await startServer(dirs.lab, manifestFile, t.chain.rpcUrl, prof('lab'));
    servers.push(labServer);
    const insServer = await startServer(dirs.insurer, manifestFile, t.chain.rpcUrl, prof('insurer'));
    servers.push(insServer);
    for (const [id, url] of [
      [labId, labServer.url],
      [insId, insServer.url],
    ] as const)
      await writeAndWait(t.conn, walletFor(t.conn, id.chainKey), {
        address: manifest.contracts.Registry,
        abi: registryAbi,
        functionName: 'updateEndpoint',
        args: [url],
      });
    const login = await fetch(`${labServer.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'billing', password: BILLING_PASSWORD }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const created = async () => {
      const block = await t.conn.publicClient.getBlock();
      return new Date(Math.max(Date.now(), Number(block.timestamp) * 1000) + 1000).toISOString();
    };
    let used = 0;
    const take = (n: number) => {
      const s = slots.slice(used, used + n);
      used += n;
      return s;
    };
    const blockNow = async () => Number(await t.conn.publicClient.getBlockNumber());

    // Warm-up (JIT, statement caches, the rule set anchored by the insurer's first decision).
    {
      const c = await created();
      const w = await runLevel(labServer.url, token, take(warmup), 4, (s, i) =>
        claimOf(s, labId.address, insId.address, c, i),
      );
      if (w.errors > 0) throw new Error(`${w.errors} warm-up claims were refused`);
    }

    // ------------------------------------------------------------ the levels
    const runs: LevelRun[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? LEVELS : [...LEVELS].reverse();
      for (const clients of order) {
        const c = await created();
        const fromBlock = (await blockNow()) + 1;
        const cpu0 = {
          lab: labServer.cpuMs(),
          insurer: insServer.cpuMs(),
          chain: processCpuMs(t.chain.pid),
          client: clientCpuMs(),
        };
        const r = await runLevel(labServer.url, token, take(clients * PER_CLIENT), clients, (s, i) =>
          claimOf(s, labId.address, insId.address, c, i),
        );
        const perClaim = (now: { user: number; sys: number }, then: { user: number; sys: number }) => ({
          user: r2((now.user - then.user) / r.claims),
          sys: r2((now.sys - then.sys) / r.claims),
        });
        const split = {
          lab: perClaim(labServer.cpuMs(), cpu0.lab),
          insurer: perClaim(insServer.cpuMs(), cpu0.insurer),
          chain: perClaim(processCpuMs(t.chain.pid), cpu0.chain),
          client: perClaim(clientCpuMs(), cpu0.client),
        };
        const cpuPerClaimMs = {
          lab: r2(split.lab.user + split.lab.sys),
          insurer: r2(split.insurer.user + split.insurer.sys),
          chain: r2(split.chain.user + split.chain.sys),
          client: r2(split.client.user + split.client.sys),
          split,
        };
        runs.push({ ...r, fromBlock, toBlock: await blockNow(), cpuPerClaimMs });
        process.stderr.write(
          `round ${round + 1}, ${clients} clients: ${r.claimsPerSec} claims/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors, CPU per claim lab ${cpuPerClaimMs.lab} ms (user ${split.lab.user}, sys ${split.lab.sys}), insurer ${cpuPerClaimMs.insurer} ms (user ${split.insurer.user}, sys ${split.insurer.sys}), anvil ${cpuPerClaimMs.chain} ms, this client ${cpuPerClaimMs.client} ms\n`,
        );
      }
    }

    // ------------------------------------------------------------ gas, from the receipts
    const gasByLevel = [];
    for (const clients of LEVELS) {
      const txs: ChainTx[] = [];
      for (const r of runs.filter((x) => x.clients === clients))
        txs.push(...(await claimsTxs(t.conn, claimsAddress, r.fromBlock, r.toBlock)));
      const of = (fn: string) => txs.filter((x) => x.fn === fn);
      const sum = (xs: ChainTx[], k: 'gas' | 'claims') => xs.reduce((n, x) => n + x[k], 0);
      const submit = of('submitBatch');
      const decide = of('decideFirstBatch');
      const sizes = (xs: ChainTx[]) => {
        const m: Record<string, number> = {};
        for (const x of xs) m[x.claims] = (m[x.claims] ?? 0) + 1;
        return m;
      };
      gasByLevel.push({
        clients,
        submitBatches: submit.length,
        submitBatchSizes: sizes(submit),
        decideBatches: decide.length,
        decideBatchSizes: sizes(decide),
        submitGasPerClaim: r0(sum(submit, 'gas') / sum(submit, 'claims')),
        decideGasPerClaim: r0(sum(decide, 'gas') / sum(decide, 'claims')),
        gasPerClaim: r0((sum(submit, 'gas') + sum(decide, 'gas')) / sum(submit, 'claims')),
        otherClaimsTxs: txs.length - submit.length - decide.length,
      });
    }
    // What one durable commit costs on this disk now (the store's settings: WAL, synchronous=FULL).
    const scratch = openDatabase(path.join(dir, 'fsync.db'), ['CREATE TABLE t (x INTEGER)']);
    const insert = scratch.prepare('INSERT INTO t (x) VALUES (?)');
    const commitMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const c0 = performance.now();
      insert.run(i);
      commitMs.push(performance.now() - c0);
    }
    scratch.close();

    for (const s of servers.splice(0)) await s.stop();
    const outbox = {
      lab: outboxTimes(dbFileOf(dirs.lab)),
      insurer: outboxTimes(dbFileOf(dirs.insurer)),
    };
    const chainMs = (rows: { what: string; status: string; ms: number }[], prefix: string) => {
      const xs = rows.filter((r) => r.what.startsWith(prefix) && r.status === 'confirmed').map((r) => r.ms);
      return xs.length ? { n: xs.length, p50Ms: r2(median(xs)), p90Ms: r2(quantile(xs, 0.9)) } : { n: 0 };
    };
    const profiles = PROFILE
      ? Object.fromEntries(
          names.map((n) => {
            const f = readdirSync(path.join(profDir, n)).find((x) => x.endsWith('.cpuprofile'));
            return [n, f ? profileByModule(path.join(profDir, n, f)) : undefined];
          }),
        )
      : undefined;

    const levels = LEVELS.map((clients) => {
      const mine = runs.filter((r) => r.clients === clients);
      const outcomes: Record<string, number> = {};
      for (const r of mine)
        for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
      return {
        clients,
        claimsPerRound: clients * PER_CLIENT,
        rounds: mine.length,
        claimsPerSec: r2(median(mine.map((r) => r.claimsPerSec))),
        p50Ms: r2(median(mine.map((r) => r.p50Ms))),
        p99Ms: r2(median(mine.map((r) => r.p99Ms))),
        errors: mine.reduce((n, r) => n + r.errors, 0),
        outcomes,
        cpuPerClaimMs: {
          lab: r2(median(mine.map((r) => r.cpuPerClaimMs.lab))),
          insurer: r2(median(mine.map((r) => r.cpuPerClaimMs.insurer))),
          chain: r2(median(mine.map((r) => r.cpuPerClaimMs.chain))),
          client: r2(median(mine.map((r) => r.cpuPerClaimMs.client))),
        },
      };
    });
    const loadEnd = load();
    const result = {
      levels,
      gas: gasByLevel,
      chain: {
        submitBatch: chainMs(outbox.lab, 'claims batch'),
        decideFirstBatch: chainMs(outbox.insurer, 'claims decisions'),
      },
      durableCommitMs: { p50: r2(median(commitMs)), p90: r2(quantile(commitMs, 0.9)) },
      setupMs: r0(setupMs),
      ...(profiles ? { profiles } : {}),
    };
    const md = report(result, loadStart, loadEnd);
    const meta = {
      bench: 'claims',
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      rounds: ROUNDS,
      perClient: PER_CLIENT,
      profiled: PROFILE,
      loadAverageStart: loadStart,
      loadAverageEnd: loadEnd,
      targets: TARGET,
    };
    writeFileSync(
      path.join(outDir, 'claims.json'),
      `${JSON.stringify({ ...meta, results: result, samples: { runs } }, null, 2)}\n`,
    );
    writeFileSync(
      path.join(outDir, 'claims.md'),
      `# Claims, end to end\n\n${meta.date}, ${meta.node}, ${md}\n`,
    );
    process.stdout.write(
      `${md}\n\nwrote bench/results/claims.json and bench/results/claims.md${PROFILE ? `; profiles in ${profDir}` : ''}\n`,
    );
  } finally {
    for (const s of servers) await s.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Result = {
  levels: {
    clients: number;
    claimsPerRound: number;
    rounds: number;
    claimsPerSec: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
    outcomes: Record<string, number>;
    cpuPerClaimMs: { lab: number; insurer: number; chain: number; client: number };
  }[];
  gas: {
    clients: number;
    submitBatches: number;
    submitBatchSizes: Record<string, number>;
    decideBatches: number;
    decideBatchSizes: Record<string, number>;
    submitGasPerClaim: number;
    decideGasPerClaim: number;
    gasPerClaim: number;
  }[];
  chain: Record<string, { n: number; p50Ms?: number; p90Ms?: number }>;
  durableCommitMs: { p50: number; p90: number };
  profiles?: Record<string, ReturnType<typeof profileByModule> | undefined>;
};

function report(r: Result, loadStart: number[], loadEnd: number[]): string {
  const sizes = (m: Record<string, number>) =>
    Object.entries(m)
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([k, v]) => `${k}×${v}`)
      .join(', ');
  const prof = r.profiles
    ? Object.entries(r.profiles).flatMap(([n, p]) =>
        p
          ? [
              '',
              `### ${n} process: ${p.busyMs} ms busy of ${p.totalMs} ms profiled (self time by module, top 12)`,
              '',
              '| module | ms | share of busy |',
              '|---|---:|---:|',
              ...p.top.slice(0, 12).map((x) => `| ${x.module} | ${x.ms} | ${x.shareOfBusy} |`),
            ]
          : [],
      )
    : [];
  return [
    `${os.cpus().length} CPUs, load average ${loadStart.join(' ')} at the start, ${loadEnd.join(' ')} at the end; medians over ${ROUNDS} rounds${r.profiles ? '; BOTH NODES UNDER --cpu-prof (slower than unprofiled)' : ''}`,
    '',
    '## Claims adjudicated end to end (billing client -> lab `Claim/$submit` -> insurer -> ClaimResponse)',
    '',
    '| billing clients at once | claims per round | claims/s | p50 ms | p99 ms | refused | outcomes | CPU ms per claim, lab | CPU ms per claim, insurer | CPU ms per claim, anvil | CPU ms per claim, billing clients |',
    '|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|',
    ...r.levels.map(
      (x) =>
        `| ${x.clients} | ${x.claimsPerRound} | ${x.claimsPerSec} (${r2(x.claimsPerSec / TARGET.claimsPerSec)}x the ${TARGET.claimsPerSec}/s target) | ${x.p50Ms} | ${x.p99Ms} | ${x.errors} | ${Object.entries(
          x.outcomes,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(
            ', ',
          )} | ${x.cpuPerClaimMs.lab} | ${x.cpuPerClaimMs.insurer} | ${x.cpuPerClaimMs.chain} | ${x.cpuPerClaimMs.client} |`,
    ),
    '',
    'CPU per claim: user + system time of each node process (/proc/<pid>/stat, all its threads: GC, libuv, SQLite included) during the level, divided by the claims answered (median over rounds).',
    '',
    '## Gas per claim (receipts of the level’s blocks; batch sizes as they occurred, size×count)',
    '',
    '| clients | submitBatch sizes | submit gas/claim | decideFirstBatch sizes | decide gas/claim | total gas/claim |',
    '|---:|---|---:|---|---:|---:|',
    ...r.gas.map(
      (g) =>
        `| ${g.clients} | ${sizes(g.submitBatchSizes)} | ${g.submitGasPerClaim} | ${sizes(g.decideBatchSizes)} | ${g.decideGasPerClaim} | ${g.gasPerClaim} |`,
    ),
    '',
    `Chain time per transaction (outbox: enqueued to mined and settled; dry run, estimate, sign, broadcast, receipt poll): submitBatch p50 ${r.chain.submitBatch?.p50Ms} ms (p90 ${r.chain.submitBatch?.p90Ms}, n ${r.chain.submitBatch?.n}), decideFirstBatch p50 ${r.chain.decideFirstBatch?.p50Ms} ms (p90 ${r.chain.decideFirstBatch?.p90Ms}, n ${r.chain.decideFirstBatch?.n}). One durable commit on this disk: ${r.durableCommitMs.p50} ms p50, ${r.durableCommitMs.p90} ms p90.`,
    ...prof,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
