import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import { RPC_ALLOWED_METHODS } from './rpcProxy.js';

/** A stand-in for the chain's RPC that records every request it gets. */
interface FakeUpstream {
  url: string;
  seen: { headers: IncomingHttpHeaders; body: unknown }[];
  /** How the next answers behave. */
  behaviour: 'answer' | 'slow' | 'garbage' | 'drop-second';
  close(): Promise<void>;
}

async function fakeUpstream(): Promise<FakeUpstream> {
  const up: Omit<FakeUpstream, 'url' | 'close'> = { seen: [], behaviour: 'answer' };
  const answer = (c: { id: number; method: string; params?: unknown }) =>
    c.method === 'eth_call'
      ? { jsonrpc: '2.0', id: c.id, error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } }
      : { jsonrpc: '2.0', id: c.id, result: { method: c.method, params: c.params ?? null } };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      const body = JSON.parse(text);
      up.seen.push({ headers: req.headers, body });
      // Far beyond the proxy's 500 ms timeout, so a loaded machine cannot blur the two.
      if (up.behaviour === 'slow') return void setTimeout(() => res.end('{}'), 15_000).unref();
      if (up.behaviour === 'garbage') return void res.end('<html>proxy error</html>');
      let out = Array.isArray(body) ? body.map(answer) : answer(body);
      if (up.behaviour === 'drop-second' && Array.isArray(out)) out = out.filter((_, i) => i !== 1);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(up, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  }) as FakeUpstream;
}

let up: FakeUpstream;
let t: TestNode;
before(async () => {
  up = await fakeUpstream();
  t = await startTestNode({ roles: [], rpcProxy: { upstreamUrl: up.url, timeoutMs: 500 } });
});
after(async () => {
  await t.close();
  await up.close();
});

const call = (method: string, id: number | string = 1, params: unknown = []) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});

async function rpc(
  body: unknown,
  opts: { node?: TestNode; headers?: Record<string, string>; ip?: string } = {},
) {
  const r = await (opts.node ?? t).app.inject({
    method: 'POST',
    url: '/rpc',
    headers: { 'content-type': 'application/json', ...opts.headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    ...(opts.ip ? { remoteAddress: opts.ip } : {}),
  });
  return { status: r.statusCode, json: () => r.json(), headers: r.headers };
}

describe('POST /rpc forwards allow-listed calls', () => {
  test('an allowed call reaches the chain as a clean JSON-RPC call and its answer comes back', async () => {
    up.seen.length = 0;
    const r = await rpc(
      {
        ...call('eth_getBalance', 'client-id-7', ['0x0000000000000000000000000000000000000001', 'latest']),
        extra: 1,
      },
      { headers: { authorization: 'Bearer secret-token', cookie: 'session=abc' } },
    );
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      jsonrpc: '2.0',
      id: 'client-id-7',
      result: { method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] },
    });
    assert.equal(up.seen.length, 1);
    const seen = up.seen[0] as FakeUpstream['seen'][number];
    assert.deepEqual(seen.body, {
      jsonrpc: '2.0',
      id: 0,
      method: 'eth_getBalance',
      params: ['0x0000000000000000000000000000000000000001', 'latest'],
    });
    assert.equal(seen.headers.authorization, undefined, 'no credentials are passed on');
    assert.equal(seen.headers.cookie, undefined);
  });

  test('every allow-listed method is forwarded', async () => {
    up.seen.length = 0;
    const methods = [...RPC_ALLOWED_METHODS];
    const r = await rpc(methods.map((m, i) => call(m, i)));
    assert.equal(r.status, 200);
    const seen = up.seen.flatMap((s) => s.body as { method: string }[]).map((c) => c.method);
    assert.deepEqual(seen, methods);
    assert.deepEqual(
      (r.json() as { id: number }[]).map((a) => a.id),
      methods.map((_, i) => i),
    );
  });

  test('an error from the chain (a revert) passes through with its data', async () => {
    const r = await rpc(
      call('eth_call', 3, [{ to: '0x0000000000000000000000000000000000000001' }, 'latest']),
    );
    assert.deepEqual(r.json(), {
      jsonrpc: '2.0',
      id: 3,
      error: { code: 3, message: 'execution reverted', data: '0x08c379a0' },
    });
  });
});

describe('POST /rpc refuses everything else without calling the chain', () => {
  const forbidden = [
    'anvil_impersonateAccount',
    'anvil_setBalance',
    'anvil_setCode',
    'anvil_setStorageAt',
    'anvil_mine',
    'anvil_dumpState',
    'evm_mine',
    'evm_increaseTime',
    'evm_snapshot',
    'evm_revert',
    'hardhat_setBalance',
    'hardhat_impersonateAccount',
    'debug_traceTransaction',
    'admin_peers',
    'admin_addPeer',
    'personal_sendTransaction',
    'personal_unlockAccount',
    'txpool_content',
    'eth_sendTransaction',
    'eth_sign',
    'eth_accounts',
    'ETH_CHAINID',
    'eth_chainId ',
    'frobnicate',
    '',
  ];

  test('each forbidden or unknown method: -32601, the chain is not contacted', async () => {
    up.seen.length = 0;
    for (const method of forbidden) {
      const r = await rpc(call(method, 9));
      assert.equal(r.status, 200, method);
      assert.equal(r.json().id, 9);
      assert.equal(r.json().error.code, -32601, method);
      assert.match(r.json().error.message, /method not allowed/);
    }
    assert.equal(up.seen.length, 0, 'the upstream never saw a request');
  });

  test('a batch with one forbidden call: the others are answered, that one refused, order kept', async () => {
    up.seen.length = 0;
    const r = await rpc([
      call('eth_chainId', 'a'),
      call('anvil_setBalance', 'b', ['0x0000000000000000000000000000000000000001', '0xffff']),
      call('eth_blockNumber', 'c'),
    ]);
    assert.equal(r.status, 200);
    const out = r.json() as { id: string; result?: { method: string }; error?: { code: number } }[];
    assert.deepEqual(
      out.map((a) => a.id),
      ['a', 'b', 'c'],
    );
    assert.equal(out[0]?.result?.method, 'eth_chainId');
    assert.equal(out[1]?.error?.code, -32601);
    assert.equal(out[2]?.result?.method, 'eth_blockNumber');
    assert.equal(up.seen.length, 1);
    assert.deepEqual(
      ((up.seen[0]?.body ?? []) as { method: string }[]).map((c) => c.method),
      ['eth_chainId', 'eth_blockNumber'],
      'only the allowed calls went upstream',
    );
  });

  test('a batch of only forbidden calls does not reach the chain', async () => {
    up.seen.length = 0;
    const r = await rpc([call('evm_mine', 1), call('anvil_setCode', 2)]);
    assert.deepEqual(
      (r.json() as { error: { code: number } }[]).map((a) => a.error.code),
      [-32601, -32601],
    );
    assert.equal(up.seen.length, 0);
  });

  test('bad requests: table of malformed calls, batches and bodies', async () => {
    up.seen.length = 0;
    const cases: [string, unknown, number, number][] = [
      ['no id (a notification)', { jsonrpc: '2.0', method: 'eth_chainId' }, 200, -32600],
      ['object id', { jsonrpc: '2.0', id: {}, method: 'eth_chainId' }, 200, -32600],
      ['no jsonrpc', { id: 1, method: 'eth_chainId' }, 200, -32600],
      ['jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'eth_chainId' }, 200, -32600],
      ['method not a string', { jsonrpc: '2.0', id: 1, method: 7 }, 200, -32600],
      ['params a string', { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: 'x' }, 200, -32600],
      ['a number', 42, 200, -32600],
      ['empty batch', [], 400, -32600],
      ['51 calls', Array.from({ length: 51 }, (_, i) => call('eth_chainId', i)), 400, -32600],
      ['not JSON', '{"jsonrpc":', 400, -32700],
      [
        'prototype poisoning',
        '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","__proto__":{"x":1}}',
        400,
        -32700,
      ],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await rpc(body);
      assert.equal(r.status, status, name);
      const a = r.json();
      assert.equal((Array.isArray(a) ? a[0] : a).error.code, code, name);
    }
    const text = await t.app.inject({
      method: 'POST',
      url: '/rpc',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify(call('eth_chainId')),
    });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().error.code, -32600);
    assert.equal(up.seen.length, 0);
  });

  test('a body over the limit is 413 and never forwarded', async () => {
    const small = await startTestNode({ roles: [], rpcProxy: { upstreamUrl: up.url, bodyLimit: 1024 } });
    try {
      up.seen.length = 0;
      const big = call('eth_sendRawTransaction', 1, [`0x${'ab'.repeat(1024)}`]);
      const r = await rpc(big, { node: small });
      assert.equal(r.status, 413);
      assert.equal(r.json().error.code, -32600);
      assert.match(r.json().error.message, /larger than 1024 bytes/);
      assert.equal((await rpc(call('eth_chainId'), { node: small })).status, 200, 'a small body passes');
      assert.equal(up.seen.length, 1);
    } finally {
      await small.close();
    }
  });
});

describe('POST /rpc limits', () => {
  test('each client has a budget of calls per minute (batch calls count); 429 beyond it, refilled in time', async () => {
    let clock = 1_000_000;
    const limited = await startTestNode({
      roles: [],
      rpcProxy: { upstreamUrl: up.url, callsPerMinute: 6, now: () => clock },
    });
    try {
      up.seen.length = 0;
      assert.equal(
        (await rpc([call('eth_chainId', 1), call('eth_chainId', 2)], { node: limited })).status,
        200,
      );
      for (let i = 0; i < 4; i++)
        assert.equal((await rpc(call('eth_chainId'), { node: limited })).status, 200);
      const over = await rpc(call('eth_chainId'), { node: limited });
      assert.equal(over.status, 429);
      assert.equal(over.json().error.code, -32005);
      assert.equal(over.headers['retry-after'], '10', 'one call refills in 10 s at 6 a minute');
      assert.equal(
        (await rpc(call('evm_mine'), { node: limited })).status,
        429,
        'refused calls count too: no free probing',
      );
      assert.equal(up.seen.length, 5, 'throttled calls never reach the chain (the batch was one request)');
      assert.equal(
        (await rpc(call('eth_chainId'), { node: limited, ip: '127.0.0.9' })).status,
        200,
        'another client has its own budget',
      );
      clock += 10_000;
      assert.equal((await rpc(call('eth_chainId'), { node: limited })).status, 200, 'refilled');
      assert.equal((await rpc(call('eth_chainId'), { node: limited })).status, 429);
      clock += 60_000;
      const batch = Array.from({ length: 7 }, (_, i) => call('eth_chainId', i));
      assert.equal((await rpc(batch, { node: limited })).status, 429, 'a batch larger than the budget');
    } finally {
      await limited.close();
    }
  });

  test('an unreachable, slow or garbled chain is a 503/502 JSON-RPC error, not a hang or a 500', async () => {
    up.behaviour = 'slow';
    try {
      const started = Date.now();
      const slow = await rpc(call('eth_chainId'));
      assert.equal(slow.status, 503);
      assert.match(slow.json().error.message, /did not answer in time/);
      assert.ok(Date.now() - started < 12_000, 'the 500 ms timeout applied, not the upstream’s 15 s');
      up.behaviour = 'garbage';
      const garbled = await rpc(call('eth_chainId'));
      assert.equal(garbled.status, 502);
      up.behaviour = 'drop-second';
      const partial = await rpc([call('eth_chainId', 1), call('eth_blockNumber', 2)]);
      assert.equal(partial.status, 200);
      assert.equal(partial.json()[1].error.code, -32603, 'a call the chain left unanswered is an error');
    } finally {
      up.behaviour = 'answer';
    }
    const tight = await startTestNode({ roles: [], rpcProxy: { upstreamUrl: up.url, maxResponseBytes: 64 } });
    try {
      const big = await rpc(call('eth_getLogs', 1, [{ fromBlock: '0x0', toBlock: 'latest' }]), {
        node: tight,
      });
      assert.equal(big.status, 502);
      assert.match(big.json().error.message, /too large/);
    } finally {
      await tight.close();
    }
    const down = await startTestNode({ roles: [], rpcProxy: { upstreamUrl: 'http://127.0.0.1:1' } });
    try {
      const r = await rpc(call('eth_chainId'), { node: down });
      assert.equal(r.status, 503);
      assert.equal(r.json().error.code, -32603);
      assert.match(r.json().error.message, /cannot be reached/);
      assert.equal(r.headers['retry-after'], '5');
    } finally {
      await down.close();
    }
  });

  test('browsers may call it: CORS preflight and answer headers, no sign-in needed', async () => {
    const pre = await t.app.inject({
      method: 'OPTIONS',
      url: '/rpc',
      headers: {
        origin: 'http://127.0.0.1:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://127.0.0.1:5173');
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    const r = await t.app.inject({
      method: 'POST',
      url: '/rpc',
      headers: { origin: 'http://127.0.0.1:5173', 'content-type': 'application/json' },
      payload: JSON.stringify(call('eth_chainId')),
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'http://127.0.0.1:5173');
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  test('a node without a chain has no /rpc', async () => {
    const bare = await startTestNode({ roles: [] });
    try {
      assert.equal((await rpc(call('eth_chainId'), { node: bare })).status, 404);
    } finally {
      await bare.close();
    }
  });
});
