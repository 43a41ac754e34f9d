/**
 * The chain's latest block number (`eth_blockNumber`, a standard JSON-RPC method) over one
 * kept-alive connection. Caches that must answer "as of the latest block now" ask it once per
 * read, so its cost is on every decision's path: through viem's client stack (fetch, retry,
 * dedupe, timeout wrappers) one call cost about 1.2 ms of CPU on the 2-core bench machine, through
 * node:http's client (ClientRequest, agent, IncomingMessage streams) about 0.3-0.5 ms inside a
 * custodian's answer. Here the one fixed request is written on the socket as bytes made once, and
 * its small answer read back by `readResponse` (src/chain/rpcResponse.ts): HTTP/1.1 with a
 * Content-Length or chunked body, at most 64 KiB.
 *
 * One request on the wire at a time (calls queue; the caches share one call per turn anyway).
 * A kept-alive connection that the server closed while idle is noticed on the next call: a call
 * whose connection fails before any byte of its answer arrived is sent once more on a new one
 * (eth_blockNumber has no effect, so this is safe); any other failure rejects with
 * ChainUnavailableError. An idle connection does not keep the process alive.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ChainUnavailableError } from '../errors.js';
import { readResponse } from './rpcResponse.js';

/** Reads the latest block number of one JSON-RPC endpoint. */
export type LatestBlock = () => Promise<bigint>;

interface Call {
  id: number;
  resolve: (block: bigint) => void;
  reject: (err: unknown) => void;
  /** Sent once more already (after its connection failed before answering). */
  retried: boolean;
}

/** A `LatestBlock` for `rpcUrl` (http or https), each call answered within `timeoutMs`. */
export function latestBlockOf(rpcUrl: string, opts: { timeoutMs?: number } = {}): LatestBlock {
  const url = new URL(rpcUrl);
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:')
    return () =>
      Promise.reject(new ChainUnavailableError(new Error(`eth_blockNumber: ${url.protocol} is not http(s)`)));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (secure ? 443 : 80));
  const timeout = opts.timeoutMs ?? 10_000;
  const auth = url.username
    ? `Authorization: Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}\r\n`
    : '';
  const head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${auth}Content-Type: application/json\r\nAccept: application/json\r\nConnection: keep-alive\r\n`;
  const requestOf = (id: number) => {
    const body = `{"jsonrpc":"2.0","id":${id},"method":"eth_blockNumber","params":[]}`;
    return `${head}Content-Length: ${body.length}\r\n\r\n${body}`;
  };

  const queue: Call[] = [];
  let socket: net.Socket | undefined;
  /** Bytes of the answer being read on `socket`. */
  let received: Buffer[] = [];
  let receivedBytes = 0;
  /** Whether `socket` carried an answer before (a server may close such a connection meanwhile). */
  let reused = false;
  let timer: NodeJS.Timeout | undefined;
  let id = 0;

  const fail = (err: unknown) => {
    const call = queue[0];
    const answerBegun = receivedBytes > 0;
    drop();
    if (!call) return;
    if (!call.retried && !answerBegun && err instanceof ConnectionLost && err.reused) {
      call.retried = true;
      send();
      return;
    }
    queue.shift();
    call.reject(err instanceof ChainUnavailableError ? err : new ChainUnavailableError(err));
    if (queue.length > 0) send();
  };

  /** Forget the connection (and the answer half read on it). */
  const drop = () => {
    clearTimeout(timer);
    timer = undefined;
    const s = socket;
    socket = undefined;
    if (s) {
      s.removeAllListeners();
      s.on('error', () => {}); // late errors of a connection given up on
      s.destroy();
    }
    received = [];
    receivedBytes = 0;
    reused = false;
  };

  const connect = (): net.Socket => {
    const s = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => {
      if (s !== socket) return;
      received.push(chunk);
      receivedBytes += chunk.length;
      let r: ReturnType<typeof readResponse>;
      try {
        r = readResponse(received.length === 1 ? chunk : Buffer.concat(received, receivedBytes), false);
      } catch (err) {
        fail(err);
        return;
      }
      if (r) answered(r);
    });
    s.on('end', () => {
      if (s !== socket) return;
      // An answer delimited by the end of the connection (no length given) is complete now.
      let r: ReturnType<typeof readResponse>;
      try {
        r = receivedBytes > 0 ? readResponse(Buffer.concat(received, receivedBytes), true) : undefined;
      } catch (err) {
        fail(err);
        return;
      }
      if (r) answered(r);
      else fail(new ConnectionLost(reused, new Error('the connection was closed')));
    });
    s.on('error', (err) => {
      if (s === socket) fail(new ConnectionLost(reused, err));
    });
    s.on('close', () => {
      if (s === socket) fail(new ConnectionLost(reused, new Error('the connection was closed')));
    });
    return s;
  };

  const answered = (r: NonNullable<ReturnType<typeof readResponse>>) => {
    const call = queue[0];
    if (!call) return fail(new Error('eth_blockNumber: an answer nobody asked for'));
    let block: bigint;
    try {
      block = blockOf(r.status, r.body, call.id);
    } catch (err) {
      return fail(err); // and the connection goes: what it carries next cannot be trusted
    }
    queue.shift();
    clearTimeout(timer);
    timer = undefined;
    received = [];
    receivedBytes = 0;
    if (r.close) drop();
    else {
      reused = true;
      if (queue.length === 0) socket?.unref();
    }
    call.resolve(block);
    if (queue.length > 0) send();
  };

  const send = () => {
    const call = queue[0] as Call;
    socket ??= connect();
    socket.ref();
    call.id = ++id;
    socket.write(requestOf(call.id));
    timer = setTimeout(() => fail(new Error(`eth_blockNumber: no answer in ${timeout} ms`)), timeout);
  };

  return () =>
    new Promise<bigint>((resolve, reject) => {
      queue.push({ id: 0, resolve, reject, retried: false });
      if (queue.length === 1) send();
    });
}

/** The connection failed; `reused`: it had carried an answer before (the server may have closed it idle). */
class ConnectionLost extends Error {
  constructor(
    readonly reused: boolean,
    cause: unknown,
  ) {
    super(`eth_blockNumber: ${(cause as Error).message ?? 'the connection failed'}`, { cause });
  }
}

/** The block number of a JSON-RPC answer to call `id`; throws when it is not one. */
function blockOf(status: number, body: string, id: number): bigint {
  let r: { id?: unknown; result?: unknown; error?: { message?: string } };
  try {
    r = JSON.parse(body);
  } catch {
    throw new Error(`eth_blockNumber: HTTP ${status}, the answer is not JSON`);
  }
  if (status !== 200 || typeof r.result !== 'string' || !/^0x[0-9a-f]+$/i.test(r.result))
    throw new Error(`eth_blockNumber: HTTP ${status}, ${r.error?.message ?? 'no result'}`);
  if (r.id !== id) throw new Error(`eth_blockNumber: the answer is to call ${String(r.id)}, not ${id}`);
  return BigInt(r.result);
}
