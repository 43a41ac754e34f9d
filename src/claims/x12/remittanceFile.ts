/**
 * Writes a payment run's 835 to a file atomically, and only once it reads back and reconciles
 * with node-x12 (`read835.ts`): a remittance that does not balance never reaches the provider.
 */
import { writeFileAtomic } from '../../util/atomicFile.js';
import { RemittanceError } from '../claimsError.js';
import { read835 } from './read835.js';
import { type PaymentRun, writeRemittance835 } from './remittance835.js';

/** Write `run` as an X12 835 to `file` (crash-safe); returns the text written. */
export function writeRemittanceFile(file: string, run: PaymentRun): string {
  const text = writeRemittance835(run);
  const { problems } = read835(text);
  if (problems.length > 0) {
    throw new RemittanceError(`the 835 for trace ${run.traceNumber} does not reconcile; nothing written`, {
      details: problems,
    });
  }
  writeFileAtomic(file, text);
  return text;
}
