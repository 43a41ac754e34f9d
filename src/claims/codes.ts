/**
 * Code shapes and modifier sets the rules share. Procedure codes are HCPCS Level II shaped (a
 * letter and four digits); medchain ships only synthetic Z codes and a few HCPCS Level II codes,
 * never CPT (its descriptors are licensed).
 */

/** A HCPCS Level II shaped procedure code (also the shape of medchain's synthetic Z codes). */
export const PROCEDURE_CODE = /^[A-Z][0-9]{4}$/;

/** A two-character procedure modifier (59, 76, XE, ...). */
export const MODIFIER_CODE = /^[A-Z0-9]{2}$/;

/** Repeat-service modifiers: a line carrying one is not an exact duplicate (76, 77, 91). */
export const REPEAT_MODIFIERS: ReadonlySet<string> = new Set(['76', '77', '91']);

/** Distinct-service modifiers that let a PTP pair with indicator 1 be billed together. */
export const DISTINCT_SERVICE_MODIFIERS: ReadonlySet<string> = new Set(['59', 'XE', 'XS', 'XP', 'XU']);

/** The modifiers as a set key: sorted, de-duplicated, joined (order never matters to a rule). */
export const modifierKey = (modifiers: readonly string[]): string => [...new Set(modifiers)].sort().join(',');

export const hasAny = (modifiers: readonly string[], set: ReadonlySet<string>): boolean =>
  modifiers.some((m) => set.has(m));
