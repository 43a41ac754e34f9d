/**
 * The first check of a custody request's JSON body (commission, ship, receive): an object holding
 * only the fields that request has; anything else is a 400 saying what to send.
 */
import { badRequest } from '../errors.js';

/** `body` as an object of only `allowed` fields; 400 with `usage` when it is not an object, or naming the stray field as not part of `what`. */
export function requestBody(
  body: unknown,
  allowed: readonly string[],
  usage: string,
  what: string,
): Record<string, unknown> {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw badRequest(usage);
  for (const k of Object.keys(b))
    if (!allowed.includes(k)) throw badRequest(`"${k.slice(0, 40)}" is not part of ${what}`);
  return b;
}
