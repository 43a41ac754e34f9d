/**
 * viem's http transport over rpcFetch against a local JSON-RPC server: answers, JSON-RPC errors,
 * HTTP errors, batches and timeouts reach the caller exactly as they do through fetch.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createPublicClient, HttpRequestError, http as httpTransport, TimeoutError } from 'viem';
import { rpcFetch, viemFetch } from './rpcFetch.js';

let server: http.Server;
let url = '';
let hung: http.ServerResponse[] = [];
/** Hung requests whose connection the client closed. */
let abandoned = 0;

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.url === '/down') {
        res.writeHead(503, { 'content-type': 'text/plain', 'x-seen': req.headers['content-type'] ?? '' });
        res.end('maintenance');
        return;
      }
      if (req.url === '/hang') {
        hung.push(res);
        res.on('close', () => {
          abandoned++;
        });
        return;
      }
      const answer = (call: { id: number; method: string }) =>
        call.method === 'eth_blockNumber'
          ? { jsonrpc: '2.0', id: call.id, result: '0x2a' }
          : { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'method not found' } };
      const parsed = JSON.parse(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(answer) : answer(parsed)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const res of hung) res.destroy();
  hung = [];
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = (path = '/', opts: { timeout?: number; batch?: boolean } = {}) =>
  createPublicClient({
    transport: httpTransport(`${url}${path}`, {
      retryCount: 0,
      timeout: opts.timeout ?? 5_000,
      fetchFn: viemFetch,
      ...(opts.batch ? { batch: { wait: 0 } } : {}),
    }),
  });

describe('rpcFetch under viem', () => {
  test('an answer, and a JSON-RPC error as viem types it', async () => {
    assert.equal(await client().getBlockNumber({ cacheTime: 0 }), 42n);
    await assert.rejects(client().request({ method: 'eth_nope' as never }), (e: Error) => {
      assert.equal(e.constructor.name, 'MethodNotFoundRpcError');
      return true;
    });
  });

  test('a batch of reads begun together goes as one request and each gets its answer', async () => {
    const c = client('/', { batch: true });
    const [a, b] = await Promise.all([
      c.getBlockNumber({ cacheTime: 0 }),
      c.getBlockNumber({ cacheTime: 0 }),
    ]);
    assert.deepEqual([a, b], [42n, 42n]);
  });

  test('an HTTP error status is an HttpRequestError naming the status', async () => {
    await assert.rejects(client('/down').getBlockNumber({ cacheTime: 0 }), (e: Error) => {
      assert.ok(
        e instanceof HttpRequestError || (e as { cause?: unknown }).cause instanceof HttpRequestError,
      );
      assert.match(String((e as HttpRequestError).status ?? (e as Error).message), /503/);
      return true;
    });
  });

  test('a server that never answers: viem’s timeout ends the request and its connection', async () => {
    const t0 = Date.now();
    await assert.rejects(client('/hang', { timeout: 300 }).getBlockNumber({ cacheTime: 0 }), (e: Error) => {
      assert.ok(
        e instanceof TimeoutError || (e as { cause?: unknown }).cause instanceof TimeoutError,
        String(e),
      );
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, 'the timeout, not the test deadline, ended it');
    // viem's abort signal reaches undici: the request is cancelled, not left open.
    const deadline = Date.now() + 30_000;
    while (abandoned === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(abandoned, 1, 'waited 30 s for the client to close the timed-out request');
  });

  test('headers are read case-insensitively, the request sent as given', async () => {
    const r = await rpcFetch(`${url}/down`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    assert.equal(r.ok, false);
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('Content-Type'), 'text/plain');
    assert.equal(r.headers.get('X-SEEN'), 'application/json');
    assert.equal(r.headers.get('retry-after'), null);
    assert.equal(await r.text(), 'maintenance');
  });
});
