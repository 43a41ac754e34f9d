/**
 * POST /rpc: the chain JSON-RPC (JSON-RPC 2.0, single calls and batches) as browsers and the CLI may
 * use it. Only an allow-list of standard read methods plus eth_sendRawTransaction reaches the
 * node's upstream RPC; anything else (anvil_*, evm_*, hardhat_*, debug_*, admin_*, personal_*,
 * txpool_*, eth_sendTransaction, unknown names) is answered here with -32601 and never forwarded.
 * Bodies and batches are bounded, each client has a budget of calls per minute (429 beyond it),
 * no header of the caller (cookies, Authorization) is passed on, and the upstream call times out.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the proxy answers on a member node. */
export const RPC_PROXY_PATH = '/rpc';

/** The methods forwarded upstream: what viem's public actions and a wallet's broadcast need. */
export const RPC_ALLOWED_METHODS: ReadonlySet<string> = new Set([
  'web3_clientVersion',
  'net_version',
  'eth_chainId',
  'eth_blockNumber',
  'eth_call',
  'eth_estimateGas',
  'eth_getBalance',
  'eth_getCode',
  'eth_getStorageAt',
  'eth_getTransactionCount',
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getLogs',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
  'eth_sendRawTransaction',
]);

/** JSON-RPC 2.0 error codes (§5.1) and EIP-1474's "limit exceeded". */
export const RPC_ERRORS = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotAllowed: -32601,
  internal: -32603,
  limitExceeded: -32005,
} as const;

export interface RpcProxyOptions {
  /** The node's own chain JSON-RPC URL (never published). */
  upstreamUrl: string;
  /** Most calls in one batch (default 50). */
  maxBatch?: number;
  /** Largest request body in bytes (default 512 KiB: a contract deployment fits). */
  bodyLimit?: number;
  /** Calls (each call of a batch counts) one client address may make per minute (default 600). */
  callsPerMinute?: number;
  /** How long to wait for the upstream answer (default 10 s). */
  timeoutMs?: number;
  /** Largest upstream answer passed on, in bytes (default 16 MiB). */
  maxResponseBytes?: number;
  now?: () => number;
}

type Id = string | number | null;
interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}
interface RpcResponse {
  jsonrpc: '2.0';
  id: Id;
  result?: unknown;
  error?: RpcError;
}

const errorResponse = (id: Id, code: number, message: string): RpcResponse => ({
  jsonrpc: '2.0',
  id,
  error: { code, message },
});

/** A refusal of the whole HTTP request (not of one call in it). */
class RpcRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * A token bucket per client: `perMinute` calls, refilled continuously. The table is bounded: when
 * full, the longest-idle clients are forgotten first (they would have refilled anyway).
 */
class CallBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
    private readonly maxClients = 10_000,
  ) {}

  /** Take `n` calls from `client`'s budget; 0 when granted, else the seconds until they would be. */
  take(client: string, n: number): number {
    const t = this.now();
    const b = this.buckets.get(client) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) * this.perMinute) / 60_000);
    b.at = t;
    this.buckets.delete(client); // re-insert: Map order is then least recently seen first
    this.buckets.set(client, b);
    if (this.buckets.size > this.maxClients) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (n > this.perMinute) return 60;
    if (b.tokens >= n) {
      b.tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil(((n - b.tokens) * 60) / this.perMinute));
  }
}

const isId = (v: unknown): v is Id =>
  v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** Check one call; the upstream call to make (with our own id), or the answer to give instead. */
function checkCall(
  raw: unknown,
  upstreamId: number,
): { forward: Record<string, unknown>; id: Id } | { answer: RpcResponse } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { answer: errorResponse(null, RPC_ERRORS.invalidRequest, 'a call must be a JSON-RPC object') };
  const c = raw as Record<string, unknown>;
  if (!('id' in c) || !isId(c.id))
    return {
      answer: errorResponse(
        null,
        RPC_ERRORS.invalidRequest,
        'give each call an id (string or number); notifications are not accepted',
      ),
    };
  const id = c.id;
  if (c.jsonrpc !== '2.0' || typeof c.method !== 'string')
    return {
      answer: errorResponse(id, RPC_ERRORS.invalidRequest, 'expected {"jsonrpc":"2.0", "method", "id"}'),
    };
  if (c.params !== undefined && (typeof c.params !== 'object' || c.params === null))
    return { answer: errorResponse(id, RPC_ERRORS.invalidRequest, 'params must be an array or an object') };
  if (!RPC_ALLOWED_METHODS.has(c.method))
    return {
      answer: errorResponse(
        id,
        RPC_ERRORS.methodNotAllowed,
        `method not allowed: ${c.method.slice(0, 64)} (this endpoint serves standard reads and eth_sendRawTransaction)`,
      ),
    };
  const forward: Record<string, unknown> = { jsonrpc: '2.0', id: upstreamId, method: c.method };
  if (c.params !== undefined) forward.params = c.params;
  return { forward, id };
}

/** Read at most `limit` bytes of a response body as text. */
async function readBounded(r: Response, limit: number): Promise<string> {
  if (!r.body) return '';
  const reader = r.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new RpcRefusal(502, RPC_ERRORS.internal, 'the chain answer is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** POST the calls to the upstream RPC; the answers by our upstream id. */
async function callUpstream(
  opts: Required<Pick<RpcProxyOptions, 'upstreamUrl' | 'timeoutMs' | 'maxResponseBytes'>>,
  calls: Record<string, unknown>[],
): Promise<Map<number, RpcResponse>> {
  let text: string;
  try {
    const r = await fetch(opts.upstreamUrl, {
      method: 'POST',
      // Only what JSON-RPC needs: nothing of the caller's request (cookies, Authorization) is passed on.
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(calls.length === 1 ? calls[0] : calls),
      redirect: 'error',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    text = await readBounded(r, opts.maxResponseBytes);
  } catch (err) {
    if (err instanceof RpcRefusal) throw err;
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new RpcRefusal(
      503,
      RPC_ERRORS.internal,
      timedOut ? 'the chain did not answer in time; retry' : 'the chain cannot be reached; retry',
      { 'retry-after': '5' },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RpcRefusal(502, RPC_ERRORS.internal, 'the chain answered something that is not JSON-RPC');
  }
  const answers = new Map<number, RpcResponse>();
  for (const a of Array.isArray(parsed) ? parsed : [parsed]) {
    if (typeof a !== 'object' || a === null || typeof (a as RpcResponse).id !== 'number') continue;
    answers.set((a as { id: number }).id, a as RpcResponse);
  }
  return answers;
}

/** The client's answer for one forwarded call, from the upstream answer to it. */
function relayAnswer(id: Id, a: RpcResponse | undefined): RpcResponse {
  if (!a) return errorResponse(id, RPC_ERRORS.internal, 'the chain gave no answer to this call');
  if (a.error && typeof a.error === 'object') {
    const e = a.error;
    const out: RpcError = {
      code: typeof e.code === 'number' ? e.code : RPC_ERRORS.internal,
      message: typeof e.message === 'string' ? e.message : 'error',
    };
    // Revert data lets clients decode custom errors.
    if (e.data !== undefined) out.data = e.data;
    return { jsonrpc: '2.0', id, error: out };
  }
  return { jsonrpc: '2.0', id, result: a.result ?? null };
}

function sendRpc(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('application/json').send(body);
}

/** Register POST /rpc (in its own scope, with JSON-RPC error answers) on `app`. */
export function rpcProxyRoutes(app: FastifyInstance, options: RpcProxyOptions): void {
  const opts = {
    maxBatch: 50,
    bodyLimit: 512 * 1024,
    callsPerMinute: 600,
    timeoutMs: 10_000,
    maxResponseBytes: 16 * 1024 * 1024,
    now: Date.now,
    ...options,
  };
  const budget = new CallBudget(opts.callsPerMinute, opts.now);

  app.register(async (scope) => {
    scope.setErrorHandler(async (err: Error & { code?: string; statusCode?: number }, _request, reply) => {
      if (err instanceof RpcRefusal) {
        reply.headers(err.headers);
        return sendRpc(reply, err.status, errorResponse(null, err.code, err.message));
      }
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
        return sendRpc(
          reply,
          413,
          errorResponse(null, RPC_ERRORS.invalidRequest, `the body is larger than ${opts.bodyLimit} bytes`),
        );
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
        return sendRpc(
          reply,
          415,
          errorResponse(null, RPC_ERRORS.invalidRequest, 'send Content-Type: application/json'),
        );
      if (err.statusCode === 400 || err instanceof SyntaxError)
        return sendRpc(reply, 400, errorResponse(null, RPC_ERRORS.parse, 'the body is not valid JSON'));
      process.stderr.write(`medchain rpc proxy: internal error ${err.name}\n`);
      return sendRpc(reply, 500, errorResponse(null, RPC_ERRORS.internal, 'internal error'));
    });

    scope.post(RPC_PROXY_PATH, { bodyLimit: opts.bodyLimit }, async (request: FastifyRequest, reply) => {
      const body = request.body;
      const batch = Array.isArray(body);
      const calls: unknown[] = batch ? body : [body];
      if (calls.length === 0)
        throw new RpcRefusal(400, RPC_ERRORS.invalidRequest, 'an empty batch is not a request');
      if (calls.length > opts.maxBatch)
        throw new RpcRefusal(400, RPC_ERRORS.invalidRequest, `at most ${opts.maxBatch} calls per batch`);
      const wait = budget.take(request.ip, calls.length);
      if (wait > 0)
        throw new RpcRefusal(
          429,
          RPC_ERRORS.limitExceeded,
          `too many chain calls from this address (at most ${opts.callsPerMinute} a minute); retry in ${wait} s`,
          { 'retry-after': String(wait) },
        );

      const checked = calls.map((c, i) => checkCall(c, i));
      const forward = checked.flatMap((c) => ('forward' in c ? [c.forward] : []));
      const answers = forward.length > 0 ? await callUpstream(opts, forward) : new Map<number, RpcResponse>();
      const out = checked.map((c, i) => ('answer' in c ? c.answer : relayAnswer(c.id, answers.get(i))));
      return sendRpc(reply, 200, batch ? out : out[0]);
    });
  });
}
