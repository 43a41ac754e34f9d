/** POST /auth/login: OAuth2-shaped token response; failed and throttled sign-ins are logged. */
import type { FastifyInstance } from 'fastify';
import type { Gatekeeper } from '../access/gatekeeper.js';
import type { LoginThrottle } from '../access/loginThrottle.js';
import { isUserRole } from '../access/roles.js';
import type { SessionStore } from '../access/sessions.js';
import type { UnauthenticatedCounter } from '../access/unauthenticatedCounter.js';
import { verifyPassword } from '../crypto/password.js';
import { badRequest, tooMany, unauthorized } from '../errors.js';
import type { UserStore } from '../store/userStore.js';

/** A hash to verify against when the username is unknown, so timing does not reveal which users exist. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/**
 * Count a sign-in attempt of `client` (its IP address) on `account` (LoginThrottle: per account
 * and address, per address, per account, with growing waits). While throttled the attempt is
 * refused with 429 and Retry-After; the first refusal after a failure is logged against `actorId`,
 * repeats are only counted (with `unauthenticated`) so a flood of refused attempts writes nothing.
 * The attempt is counted before the slow credential check, so parallel guesses cannot all slip in
 * under the limit; call the returned `succeeded` after a good sign-in.
 */
export async function countSignInAttempt(
  deps: { gate: Gatekeeper; throttle: LoginThrottle; unauthenticated?: UnauthenticatedCounter },
  account: string,
  client: string,
  actorId: string,
): Promise<{ succeeded: () => void }> {
  const admission = deps.throttle.admit(account, client);
  if (!admission.admitted) {
    if (admission.firstRefusal) await deps.gate.login(actorId, false, 'throttled');
    else deps.unauthenticated?.refused(client);
    throw tooMany(`too many failed sign-ins; try again in ${admission.retryAfter} s`, admission.retryAfter);
  }
  return admission;
}

export function authRoutes(
  app: FastifyInstance,
  deps: {
    gate: Gatekeeper;
    users: UserStore;
    sessions: SessionStore;
    throttle: LoginThrottle;
    unauthenticated?: UnauthenticatedCounter;
  },
): void {
  app.post('/auth/login', async (request, reply) => {
    const body = request.body as { username?: unknown; password?: unknown } | undefined;
    if (
      typeof body?.username !== 'string' ||
      typeof body?.password !== 'string' ||
      body.username.length > 64
    ) {
      throw badRequest('send {"username": "...", "password": "..."}');
    }
    const user = deps.users.byUsername(body.username);
    const actorId = user?.id ?? deps.gate.pseudonym(body.username);
    const attempt = await countSignInAttempt(deps, `user:${body.username}`, request.ip, actorId);
    const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_HASH);
    // A role this node does not know (a store from another version) signs no one in.
    if (!user || !ok || user.disabled || !isUserRole(user.role)) {
      await deps.gate.login(
        actorId,
        false,
        user && (user.disabled || !isUserRole(user.role)) ? 'disabled' : 'bad-credentials',
      );
      throw unauthorized('wrong username or password');
    }
    attempt.succeeded();
    await deps.gate.login(user.id, true, 'ok');
    const { token, expiresIn } = deps.sessions.issue(user.id, user.role);
    reply.header('cache-control', 'no-store');
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: user.role };
  });
}
