/**
 * A process that appends to a transparency log until it is killed, for the crash test
 * (src/log/logCrash.int.test.ts): 16 appends in flight at a time, and one line "ack <index>" on
 * stdout for every append whose promise resolved (acknowledged: the caller may serve after it).
 *
 *   node --import tsx test/support/logAppender.ts <database file>
 */
import { TransparencyLog } from '../../src/log/transparencyLog.js';
import { openDatabase } from '../../src/store/database.js';
import { NODE_MIGRATIONS } from '../../src/store/nodeSchema.js';

const [file] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: logAppender.ts <database file>\n');
  process.exit(2);
}
const log = new TransparencyLog(
  openDatabase(file, NODE_MIGRATIONS),
  '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD',
);
for (let n = 0; ; n += 16) {
  await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const r = await log.append({
        actor: `user-${n + i}`,
        patient: null,
        action: 'read',
        target: { resourceType: 'Observation', id: `o${n + i}`, version: 1, ciphertextHash: null },
        purpose: 'treatment',
        outcome: 'permit',
        reason: 'ok',
        queryHash: null,
      });
      process.stdout.write(`ack ${r.index}\n`);
    }),
  );
}
