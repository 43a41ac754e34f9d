/**
 * One HTTP/1.1 response read from the bytes received so far (RFC 9112), for the small JSON-RPC
 * client of src/chain/latestBlock.ts: a status line, headers, and a body delimited by
 * Content-Length, by chunked transfer coding, or by the end of the connection. Interim (1xx)
 * responses are skipped. Bounded: headers at most 16 KiB, a body at most 64 KiB; a compressed
 * body, a malformed message or bytes after the response are errors (the connection is then given up).
 */

const MAX_HEAD = 16 * 1024;
const MAX_BODY = 64 * 1024;
const CRLF = Buffer.from('\r\n');
const END_OF_HEAD = Buffer.from('\r\n\r\n');

/** A complete response: its status, its body (UTF-8), and whether the connection ends after it. */
export interface RpcResponse {
  status: number;
  body: string;
  close: boolean;
}

/**
 * The response in `bytes` (everything received for it), undefined while it is incomplete;
 * `ended`: the connection has ended (a body without a length ends there). Throws on a malformed,
 * oversized or unsupported response.
 */
export function readResponse(bytes: Buffer, ended: boolean): RpcResponse | undefined {
  let at = 0;
  for (;;) {
    const headEnd = bytes.indexOf(END_OF_HEAD, at);
    if (headEnd < 0) {
      if (bytes.length - at > MAX_HEAD) throw new Error('HTTP: the response headers are too large');
      return undefined;
    }
    if (headEnd - at > MAX_HEAD) throw new Error('HTTP: the response headers are too large');
    const lines = bytes.toString('latin1', at, headEnd).split('\r\n');
    const m = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: .*)?$/.exec(lines[0] ?? '');
    if (!m) throw new Error('HTTP: not an HTTP/1.x response');
    const status = Number(m[2]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error('HTTP: a malformed header line');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    const bodyAt = headEnd + END_OF_HEAD.length;
    if (status < 200) {
      if (status === 101) throw new Error('HTTP: the server switched protocols');
      at = bodyAt; // an interim response: the real one follows
      continue;
    }
    const encoding = headers.get('content-encoding');
    if (encoding && encoding.toLowerCase() !== 'identity')
      throw new Error(`HTTP: a ${encoding}-encoded response (none was accepted)`);
    const connection = (headers.get('connection') ?? '').toLowerCase();
    let close = m[1] === '0' ? !/\bkeep-alive\b/.test(connection) : /\bclose\b/.test(connection);
    const te = headers.get('transfer-encoding');
    const length = headers.get('content-length');
    let body: Buffer | undefined;
    let end: number;
    if (te !== undefined) {
      if (te.toLowerCase() !== 'chunked') throw new Error(`HTTP: transfer coding ${te} is not supported`);
      const read = chunked(bytes, bodyAt);
      if (!read) return undefined;
      ({ body, end } = read);
    } else if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Error('HTTP: a malformed Content-Length');
      const n = Number(length);
      if (n > MAX_BODY) throw new Error('HTTP: the response body is too large');
      if (bytes.length < bodyAt + n) return undefined;
      body = bytes.subarray(bodyAt, bodyAt + n);
      end = bodyAt + n;
    } else {
      // Delimited by the end of the connection.
      if (bytes.length - bodyAt > MAX_BODY) throw new Error('HTTP: the response body is too large');
      if (!ended) return undefined;
      body = bytes.subarray(bodyAt);
      end = bytes.length;
      close = true;
    }
    if (end !== bytes.length) throw new Error('HTTP: bytes after the response');
    return { status, body: body.toString('utf8'), close };
  }
}

/** A chunked body starting at `at` (RFC 9112 §7.1), undefined while incomplete. */
function chunked(bytes: Buffer, at: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let size = 0;
  for (;;) {
    const lineEnd = bytes.indexOf(CRLF, at);
    if (lineEnd < 0) {
      if (bytes.length - at > 1024) throw new Error('HTTP: a malformed chunk');
      return undefined;
    }
    const sizeText = (bytes.toString('latin1', at, lineEnd).split(';')[0] as string).trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new Error('HTTP: a malformed chunk size');
    const n = Number.parseInt(sizeText, 16);
    at = lineEnd + CRLF.length;
    if (n === 0) {
      // Trailer fields (none expected), then the empty line.
      const trailerEnd = bytes.indexOf(CRLF, at);
      if (trailerEnd < 0) return undefined;
      if (trailerEnd !== at) {
        const end = bytes.indexOf(END_OF_HEAD, at - CRLF.length);
        if (end < 0) return undefined;
        return { body: Buffer.concat(parts, size), end: end + END_OF_HEAD.length };
      }
      return { body: Buffer.concat(parts, size), end: at + CRLF.length };
    }
    size += n;
    if (size > MAX_BODY) throw new Error('HTTP: the response body is too large');
    if (bytes.length < at + n + CRLF.length) return undefined;
    if (bytes[at + n] !== 0x0d || bytes[at + n + 1] !== 0x0a) throw new Error('HTTP: a malformed chunk');
    parts.push(bytes.subarray(at, at + n));
    at += n + CRLF.length;
  }
}
