/**
 * One member node for a benchmark, as its own process (so the load generator and the other
 * members never share its event loop): a node prepared by the benchmark (its keys, store, users,
 * anchored log or commissioned units), served on 127.0.0.1 (a free port) with the chain, as
 * `medchain up` serves it (outbox, the claims and supply routes), without replication and without
 * anchoring during the run. Used by bench/claims.ts and bench/supply.ts.
 *
 *   node --import tsx bench/_memberServer.ts <dir> <manifest.json> <rpcUrl>
 *
 * The passphrase comes on the first line of standard input (never on the command line). Prints one
 * JSON line once it listens: {"url": ...}. Stops when its standard input closes (so a
 * `--cpu-prof` given to this process is written on the way out).
 */
import { createInterface } from 'node:readline';
import { readManifest } from '../src/chain/manifest.js';
import { openMemberNode, serveMemberNode } from '../src/node/memberNode.js';

const [dir, manifestFile, rpcUrl] = process.argv.slice(2);
if (!dir || !manifestFile || !rpcUrl) {
  process.stderr.write('usage: _memberServer.ts <dir> <manifest.json> <rpcUrl> (passphrase on stdin)\n');
  process.exit(2);
}
const lines = createInterface({ input: process.stdin });
const passphrase = await new Promise<string>((resolve) => lines.once('line', resolve));
const manifest = readManifest(manifestFile);
if (!manifest) throw new Error(`no deployment manifest at ${manifestFile}`);
const node = openMemberNode(dir, passphrase, { manifest });
const running = await serveMemberNode(node, {
  host: '127.0.0.1',
  port: 0,
  rpcUrl,
  replicate: false,
  // The benchmark anchored what it needs before the run; no anchoring during it.
  anchor: { intervalMs: 3_600_000 },
});
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
lines.on('close', () => {
  void running.close().then(() => {
    node.close();
    process.exit(0);
  });
});
