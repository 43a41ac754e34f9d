/**
 * The chain's latest block number (`eth_blockNumber`, a standard JSON-RPC method) over a kept-alive
 * node:http(s) connection. Caches that must answer "as of the latest block now" ask it once per
 * read; through viem's client stack (fetch, retry, dedupe, timeout wrappers) one call costs about
 * 1.2 ms of CPU on the 2-core bench machine, over a plain kept-alive request about 0.3 ms.
 */
import http from 'node:http';
import https from 'node:https';
import { ChainUnavailableError } from '../errors.js';

/** Reads the latest block number of one JSON-RPC endpoint. */
export type LatestBlock = () => Promise<bigint>;

/** A `LatestBlock` for `rpcUrl` (http or https), each call a fresh request with `timeoutMs`. */
export function latestBlockOf(rpcUrl: string, opts: { timeoutMs?: number } = {}): LatestBlock {
  const url = new URL(rpcUrl);
  const mod = url.protocol === 'https:' ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: 8 });
  const timeout = opts.timeoutMs ?? 10_000;
  let id = 0;
  return () =>
    new Promise<bigint>((resolve, reject) => {
      const body = `{"jsonrpc":"2.0","id":${++id},"method":"eth_blockNumber","params":[]}`;
      const req = mod.request(
        url,
        {
          method: 'POST',
          agent,
          timeout,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('error', (err) => reject(new ChainUnavailableError(err)));
          res.on('end', () => {
            try {
              const r = JSON.parse(text) as { result?: unknown; error?: { message?: string } };
              if (res.statusCode !== 200 || typeof r.result !== 'string' || !/^0x[0-9a-f]+$/i.test(r.result))
                throw new Error(
                  `eth_blockNumber: HTTP ${res.statusCode}, ${r.error?.message ?? 'no result'}`,
                );
              resolve(BigInt(r.result));
            } catch (err) {
              reject(new ChainUnavailableError(err));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`eth_blockNumber: no answer in ${timeout} ms`)));
      req.on('error', (err) => reject(new ChainUnavailableError(err)));
      req.end(body);
    });
}
