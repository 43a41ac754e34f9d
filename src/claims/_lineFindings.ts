/** The per-line finding map every rule returns (sequence -> findings), and its helpers. */
import type { ClaimLine, Finding } from './model.js';

export type LineFindings = Map<number, Finding[]>;

export function addFinding(map: LineFindings, sequence: number, f: Finding): void {
  const list = map.get(sequence);
  if (list) list.push(f);
  else map.set(sequence, [f]);
}

/** Lines in sequence order: rules that break ties do it by sequence, never by array position. */
export const bySequence = (lines: readonly ClaimLine[]): ClaimLine[] =>
  [...lines].sort((a, b) => a.sequence - b.sequence);
