/**
 * HTTP throughput as users measure it: autocannon (32 connections) against one member node and,
 * in the same run, against the same FHIR path without security (bench/unsecuredBaseline.ts), in
 * alternating rounds (member, baseline, member, baseline, ...) of each scenario:
 *
 *   create   POST /fhir/Observation (the same body every time)
 *   read     GET /fhir/Observation/{id}, a random one of 200 created beforehand
 *   search   GET /fhir/Observation?patient=Patient/{id}&code=http://loinc.org|{code}, 20 matches
 *
 * Each server runs in a child process of its own, and autocannon runs here: on a 2-core machine
 * the load generator and the server compete for the CPU either way, but in separate processes
 * neither waits on the other's event loop, and both servers are measured under the same
 * arrangement. The member is a node without a chain (sign-in, access decision, encryption, the
 * transparency log written durably before anything is served; no anchoring, no replication);
 * its clinician signs in before each round.
 *
 * Reports, per scenario, medians over rounds of successful requests per second and of p50/p99
 * latency, the member/baseline ratio, each server's own CPU time per request (process.cpuUsage in
 * the server: the figure that holds when other work loads the machine), and every non-2xx answer
 * or connection error (they must be zero). Writes bench/results/http.json and bench/results/http.md with the load average at the
 * start and the end.
 *
 *   BENCH_HTTP_ROUNDS (or BENCH_ROUNDS)  rounds per scenario and server, default 5
 *   BENCH_HTTP_SECONDS                   seconds per round, default 10
 *   BENCH_HTTP_CONNECTIONS               concurrent connections, default 32
 *   BENCH_HTTP_SCENARIOS                 comma-separated subset of read,search,create (default all)
 *   BENCH_HTTP_MEMBER_NODE_ARGS          extra node flags for the member's process (e.g. --cpu-prof)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median } from './_stats.js';

const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);
const WARMUP_SECONDS = Math.min(3, SECONDS);
/** Observations of the searched patient: 20 per code. */
const SEARCHED = 20 * 10;
/** Observations of other patients, so the store is not only the searched set. */
const BACKGROUND = 800;
const SEEDED = SEARCHED + BACKGROUND;
const CODES = [
  '718-7',
  '2345-7',
  '2160-0',
  '2951-2',
  '2823-3',
  '17861-6',
  '6690-2',
  '789-8',
  '4548-4',
  '1742-6',
] as const;
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'results');
const repoRoot = path.resolve(here, '..');

/** The issue's goals for a member, against the unsecured path measured in the same run. */
const GOALS: Record<string, { perSec: number; ratio: number }> = {
  create: { perSec: 1500, ratio: 0.75 },
  read: { perSec: 8000, ratio: 0.5 },
};

const FHIR_JSON = 'application/fhir+json';

const observation = (patientId: string, code: string) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code, display: 'Lab result' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2024-01-01T08:00:00.000Z',
  valueQuantity: { value: 13.5, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
});

type Kind = 'member' | 'baseline';
const KINDS: readonly Kind[] = ['member', 'baseline'];

export interface Target {
  kind: Kind;
  url: string;
  child: ChildProcess;
  /** The server's own CPU time so far, in ms (user + system), and the member's log counters. */
  usage(): Promise<{ cpuMs: number; log?: { commits: number; entries: number } }>;
  login: { username: string; password: string } | undefined;
  /** Headers every request carries (the member's bearer token; the baseline ignores it). */
  headers: Record<string, string>;
  /** Observations created before the rounds: read at random, 20 per code for `patientId`. */
  ids: string[];
  patientId: string;
  /** The patient the create rounds write for (so the searched set stays at 20). */
  createPatientId: string;
}

export interface Scenario {
  name: 'create' | 'read' | 'search';
  what: string;
  options(t: Target): Omit<autocannon.Options, 'url' | 'connections' | 'duration'>;
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const searchPath = (t: Target, code: string) =>
  `/fhir/Observation?patient=Patient/${t.patientId}&code=${encodeURIComponent(`http://loinc.org|${code}`)}`;

/** In the order of the report. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'create',
    what: 'POST /fhir/Observation',
    options: (t) => ({
      method: 'POST',
      headers: { ...t.headers, 'content-type': FHIR_JSON },
      body: JSON.stringify(observation(t.createPatientId, '718-7')),
    }),
  },
  {
    name: 'read',
    what: `GET /fhir/Observation/{id}, one of ${SEEDED} at random`,
    options: (t) => ({
      method: 'GET',
      headers: t.headers,
      requests: [{ setupRequest: (r) => ({ ...r, path: `/fhir/Observation/${pick(t.ids)}` }) }],
    }),
  },
  {
    name: 'search',
    what: 'GET /fhir/Observation?patient=...&code=... (20 results)',
    options: (t) => ({
      method: 'GET',
      headers: t.headers,
      requests: [{ setupRequest: (r) => ({ ...r, path: searchPath(t, pick(CODES)) }) }],
    }),
  },
];

/**
 * In the order they run: every round of one scenario (alternating servers) before the next, and
 * creates last, so reads and searches run on the same store on both sides (creates would add
 * more rows to the faster server, and a search's cost grows with the rows of its type).
 */
const ONLY = process.env.BENCH_HTTP_SCENARIOS?.split(',').map((x) => x.trim());
const RUN_ORDER: readonly Scenario[] = ['read', 'search', 'create']
  .filter((n) => !ONLY || ONLY.includes(n))
  .map((n) => SCENARIOS.find((s) => s.name === n) as Scenario);

/** Start a server process and wait (up to 60 s) for the line with its URL. */
export async function startServer(
  kind: Kind,
  dir: string,
  nodeArgs: readonly string[] = [],
  /** The checkout whose server runs (another one, to compare two versions side by side). */
  root = repoRoot,
): Promise<Target> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.join(root, 'bench', '_httpServer.ts'), kind, dir],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    const fail = (err: Error) => {
      child.kill();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`the ${kind} server printed no URL within 60 s`)), 60_000);
    lines.once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the ${kind} server exited (${code}) before it printed its URL`));
    });
  });
  const ready = JSON.parse(first) as { url: string; login?: { username: string; password: string } };
  // Later lines answer `cpu` requests, one at a time and in order.
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const usage = () =>
    new Promise<{ cpuMs: number; log?: { commits: number; entries: number } }>((resolve) => {
      waiting.push((l) => {
        const { cpu, log } = JSON.parse(l) as {
          cpu: { user: number; system: number };
          log?: { commits: number; entries: number };
        };
        resolve({ cpuMs: (cpu.user + cpu.system) / 1000, ...(log ? { log } : {}) });
      });
      child.stdin?.write('cpu\n');
    });
  return {
    kind,
    url: ready.url,
    child,
    usage,
    login: ready.login,
    headers: {},
    ids: [],
    patientId: '',
    createPatientId: '',
  };
}

/** Ask a server to stop (its stdin closes) and wait up to 30 s for it to exit; then kill it. */
export async function stopServer(t: Target): Promise<void> {
  if (t.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => t.child.once('exit', () => resolve()));
  t.child.stdin?.end();
  const timer = setTimeout(() => t.child.kill(), 30_000);
  await exited;
  clearTimeout(timer);
}

async function call(t: Target, method: string, p: string, body?: unknown): Promise<Response> {
  return fetch(`${t.url}${p}`, {
    method,
    headers: { ...t.headers, ...(body ? { 'content-type': FHIR_JSON } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

async function expectStatus(r: Response, status: number, what: string): Promise<unknown> {
  const text = await r.text();
  if (r.status !== status)
    throw new Error(`${what}: expected ${status}, got ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/**
 * A fresh bearer token for the member's clinician (tokens last 15 minutes; one per round). The
 * baseline gets a token of the same length, which it ignores, so both receive the same bytes.
 */
export async function signIn(t: Target): Promise<void> {
  if (!t.login) {
    t.headers = { authorization: `Bearer ${randomBytes(32).toString('base64url')}` };
    return;
  }
  const r = await fetch(`${t.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(t.login),
  });
  const body = (await expectStatus(r, 200, `${t.kind} sign-in`)) as { access_token: string };
  t.headers = { authorization: `Bearer ${body.access_token}` };
}

/** Create the patients and the Observations the read and search rounds use (the same on both servers). */
export async function seed(t: Target): Promise<void> {
  const patient = async (family: string) =>
    (
      (await expectStatus(
        await call(t, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family }] }),
        201,
        `${t.kind} create Patient`,
      )) as { id: string }
    ).id;
  t.patientId = await patient('Searched');
  t.createPatientId = await patient('Created');
  const others: string[] = [];
  for (let i = 0; i < BACKGROUND / 20; i++) others.push(await patient(`Other ${i}`));
  const bodies = Array.from({ length: SEEDED }, (_, i) =>
    observation(
      i < SEARCHED ? t.patientId : (others[i % others.length] as string),
      CODES[i % CODES.length] as string,
    ),
  );
  // 16 at a time: seeding is not measured, only waited for.
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const r = await call(t, 'POST', '/fhir/Observation', body);
      t.ids.push(((await expectStatus(r, 201, `${t.kind} seed Observation`)) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Each scenario answers what it should on this server before anything is timed. */
export async function sanityCheck(t: Target): Promise<void> {
  const created = await call(t, 'POST', '/fhir/Observation', observation(t.createPatientId, '718-7'));
  const c = (await expectStatus(created, 201, `${t.kind} create`)) as {
    id: string;
    meta?: { versionId?: string };
  };
  if (c.meta?.versionId !== '1' || !created.headers.get('etag') || !created.headers.get('location'))
    throw new Error(`${t.kind} create: the answer lacks meta.versionId, ETag or Location`);
  const id = t.ids[0] as string;
  const read = (await expectStatus(
    await call(t, 'GET', `/fhir/Observation/${id}`),
    200,
    `${t.kind} read`,
  )) as {
    id: string;
  };
  if (read.id !== id) throw new Error(`${t.kind} read: asked for ${id}, got ${read.id}`);
  for (const code of CODES) {
    const bundle = (await expectStatus(
      await call(t, 'GET', searchPath(t, code)),
      200,
      `${t.kind} search`,
    )) as {
      total: number;
      entry?: unknown[];
    };
    if (bundle.total !== 20 || bundle.entry?.length !== 20)
      throw new Error(
        `${t.kind} search for ${code}: expected 20 of 20, got ${bundle.entry?.length} of ${bundle.total}`,
      );
  }
}

interface RoundSample {
  round: number;
  perSec: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** The server's CPU time over the round, per request answered (ms). */
  cpuMsPerRequest: number;
  /** The member's log entries per SQLite commit over the round (group commit). */
  logEntriesPerCommit?: number;
  /** Count per HTTP status, when any answer was not 2xx. */
  statuses?: Record<string, number>;
}

export async function load(t: Target, s: Scenario, seconds: number): Promise<autocannon.Result> {
  // The URL's path is the create's; read and search set theirs per request.
  return autocannon({
    url: `${t.url}/fhir/Observation`,
    connections: CONNECTIONS,
    duration: seconds,
    ...s.options(t),
  });
}

function statusCounts(r: autocannon.Result): Record<string, number> {
  const stats = (r as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  return Object.fromEntries(Object.entries(stats).map(([code, v]) => [code, v.count]));
}

const round1 = (x: number) => Number(x.toFixed(1));

interface ServerSummary {
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Median over rounds of the server's CPU ms per request. */
  cpuMsPerRequest: number;
  non2xx: number;
  errors: number;
}

export interface HttpRow {
  scenario: string;
  what: string;
  member: ServerSummary;
  baseline: ServerSummary;
  /** Member req/s over baseline req/s (medians). */
  ratio: number;
  goal?: { perSec: number; ratio: number; met: boolean };
}

/** Run every scenario against both servers in alternating rounds; medians per scenario. */
export async function runHttpBench(): Promise<{ rows: HttpRow[]; samples: Record<string, RoundSample[]> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'medchain-bench-http-'));
  const targets: Target[] = [];
  try {
    const memberArgs = process.env.BENCH_HTTP_MEMBER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    for (const kind of KINDS) {
      const sub = path.join(dir, kind);
      targets.push(await startServer(kind, sub, kind === 'member' ? memberArgs : []));
    }
    for (const t of targets) {
      await signIn(t);
      await seed(t);
      await sanityCheck(t);
    }
    const samples: Record<string, RoundSample[]> = {};
    for (const s of RUN_ORDER) {
      // Warm up (JIT, SQLite page cache) on this scenario; not recorded.
      for (const t of targets) await load(t, s, WARMUP_SECONDS);
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of targets) {
          await signIn(t);
          const before = await t.usage();
          const r = await load(t, s, SECONDS);
          const after = await t.usage();
          const cpu = after.cpuMs - before.cpuMs;
          const commits = (after.log?.commits ?? 0) - (before.log?.commits ?? 0);
          const perCommit =
            commits > 0
              ? Number((((after.log?.entries ?? 0) - (before.log?.entries ?? 0)) / commits).toFixed(1))
              : undefined;
          const key = `${s.name} ${t.kind}`;
          samples[key] = [
            ...(samples[key] ?? []),
            {
              round,
              perSec: round1(r['2xx'] / r.duration),
              p50: r.latency.p50,
              p99: r.latency.p99,
              requests: r.requests.total,
              non2xx: r.non2xx,
              errors: r.errors,
              timeouts: r.timeouts,
              cpuMsPerRequest: Number((cpu / Math.max(1, r.requests.total)).toFixed(3)),
              ...(perCommit !== undefined ? { logEntriesPerCommit: perCommit } : {}),
              ...(r.non2xx > 0 ? { statuses: statusCounts(r) } : {}),
            },
          ];
          process.stdout.write(
            `round ${round + 1}/${ROUNDS} ${s.name.padEnd(6)} ${t.kind.padEnd(8)} ${Math.round(r['2xx'] / r.duration)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, server CPU ${(cpu / Math.max(1, r.requests.total)).toFixed(3)} ms/req${perCommit !== undefined ? `, ${perCommit} log entries/commit` : ''}${r.non2xx || r.errors ? `, non-2xx ${r.non2xx}, errors ${r.errors}` : ''}\n`,
          );
        }
      }
    }
    const summary = (k: string): ServerSummary => {
      const xs = samples[k] ?? [];
      return {
        perSec: Math.round(median(xs.map((x) => x.perSec))),
        p50Ms: median(xs.map((x) => x.p50)),
        p99Ms: median(xs.map((x) => x.p99)),
        cpuMsPerRequest: median(xs.map((x) => x.cpuMsPerRequest)),
        non2xx: xs.reduce((a, x) => a + x.non2xx, 0),
        errors: xs.reduce((a, x) => a + x.errors, 0),
      };
    };
    const rows = SCENARIOS.filter((s) => RUN_ORDER.includes(s)).map((s): HttpRow => {
      const member = summary(`${s.name} member`);
      const baseline = summary(`${s.name} baseline`);
      const ratio = baseline.perSec > 0 ? Number((member.perSec / baseline.perSec).toFixed(2)) : 0;
      const g = GOALS[s.name];
      return {
        scenario: s.name,
        what: s.what,
        member,
        baseline,
        ratio,
        ...(g ? { goal: { ...g, met: member.perSec >= g.perSec && ratio >= g.ratio } } : {}),
      };
    });
    return { rows, samples };
  } finally {
    await Promise.all(targets.map(stopServer));
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

function table(rows: HttpRow[]): string {
  return [
    '| scenario | member req/s | unsecured req/s | member / unsecured | member p50 / p99 ms | unsecured p50 / p99 ms | server CPU ms/req (member; unsecured) | non-2xx, errors (member; unsecured) | goal |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${fmt(r.member.perSec)} | ${fmt(r.baseline.perSec)} | ${r.ratio}x | ${r.member.p50Ms} / ${r.member.p99Ms} | ${r.baseline.p50Ms} / ${r.baseline.p99Ms} | ${r.member.cpuMsPerRequest}; ${r.baseline.cpuMsPerRequest} | ${r.member.non2xx}, ${r.member.errors}; ${r.baseline.non2xx}, ${r.baseline.errors} | ${r.goal ? `>= ${fmt(r.goal.perSec)}/s and >= ${r.goal.ratio}x: ${r.goal.met ? 'met' : 'not met'}` : '-'} |`,
    ),
  ].join('\n');
}

export async function main(): Promise<void> {
  const loadStart = os.loadavg();
  const date = new Date().toISOString();
  const { rows, samples } = await runHttpBench();
  const loadEnd = os.loadavg();
  const meta = {
    bench: 'http',
    date,
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    loadavgStart: loadStart.map((x) => Number(x.toFixed(2))),
    loadavgEnd: loadEnd.map((x) => Number(x.toFixed(2))),
    rounds: ROUNDS,
    secondsPerRound: SECONDS,
    connections: CONNECTIONS,
    layout:
      'autocannon in the benchmark process; each server in its own child process on 127.0.0.1; rounds alternate member, unsecured',
  };
  const la = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
  const t = table(rows);
  if (ONLY) {
    // A subset of the scenarios is a development run: printed, never written over the results.
    process.stdout.write(
      `\nload average ${la(loadStart)} -> ${la(loadEnd)}\n${t}\n\n(not written: BENCH_HTTP_SCENARIOS)\n`,
    );
    return;
  }
  writeFileSync(
    path.join(outDir, 'http.json'),
    `${JSON.stringify({ ...meta, results: rows, samples }, null, 2)}\n`,
  );
  writeFileSync(
    path.join(outDir, 'http.md'),
    [
      '# HTTP: one member vs the same FHIR path without security',
      '',
      `${date}, ${meta.node}, ${meta.cpus} x ${meta.cpuModel}; load average (1, 5, 15 min) ${la(loadStart)} at the start, ${la(loadEnd)} at the end.`,
      `autocannon, ${CONNECTIONS} connections, ${ROUNDS} rounds x ${SECONDS} s per scenario and server, alternating member / unsecured; medians over rounds. Each server in its own process, the load generator in a third, on the same machine.`,
      '',
      t,
      '',
      'member: sign-in, access decision, encryption, transparency log written durably before serving (no chain). unsecured: bench/unsecuredBaseline.ts (same validation, same durable SQLite, same response shape; no auth, encryption or log).',
      '',
    ].join('\n'),
  );
  process.stdout.write(
    `\nload average ${la(loadStart)} -> ${la(loadEnd)}\n${t}\n\nwrote bench/results/http.json and bench/results/http.md\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
