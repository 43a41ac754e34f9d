/**
 * Outbound HTTP, fetch against undici's request API, side by side in one process, alternated:
 *
 *   json-rpc   viem's http transport with the global fetch vs with src/chain/rpcFetch.ts (its
 *              `fetchFn`), eth_getBalance against the embedded chain, 8 in flight
 *   member     a 3 KB JSON POST to a local node:http server, fetch vs undici `request` through an
 *              Agent (as src/federation/memberClient.ts), 16 in flight, both with an abort signal
 *
 * Reports this process's CPU per call (user + system: the client's share, plus the local
 * server's for `member`). Prints; writes nothing.
 *
 *   node --import tsx bench/httpClients.ts     (BENCH_HTTP_CLIENT_CALLS, default 2000; 3 rounds)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { createPublicClient, http as httpTransport } from 'viem';
import { launchEmbeddedChain } from '../src/chain/embeddedChain.js';
import { viemFetch } from '../src/chain/rpcFetch.js';
import { median } from './_stats.js';

const CALLS = Number(process.env.BENCH_HTTP_CLIENT_CALLS ?? 2000);
const ROUNDS = 3;

/** CPU µs per call of `calls` calls of `once`, `inFlight` at a time. */
async function cpuPerCall(once: () => Promise<unknown>, inFlight: number): Promise<number> {
  const c0 = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < CALLS) await once();
    }),
  );
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / CALLS;
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'medchain-bench-http-clients-'));
  const chain = await launchEmbeddedChain({ dataDir: dir });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, pad: 'x'.repeat(2000) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/federation/x`;
  const payload = JSON.stringify({ a: 'y'.repeat(3000) });
  const members = new Agent();
  try {
    const rpc = (fetchFn?: typeof fetch) =>
      createPublicClient({
        transport: httpTransport(chain.rpcUrl, {
          retryCount: 2,
          timeout: 30_000,
          ...(fetchFn ? { fetchFn } : {}),
        }),
      });
    const viaFetch = rpc();
    const viaUndici = rpc(viemFetch);
    const balance = (c: typeof viaFetch) => () =>
      c.getBalance({ address: '0x1111111111111111111111111111111111111111' });
    const headers = { 'content-type': 'application/json', authorization: 'x' };
    const postFetch = async () =>
      (
        await fetch(url, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(10_000) })
      ).json();
    const postUndici = async () =>
      (
        await request(url, {
          dispatcher: members,
          method: 'POST',
          headers,
          body: payload,
          signal: AbortSignal.timeout(10_000),
        })
      ).body.json();
    const r: Record<string, number[]> = { rpcFetch: [], rpcUndici: [], postFetch: [], postUndici: [] };
    // One untimed round of each first (connections and the JIT warm up).
    for (let round = -1; round < ROUNDS; round++) {
      const got = {
        rpcFetch: await cpuPerCall(balance(viaFetch), 8),
        rpcUndici: await cpuPerCall(balance(viaUndici), 8),
        postFetch: await cpuPerCall(postFetch, 16),
        postUndici: await cpuPerCall(postUndici, 16),
      };
      if (round >= 0) for (const [k, v] of Object.entries(got)) r[k]?.push(v);
    }
    const m = (k: string) => median(r[k] ?? []).toFixed(0);
    process.stdout.write(
      `load ${os.loadavg()[0]?.toFixed(2)}; CPU µs per call, median of ${ROUNDS} rounds of ${CALLS}:\n` +
        `  JSON-RPC through viem: fetch ${m('rpcFetch')}, rpcFetch (undici) ${m('rpcUndici')}\n` +
        `  3 KB member POST (client and local server): fetch ${m('postFetch')}, undici request ${m('postUndici')}\n`,
    );
  } finally {
    await members.close();
    server.closeAllConnections();
    server.close();
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
