/**
 * The port a member of the local network listens on, chosen once and kept in the member's folder
 * (`<memberDir>/port.json`), so its URLs, the portal's origin and the key a patient keeps in the
 * browser (IndexedDB, per origin) survive a restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { writeFileAtomic } from '../util/atomicFile.js';
import { PRIVATE_FILE_MODE } from '../util/privateFiles.js';

export const portFileOf = (memberDir: string) => path.join(memberDir, 'port.json');

/** The port saved for the member, or undefined on its first start. */
export function savedPort(memberDir: string): number | undefined {
  const file = portFileOf(memberDir);
  if (!existsSync(file)) return undefined;
  let port: unknown;
  try {
    port = (JSON.parse(readFileSync(file, 'utf8')) as { port?: unknown }).port;
  } catch (cause) {
    throw new InvalidInputError(`${file} is not valid JSON; delete it to let the member pick a new port`, {
      cause,
    });
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidInputError(`${file}: port must be 1..65535; delete the file to pick a new one`);
  return port;
}

/** Keep the member's port for its next start (owner-only, like everything in the member folder). */
export function savePort(memberDir: string, port: number): void {
  writeFileAtomic(portFileOf(memberDir), `${JSON.stringify({ port })}\n`, PRIVATE_FILE_MODE);
}

/** Whether nothing listens on host:port now (a probe: bind and release at once). */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * A port nothing listens on now, picked by the operating system (listen on port 0, read it,
 * release it). Another program could take it before the node does; the node then says so.
 */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
