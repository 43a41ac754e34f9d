/**
 * The versioned edit tables (procedure-to-procedure pairs and medically unlikely edits), parsed
 * from the bytes of their data files. Each table carries the SHA-256 of exactly those bytes, so a
 * payer can anchor it and anyone can check it with `sha256sum src/claims/tables/<file>`. Pure: the
 * caller reads the files (tableFiles.ts).
 */
import { createHash } from 'node:crypto';
import { EditTableError } from './claimsError.js';
import { PROCEDURE_CODE } from './codes.js';

/** NCCI-style modifier indicator: 0 never together, 1 allowed with a distinct-service modifier, 9 deleted. */
export type ModifierIndicator = 0 | 1 | 9;
/** MUE adjudication indicator: 1 line edit, 2 absolute per day, 3 per day (appealable). */
export type Mai = 1 | 2 | 3;

export interface PtpPair {
  column1: string;
  column2: string;
  modifierIndicator: ModifierIndicator;
}

export interface MueLimit {
  code: string;
  limit: number;
  mai: Mai;
}

interface TableMeta {
  name: string;
  version: string;
  /** SHA-256 of the file's bytes, lowercase hex. */
  sha256: string;
}

export interface PtpTable extends TableMeta {
  /** column2 code -> the pairs in which it is the column-two code. */
  byColumn2: ReadonlyMap<string, readonly PtpPair[]>;
}

export interface MueTable extends TableMeta {
  byCode: ReadonlyMap<string, MueLimit>;
}

/** The tables one adjudication applies. */
export interface EditTables {
  ptp: PtpTable;
  mue: MueTable;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function parseJson(name: string, bytes: Uint8Array, kind: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new EditTableError(name, 'is not valid JSON', { cause });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new EditTableError(name, 'is not an object');
  const o = v as Record<string, unknown>;
  if (o.table !== kind) throw new EditTableError(name, `"table" must be "${kind}"`);
  if (typeof o.version !== 'string' || !/^[0-9A-Za-z.-]{1,32}$/.test(o.version)) {
    throw new EditTableError(name, '"version" must be a short version string');
  }
  return o;
}

const code = (name: string, v: unknown, where: string): string => {
  if (typeof v !== 'string' || !PROCEDURE_CODE.test(v)) {
    throw new EditTableError(name, `${where} must be a HCPCS Level II shaped code (letter + 4 digits)`);
  }
  return v;
};

/** Parse a PTP table file; throws EditTableError naming the first bad entry. */
export function parsePtpTable(name: string, bytes: Uint8Array): PtpTable {
  const o = parseJson(name, bytes, 'ptp');
  if (!Array.isArray(o.pairs)) throw new EditTableError(name, '"pairs" must be an array');
  const byColumn2 = new Map<string, PtpPair[]>();
  const seen = new Set<string>();
  o.pairs.forEach((p: Record<string, unknown>, i) => {
    const column1 = code(name, p?.column1, `pairs[${i}].column1`);
    const column2 = code(name, p?.column2, `pairs[${i}].column2`);
    const modifierIndicator = p?.modifierIndicator;
    if (modifierIndicator !== 0 && modifierIndicator !== 1 && modifierIndicator !== 9) {
      throw new EditTableError(name, `pairs[${i}].modifierIndicator must be 0, 1 or 9`);
    }
    if (column1 === column2) throw new EditTableError(name, `pairs[${i}] pairs a code with itself`);
    const key = `${column1}/${column2}`;
    if (seen.has(key)) throw new EditTableError(name, `pairs[${i}] repeats ${key}`);
    // A pair listed both ways would deny both lines; the table must say which code is column one.
    if (seen.has(`${column2}/${column1}`))
      throw new EditTableError(name, `pairs[${i}] reverses ${column2}/${column1}`);
    seen.add(key);
    const list = byColumn2.get(column2) ?? [];
    list.push({ column1, column2, modifierIndicator });
    byColumn2.set(column2, list);
  });
  return { name, version: o.version as string, sha256: sha256Hex(bytes), byColumn2 };
}

/** Parse an MUE table file; throws EditTableError naming the first bad entry. */
export function parseMueTable(name: string, bytes: Uint8Array): MueTable {
  const o = parseJson(name, bytes, 'mue');
  if (!Array.isArray(o.limits)) throw new EditTableError(name, '"limits" must be an array');
  const byCode = new Map<string, MueLimit>();
  o.limits.forEach((l: Record<string, unknown>, i) => {
    const c = code(name, l?.code, `limits[${i}].code`);
    const limit = l?.limit;
    if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
      throw new EditTableError(name, `limits[${i}].limit must be a positive integer`);
    }
    const mai = l?.mai;
    if (mai !== 1 && mai !== 2 && mai !== 3)
      throw new EditTableError(name, `limits[${i}].mai must be 1, 2 or 3`);
    if (byCode.has(c)) throw new EditTableError(name, `limits[${i}] repeats ${c}`);
    byCode.set(c, { code: c, limit: limit as number, mai });
  });
  return { name, version: o.version as string, sha256: sha256Hex(bytes), byCode };
}
