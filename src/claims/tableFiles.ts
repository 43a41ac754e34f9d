/** Reads the shipped edit tables from src/claims/tables/ (the only I/O of the claims rules). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type EditTables, parseMueTable, parsePtpTable } from './editTables.js';

/** The table files shipped with this version of medchain. */
export const SHIPPED_TABLES = { ptp: 'ptp.v1.json', mue: 'mue.v1.json' } as const;

const dir = fileURLToPath(new URL('./tables/', import.meta.url));

/** Load the shipped PTP and MUE tables (or others of the same format from `tablesDir`). */
export function loadEditTables(tablesDir = dir): EditTables {
  const read = (f: string) => new Uint8Array(readFileSync(`${tablesDir.replace(/\/?$/, '/')}${f}`));
  return {
    ptp: parsePtpTable(SHIPPED_TABLES.ptp, read(SHIPPED_TABLES.ptp)),
    mue: parseMueTable(SHIPPED_TABLES.mue, read(SHIPPED_TABLES.mue)),
  };
}
