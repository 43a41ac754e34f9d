/**
 * Owner-only folders and files: a folder that holds keys, a store or chain state is mode 0700 and
 * each file in it 0600, so another account on the machine can neither list nor read them. Existing
 * folders and files that are open to group or others are tightened (never widened).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Chmod `p` to `mode` when group or others have any access to it; true when it was changed. */
function tighten(p: string, mode: number): boolean {
  const st = lstatSync(p);
  if (st.isSymbolicLink() || (st.mode & 0o077) === 0) return false;
  chmodSync(p, mode);
  return true;
}

/** Make `file` (when it exists) owner-only (0600); true when its mode was tightened. */
export function tightenPrivateFile(file: string): boolean {
  return existsSync(file) && tighten(file, PRIVATE_FILE_MODE);
}

/**
 * Make `dir` an owner-only folder: create it 0700 when missing (with `create`), tighten it to 0700
 * and every regular file directly in it to 0600. Returns the paths whose modes were tightened (not
 * the ones just created), so the caller can tell the operator once.
 */
export function securePrivateDir(dir: string, opts: { create?: boolean } = {}): string[] {
  const tightened: string[] = [];
  if (!existsSync(dir)) {
    if (!opts.create) return tightened;
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // mkdir applies the umask, which could leave the owner without a bit it needs: set it exactly.
    chmodSync(dir, PRIVATE_DIR_MODE);
    return tightened;
  }
  if (tighten(dir, PRIVATE_DIR_MODE)) tightened.push(dir);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(dir, entry.name);
    if (tighten(file, PRIVATE_FILE_MODE)) tightened.push(file);
  }
  return tightened;
}
