import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { latestBlockOf } from './latestBlock.js';

const isUnavailable = (e: Error & { code?: string }) => {
  assert.equal(e.code, 'chain-unavailable');
  return true;
};

/** A raw TCP server on 127.0.0.1 answering each request with `answer(requestText, n)`. */
async function rawServer(answer: (request: string, n: number, socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  let n = 0;
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let text = '';
    s.on('data', (d) => {
      text += d.toString('latin1');
      // One request = headers + the Content-Length body.
      for (;;) {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (text.length < end + 4 + len) return;
        const req = text.slice(0, end + 4 + len);
        text = text.slice(end + 4 + len);
        answer(req, ++n, s);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/rpc`,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const idOf = (request: string) => Number(/"id":(\d+)/.exec(request)?.[1]);
const json = (id: number, result: string) => `{"jsonrpc":"2.0","id":${id},"result":"${result}"}`;

describe('latestBlockOf', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  test('asks eth_blockNumber over one kept-alive connection (node:http server)', async () => {
    const bodies: unknown[] = [];
    const connections = new Set<unknown>();
    let block = 0x10;
    const server = http.createServer((req, res) => {
      connections.add(req.socket);
      let text = '';
      req.on('data', (d) => {
        text += d;
      });
      req.on('end', () => {
        const body = JSON.parse(text) as { id: number };
        bodies.push({ ...body, path: req.url, type: req.headers['content-type'] });
        res.setHeader('content-type', 'application/json');
        res.end(json(body.id, `0x${(block++).toString(16)}`));
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    server.unref();
    const { port } = server.address() as net.AddressInfo;
    const latest = latestBlockOf(`http://127.0.0.1:${port}/rpc?x=1`);
    assert.equal(await latest(), 0x10n);
    assert.equal(await latest(), 0x11n);
    // Calls made together are sent one after the other and each gets its own answer.
    assert.deepEqual(await Promise.all([latest(), latest(), latest()]), [0x12n, 0x13n, 0x14n]);
    assert.equal(connections.size, 1, 'one connection for every call');
    assert.deepEqual(bodies[0], {
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_blockNumber',
      params: [],
      path: '/rpc?x=1',
      type: 'application/json',
    });
    server.closeAllConnections();
  });

  test('reads a chunked answer, and an answer delimited by the end of the connection', async () => {
    const s = await rawServer((req, n, socket) => {
      const body = json(idOf(req), '0x2a');
      if (n === 1)
        socket.write(
          `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`,
        );
      else socket.end(`HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n${body}`);
    });
    closers.push(s.close);
    const latest = latestBlockOf(s.url);
    assert.equal(await latest(), 42n);
    assert.equal(await latest(), 42n);
    // The connection the server closed is replaced.
    assert.equal(await latest(), 42n);
  });

  test('an answer that arrives in pieces is read once complete', async () => {
    const s = await rawServer((req, _n, socket) => {
      const text = `HTTP/1.1 200 OK\r\ncontent-length: ${json(idOf(req), '0x7').length}\r\n\r\n${json(idOf(req), '0x7')}`;
      let i = 0;
      const step = () => {
        if (i >= text.length) return;
        socket.write(text.slice(i, i + 7));
        i += 7;
        setImmediate(step);
      };
      step();
    });
    closers.push(s.close);
    assert.equal(await latestBlockOf(s.url)(), 7n);
  });

  test('a kept-alive connection the server closed while idle is replaced without failing the call', async () => {
    const s = await rawServer((req, _n, socket) => {
      const body = json(idOf(req), '0x1');
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    });
    closers.push(s.close);
    const latest = latestBlockOf(s.url);
    assert.equal(await latest(), 1n);
    for (const c of s.sockets) c.destroy(); // the server's idle timeout
    assert.equal(await latest(), 1n);
  });

  test('a kept-alive connection the server reset while idle is replaced without failing the call', async () => {
    let sockets: net.Socket[] = [];
    const s = await rawServer((req, _n, socket) => {
      const body = json(idOf(req), '0x2');
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      sockets = [socket];
    });
    closers.push(s.close);
    const latest = latestBlockOf(s.url);
    assert.equal(await latest(), 2n);
    for (const c of sockets) c.resetAndDestroy(); // a TCP reset, not a clean close
    assert.equal(await latest(), 2n);
  });

  test('a connection that fails during an answer, an error answer, a wrong id, garbage: typed failures', async () => {
    // A failed connection is tried once more (eth_blockNumber has no effect), so each of the first
    // two calls meets two failures.
    const s = await rawServer((req, n, socket) => {
      const id = idOf(req);
      if (n <= 2) socket.destroy();
      else if (n <= 4)
        // Half an answer, then the server gives up on the connection.
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"jso', () => socket.destroy());
      else if (n === 5) {
        const body = '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"boom"}}';
        socket.write(`HTTP/1.1 500 Internal\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      } else if (n === 6) {
        const body = json(id + 1, '0x1');
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      } else if (n === 7) socket.write('SMTP ready\r\n\r\n');
      else {
        const body = json(id, '0x9');
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
    closers.push(s.close);
    const latest = latestBlockOf(s.url);
    await assert.rejects(latest(), isUnavailable);
    await assert.rejects(latest(), isUnavailable);
    await assert.rejects(latest(), (e: Error & { code?: string; cause?: Error }) => {
      assert.match(String(e.cause?.message), /HTTP 500, boom/);
      return isUnavailable(e);
    });
    await assert.rejects(latest(), (e: Error & { code?: string; cause?: Error }) => {
      assert.match(String(e.cause?.message), /not \d+/);
      return isUnavailable(e);
    });
    await assert.rejects(latest(), isUnavailable);
    assert.equal(await latest(), 9n, 'a fresh connection after each failure');
  });

  test('no answer within the timeout fails typed; nothing listening fails typed; only http(s)', async () => {
    const s = await rawServer(() => {});
    closers.push(s.close);
    const t0 = Date.now();
    await assert.rejects(
      latestBlockOf(s.url, { timeoutMs: 100 })(),
      (e: Error & { code?: string; cause?: Error }) => {
        assert.match(String(e.cause?.message), /timeout/i);
        return isUnavailable(e);
      },
    );
    assert.ok(Date.now() - t0 >= 90);
    await assert.rejects(latestBlockOf('http://127.0.0.1:1/')(), isUnavailable);
    await assert.rejects(latestBlockOf('ws://127.0.0.1:1/')(), isUnavailable);
  });
});
