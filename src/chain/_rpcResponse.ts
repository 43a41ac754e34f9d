/**
 * Reading one HTTP/1.1 response (RFC 9112) from the bytes a kept-alive connection has received:
 * the status line, the headers, and a body framed by Content-Length, by chunked transfer coding
 * (§7.1), or (HTTP/1.0 style) by the connection's end. Only what src/chain/latestBlock.ts needs.
 */

/** A complete response, and how many bytes of the input it took. */
export interface RpcResponse {
  status: number;
  body: Buffer;
  /** False when the server closes the connection after this response. */
  keepAlive: boolean;
  used: number;
}

/** The response was not HTTP. */
export class MalformedResponseError extends Error {}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
/** Heads and chunk-size lines larger than this are not from a JSON-RPC server. */
const MAX_HEAD = 16 * 1024;

/**
 * The response at the start of `buf`, or undefined while more bytes are needed. `ended`: the
 * connection has closed, so a body framed by the end is complete. Throws MalformedResponseError.
 */
export function parseResponse(buf: Buffer, ended = false): RpcResponse | undefined {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd < 0) {
    if (buf.length > MAX_HEAD) throw new MalformedResponseError('response head too large');
    if (ended && buf.length > 0) throw new MalformedResponseError('connection closed inside a response head');
    return undefined;
  }
  const lines = buf.toString('latin1', 0, headEnd).split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new MalformedResponseError(`not an HTTP/1.x status line: ${(lines[0] ?? '').slice(0, 40)}`);
  const http10 = m[1] === '0';
  const status = Number(m[2]);
  let length: number | undefined;
  let chunked = false;
  let connection = '';
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MalformedResponseError('malformed header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value)))
        throw new MalformedResponseError('bad Content-Length');
      length = Number(value);
    } else if (name === 'transfer-encoding') {
      const codings = value
        .toLowerCase()
        .split(',')
        .map((s) => s.trim());
      if (codings.at(-1) !== 'chunked' || codings.some((c) => c !== 'chunked' && c !== 'identity'))
        throw new MalformedResponseError(`unsupported Transfer-Encoding ${value.slice(0, 40)}`);
      chunked = true;
    } else if (name === 'connection') connection = value.toLowerCase();
  }
  const tokens = connection.split(',').map((s) => s.trim());
  const keepAlive = http10 ? tokens.includes('keep-alive') : !tokens.includes('close');
  const start = headEnd + HEAD_END.length;
  // 1xx, 204 and 304 have no body (RFC 9112 §6.3).
  if ((status >= 100 && status < 200) || status === 204 || status === 304)
    return { status, body: Buffer.alloc(0), keepAlive, used: start };
  if (chunked) return chunkedBody(buf, start, status, keepAlive, ended);
  if (length !== undefined) {
    if (buf.length < start + length) {
      if (ended) throw new MalformedResponseError('connection closed inside a response body');
      return undefined;
    }
    return { status, body: buf.subarray(start, start + length), keepAlive, used: start + length };
  }
  // Neither: the body runs to the end of the connection.
  if (!ended) return undefined;
  return { status, body: buf.subarray(start), keepAlive: false, used: buf.length };
}

function chunkedBody(
  buf: Buffer,
  from: number,
  status: number,
  keepAlive: boolean,
  ended: boolean,
): RpcResponse | undefined {
  const parts: Buffer[] = [];
  let at = from;
  const more = () => {
    if (ended) throw new MalformedResponseError('connection closed inside a chunked body');
    return undefined;
  };
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return buf.length - at > MAX_HEAD ? bad('chunk size line too long') : more();
    const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(buf.toString('latin1', at, eol));
    if (!size) return bad('bad chunk size');
    const n = Number.parseInt(size[1] as string, 16);
    at = eol + CRLF.length;
    if (n === 0) {
      // Trailer fields, then the empty line.
      for (;;) {
        const end = buf.indexOf(CRLF, at);
        if (end < 0) return more();
        const empty = end === at;
        at = end + CRLF.length;
        if (empty) return { status, body: Buffer.concat(parts), keepAlive, used: at };
      }
    }
    if (buf.length < at + n + CRLF.length) return more();
    if (buf[at + n] !== 0x0d || buf[at + n + 1] !== 0x0a) return bad('chunk not followed by CRLF');
    parts.push(buf.subarray(at, at + n));
    at += n + CRLF.length;
  }
}

function bad(message: string): never {
  throw new MalformedResponseError(message);
}
