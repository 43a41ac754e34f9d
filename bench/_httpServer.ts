/**
 * A server for the HTTP benchmark, run as its own process so that it has its own event loop and
 * never shares one with the load generator (bench/http.ts):
 *
 *   node --import tsx bench/_httpServer.ts member <dir>     a member node (no chain), one clinician
 *   node --import tsx bench/_httpServer.ts baseline <dir>   the unsecured baseline (unsecuredBaseline.ts)
 *
 * Prints one JSON line once it listens on 127.0.0.1 (a free port): {"url": ...}, and for the member
 * the sign-in of its clinician (a fresh random password, over the pipe only). Answers each line
 * `cpu` on its standard input with one JSON line of its own CPU time so far (process.cpuUsage, in
 * microseconds) and, for the member, its log's commit and entry counts, so the benchmark can report CPU per request when the machine is loaded. Stops
 * when its standard input closes, so it never outlives the benchmark.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { hashPassword } from '../src/crypto/password.js';
import { createIdentity } from '../src/node/memberIdentity.js';
import { keyFileOf, openMemberNode, serveMemberNode } from '../src/node/memberNode.js';
import { buildUnsecuredBaseline } from './unsecuredBaseline.js';

interface Started {
  url: string;
  /** The member's transparency log counters (SQLite commits, entries written). */
  logStats?: { commits: number; entries: number };
  login?: { username: string; password: string };
  close(): Promise<void>;
}

async function start(kind: string, dir: string): Promise<Started> {
  if (kind === 'member') {
    const passphrase = randomBytes(18).toString('base64url');
    createIdentity(keyFileOf(dir), passphrase);
    const node = openMemberNode(dir, passphrase);
    const login = { username: 'clinician', password: randomBytes(18).toString('base64url') };
    node.users.add(login.username, 'clinician', await hashPassword(login.password));
    const running = await serveMemberNode(node, { host: '127.0.0.1', port: 0 });
    return {
      url: running.url,
      login,
      logStats: node.log.stats,
      close: async () => {
        await running.close();
        node.close();
      },
    };
  }
  if (kind === 'baseline') {
    const baseline = buildUnsecuredBaseline(path.join(dir, 'baseline.db'));
    const url = await baseline.app.listen({ host: '127.0.0.1', port: 0 });
    return { url, close: () => baseline.close() };
  }
  throw new Error(`unknown server kind "${kind}"; use member or baseline`);
}

const [kind, dir] = process.argv.slice(2);
if (!kind || !dir) {
  process.stderr.write('usage: _httpServer.ts member|baseline <dir>\n');
  process.exit(2);
}
const server = await start(kind, dir);
process.stdout.write(`${JSON.stringify({ url: server.url, login: server.login })}\n`);
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (line.trim() === 'cpu')
    process.stdout.write(`${JSON.stringify({ cpu: process.cpuUsage(), log: server.logStats })}\n`);
});
commands.on('close', () => {
  void server.close().then(() => process.exit(0));
});
