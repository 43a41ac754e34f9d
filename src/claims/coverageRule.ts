/**
 * Coverage in force on every date of service, checked before any adjudication: a claim with a
 * line outside the coverage (or no active coverage with this payer) is rejected, not adjudicated.
 */
import { CARC } from './carc.js';
import type { ClaimInput, CoverageFacts, Rejection } from './model.js';

/** The rejection when coverage is not in force on some date of service; undefined when it is. */
export function checkCoverage(claim: ClaimInput, coverage: CoverageFacts | undefined): Rejection | undefined {
  if (coverage?.status !== 'active' || coverage.payer.toLowerCase() !== claim.payer.toLowerCase()) {
    return { kind: 'rejected', carc: CARC.notInsured, text: 'no active coverage with this payer' };
  }
  for (const line of claim.lines) {
    if (coverage.start !== undefined && line.servicedDate < coverage.start) {
      return {
        kind: 'rejected',
        carc: CARC.beforeCoverage,
        text: `line ${line.sequence}: the date of service is before the coverage starts`,
      };
    }
    if (coverage.end !== undefined && line.servicedDate > coverage.end) {
      return {
        kind: 'rejected',
        carc: CARC.afterCoverage,
        text: `line ${line.sequence}: the date of service is after the coverage ended`,
      };
    }
  }
  return undefined;
}
