/**
 * The `fetchFn` of viem's http transport (a documented option of `http()`): each JSON-RPC request
 * through undici's request API over kept-alive connections, instead of the global fetch. fetch's
 * WHATWG Request, Response and body streams cost several times the CPU of the request itself,
 * and a node pays it on every chain call (the outbox's dry run, estimate, send and receipts, the
 * caches' log queries). viem reads of the answer only its status, two headers and its text
 * (viem/utils/rpc/http.js: `ok`, `status`, `statusText`, `headers.get`, `text()` when there is no
 * body stream), which is what this gives it; the size limit, timeout (its `signal`), retries and
 * errors stay viem's.
 */
import { Agent, request } from 'undici';

/** Kept-alive connections to the chain's JSON-RPC endpoints. */
const chainRpc = new Agent();

/** The part of a fetch Response that viem's http transport reads. */
interface RpcAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: null;
  text(): Promise<string>;
}

function headersOf(raw: Record<string, string | string[] | undefined>): RpcAnswer['headers'] {
  return {
    get: (name) => {
      const v = raw[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/** POST one JSON-RPC request (or batch) as viem's http transport asks it; answers what it reads. */
export async function rpcFetch(url: string | URL, init: RequestInit = {}): Promise<RpcAnswer> {
  const r = await request(url, {
    dispatcher: chainRpc,
    method: (init.method ?? 'POST') as 'POST',
    headers: init.headers as Record<string, string>,
    body: init.body as string,
    signal: init.signal ?? undefined,
  });
  const text = await r.body.text();
  return {
    ok: r.statusCode >= 200 && r.statusCode < 300,
    status: r.statusCode,
    statusText: '',
    headers: headersOf(r.headers),
    body: null,
    text: async () => text,
  };
}

/** `rpcFetch` as the type viem's `http({ fetchFn })` takes. */
export const viemFetch = rpcFetch as unknown as typeof fetch;
