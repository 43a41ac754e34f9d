/**
 * The claims rule engine: coverage first (a claim outside it is rejected, not adjudicated), then
 * every line rule, merged. A line with any denying finding is denied, else with any pending
 * finding pended, else approved (paid its charge: medchain has no fee schedule yet). The claim is
 * pended if any line is, denied if every line is, approved otherwise. Pure and deterministic:
 * lines are considered in sequence order, so the array order of the input never matters.
 */
import type { LineFindings } from './_lineFindings.js';
import { bySequence } from './_lineFindings.js';
import { checkCoverage } from './coverageRule.js';
import { crossPayerFindings } from './crossPayerRule.js';
import { duplicateFindings } from './duplicateRule.js';
import type { EditTables } from './editTables.js';
import {
  type AdjudicationContext,
  type ClaimInput,
  type ClaimState,
  type Decision,
  type Finding,
  FRAUD,
  type LineAdjudication,
  type LineStatus,
} from './model.js';
import { mueFindings } from './mueRule.js';
import { phantomFindings } from './phantomRule.js';
import { ptpFindings } from './ptpRule.js';

/** Adjudicate `claim` with the facts in `ctx` under `tables`. */
export function adjudicate(claim: ClaimInput, ctx: AdjudicationContext, tables: EditTables): Decision {
  const rejection = checkCoverage(claim, ctx.coverage);
  if (rejection) return rejection;
  const all: LineFindings[] = [
    duplicateFindings(claim, ctx.history),
    crossPayerFindings(claim, ctx.crossPayerDuplicates),
    ptpFindings(claim, ctx.history, tables.ptp),
    mueFindings(claim, ctx.history, tables.mue),
    phantomFindings(claim, ctx.evidence),
  ];
  let fraudFlags = 0;
  const lines = bySequence(claim.lines).map((line): LineAdjudication => {
    const findings: Finding[] = all.flatMap((m) => m.get(line.sequence) ?? []);
    for (const f of findings) if (f.flag) fraudFlags |= FRAUD[f.flag];
    const status: LineStatus = findings.some((f) => f.effect === 'denied')
      ? 'denied'
      : findings.length > 0
        ? 'pended'
        : 'approved';
    return {
      sequence: line.sequence,
      status,
      findings,
      submitted: line.net,
      benefit: status === 'approved' ? line.net : 0,
    };
  });
  const state: ClaimState = lines.some((l) => l.status === 'pended')
    ? 'pended'
    : lines.every((l) => l.status === 'denied')
      ? 'denied'
      : 'approved';
  return {
    kind: 'adjudicated',
    state,
    lines,
    fraudFlags,
    submitted: lines.reduce((n, l) => n + l.submitted, 0),
    benefit: lines.reduce((n, l) => n + l.benefit, 0),
    tables: [tables.ptp, tables.mue].map((t) => ({ name: t.name, version: t.version, sha256: t.sha256 })),
  };
}
