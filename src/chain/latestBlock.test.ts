import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { ChainUnavailableError } from '../errors.js';
import { MalformedResponseError, parseResponse } from './_rpcResponse.js';
import { latestBlockOf } from './latestBlock.js';

const servers: { close: () => void }[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A JSON-RPC endpoint on 127.0.0.1 answering with `respond`; counts connections and requests. */
async function rpcServer(respond: (res: http.ServerResponse, n: number) => void, keepAliveTimeout = 5_000) {
  const stats = { connections: 0, requests: 0, closed: 0, bodies: [] as string[] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      stats.bodies.push(body);
      respond(res, ++stats.requests);
    });
  });
  server.keepAliveTimeout = keepAliveTimeout;
  server.on('connection', (s: net.Socket) => {
    stats.connections++;
    s.on('close', () => stats.closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => server.close() });
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, stats, server };
}

const json = (res: http.ServerResponse, value: unknown, status = 200) => {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/** Until `cond` holds (polled), or fail after `ms` saying what was awaited. */
async function until(cond: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('latestBlockOf: eth_blockNumber over one kept-alive connection', () => {
  test('answers with the block number; calls share one connection, concurrent calls go one at a time', async () => {
    const s = await rpcServer((res, n) =>
      json(res, { jsonrpc: '2.0', id: 1, result: `0x${(n + 9).toString(16)}` }),
    );
    const latest = latestBlockOf(s.url);
    assert.equal(await latest(), 10n);
    assert.deepEqual(await Promise.all([latest(), latest(), latest()]), [11n, 12n, 13n]);
    assert.equal(s.stats.connections, 1);
    assert.deepEqual(JSON.parse(s.stats.bodies[0] as string), {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_blockNumber',
      params: [],
    });
  });

  test('a chunked response, and one that closes the connection, are read; the next call opens a new one', async () => {
    const s = await rpcServer((res, n) => {
      if (n === 1) {
        // No Content-Length: node:http sends it chunked.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"jsonrpc":"2.0","id":1,');
        res.end('"result":"0x2a"}');
      } else if (n === 2) {
        res.shouldKeepAlive = false;
        json(res, { jsonrpc: '2.0', id: 1, result: '0x2b' });
      } else json(res, { jsonrpc: '2.0', id: 1, result: '0x2c' });
    });
    const latest = latestBlockOf(s.url);
    assert.equal(await latest(), 42n);
    assert.equal(await latest(), 43n);
    assert.equal(await latest(), 44n);
    assert.equal(s.stats.connections, 2);
  });

  test('an idle connection the server closed (keep-alive timeout) is replaced without failing the call', async () => {
    const s = await rpcServer((res) => json(res, { jsonrpc: '2.0', id: 1, result: '0x7' }), 100);
    const latest = latestBlockOf(s.url);
    assert.equal(await latest(), 7n);
    await until(() => s.stats.closed === 1, 'the server to close the idle connection');
    assert.equal(await latest(), 7n);
    assert.equal(s.stats.connections, 2);
  });

  test('an HTTP error, a JSON-RPC error, a result that is not hex: ChainUnavailableError, and the next call works', async () => {
    const s = await rpcServer((res, n) => {
      if (n === 1) json(res, { error: 'down' }, 503);
      else if (n === 2) json(res, { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'nope' } });
      else if (n === 3) json(res, { jsonrpc: '2.0', id: 1, result: 'latest' });
      else json(res, { jsonrpc: '2.0', id: 1, result: '0x1' });
    });
    const latest = latestBlockOf(s.url);
    await assert.rejects(
      latest(),
      (e) => e instanceof ChainUnavailableError && /HTTP 503/.test(String(e.cause)),
    );
    await assert.rejects(latest(), (e) => e instanceof ChainUnavailableError && /nope/.test(String(e.cause)));
    await assert.rejects(latest(), ChainUnavailableError);
    assert.equal(await latest(), 1n);
  });

  test('no answer within the timeout: ChainUnavailableError; a later call on a new connection works', async () => {
    const s = await rpcServer((res, n) => {
      if (n > 1) json(res, { jsonrpc: '2.0', id: 1, result: '0x5' });
      // the first request is never answered
    });
    const latest = latestBlockOf(s.url, { timeoutMs: 200 });
    await assert.rejects(
      latest(),
      (e) => e instanceof ChainUnavailableError && /no answer in 200 ms/.test(String(e.cause)),
    );
    assert.equal(await latest(), 5n);
    assert.equal(s.stats.connections, 2);
  });

  test('a server that does not speak HTTP, and one that hangs up at once: ChainUnavailableError', async () => {
    for (const reply of ['SSH-2.0-OpenSSH\r\n\r\n', '']) {
      const server = net.createServer((sock) => (reply ? sock.end(reply) : sock.destroy()));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push({ close: () => server.close() });
      const { port } = server.address() as net.AddressInfo;
      await assert.rejects(latestBlockOf(`http://127.0.0.1:${port}/`)(), ChainUnavailableError);
    }
  });
});

describe('parseResponse (RFC 9112 framing)', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  const ok = 'HTTP/1.1 200 OK\r\n';

  test('Content-Length: incomplete until the body is in; extra bytes are not taken', () => {
    const full = `${ok}Content-Length: 5\r\n\r\nhello`;
    for (let cut = 0; cut < full.length; cut++) assert.equal(parseResponse(b(full.slice(0, cut))), undefined);
    const r = parseResponse(b(`${full}HTTP/1.1`));
    assert.equal(r?.body.toString(), 'hello');
    assert.equal(r?.used, full.length);
    assert.equal(r?.keepAlive, true);
    assert.equal(r?.status, 200);
  });

  test('chunked, with extensions and trailers; incomplete at every cut', () => {
    const full = `${ok}Transfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n`;
    for (let cut = 0; cut < full.length; cut++) assert.equal(parseResponse(b(full.slice(0, cut))), undefined);
    assert.equal(parseResponse(b(full))?.body.toString(), 'abcde');
  });

  test('Connection: close, HTTP/1.0, a body to the end of the connection, no body for 204', () => {
    assert.equal(parseResponse(b(`${ok}Connection: close\r\nContent-Length: 0\r\n\r\n`))?.keepAlive, false);
    assert.equal(parseResponse(b('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'))?.keepAlive, false);
    assert.equal(parseResponse(b(`${ok}\r\nrest`)), undefined);
    assert.equal(parseResponse(b(`${ok}\r\nrest`), true)?.body.toString(), 'rest');
    assert.equal(parseResponse(b('HTTP/1.1 204 No Content\r\n\r\n'))?.body.length, 0);
  });

  test('what is not an HTTP/1.x response is refused', () => {
    for (const bad of [
      'SSH-2.0-x\r\n\r\n',
      'HTTP/2 200\r\n\r\n',
      `${ok}Content-Length: -1\r\n\r\n`,
      `${ok}Content-Length: 1\r\nContent-Length: 2\r\n\r\n`,
      `${ok}Transfer-Encoding: gzip\r\n\r\n`,
      `${ok}no colon\r\n\r\n`,
      `${ok}Transfer-Encoding: chunked\r\n\r\nzz\r\n`,
      `${ok}Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n`,
    ])
      assert.throws(() => parseResponse(b(bad)), MalformedResponseError, bad);
    assert.throws(() => parseResponse(b(`${ok}Content-Length: 9\r\n\r\nabc`), true), MalformedResponseError);
    assert.throws(() => parseResponse(b('HTTP/1.1 200'), true), MalformedResponseError);
  });
});
