/**
 * Test support: a member node in a fresh temporary directory with one user per role, and its API
 * built in process (for Fastify inject). Used by tests of src/api and src/node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { USER_ROLES, type UserRole } from '../../src/access/roles.js';
import { LoginThrottle, SessionStore } from '../../src/access/sessions.js';
import { UnauthenticatedCounter } from '../../src/access/unauthenticatedCounter.js';
import { type ApiDeps, buildApi } from '../../src/api/server.js';
import { hashPassword } from '../../src/crypto/password.js';
import { verifyStore } from '../../src/log/verifier.js';
import { createIdentity } from '../../src/node/memberIdentity.js';
import { keyFileOf, type MemberNode, openMemberNode } from '../../src/node/memberNode.js';

export const TEST_PASSPHRASE = 'test passphrase 123';
export const passwordOf = (role: UserRole) => `password-of-${role}`;

export interface TestNode {
  dir: string;
  node: MemberNode;
  app: FastifyInstance;
  /** A bearer token for a user of `role`. */
  token(role: UserRole): Promise<string>;
  close(): Promise<void>;
}

export async function startTestNode(
  opts: {
    bodyLimit?: number;
    roles?: readonly UserRole[];
    portal?: ApiDeps['portal'];
    throttle?: LoginThrottle;
    unauthenticated?: UnauthenticatedCounter;
    relayLimit?: ApiDeps['relayLimit'];
    rpcProxy?: ApiDeps['rpcProxy'];
    /** The claims services (src/api/claimRoutes.ts), e.g. doubles of them. */
    claims?: Pick<ApiDeps, 'submitClaim' | 'intakeClaim'>;
    /** More API dependencies, built from the node (e.g. eligibility, the dispute relay). */
    deps?: (node: MemberNode) => Partial<ApiDeps>;
  } = {},
): Promise<TestNode> {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-node-'));
  createIdentity(keyFileOf(dir), TEST_PASSPHRASE);
  const node = openMemberNode(dir, TEST_PASSPHRASE);
  for (const role of opts.roles ?? USER_ROLES)
    node.users.add(role, role, await hashPassword(passwordOf(role)));
  const app = buildApi({
    gate: node.gate,
    records: node.records,
    publisher: node.publisher,
    users: node.users,
    sessions: new SessionStore(),
    throttle: opts.throttle ?? new LoginThrottle(),
    // Summaries of unauthenticated attempts only at close, so they never land between a test's
    // log assertions (tests that are about summaries pass their own counter).
    unauthenticated:
      opts.unauthenticated ?? new UnauthenticatedCounter({ summaryIntervalMs: 24 * 3_600_000 }),
    ...(opts.relayLimit ? { relayLimit: opts.relayLimit } : {}),
    verify: async (progress) => verifyStore(node.db, [], progress),
    ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}),
    ...(opts.portal ? { portal: opts.portal } : {}),
    ...(opts.rpcProxy ? { rpcProxy: opts.rpcProxy } : {}),
    ...opts.claims,
    ...(opts.deps ? opts.deps(node) : {}),
  });
  const tokens = new Map<UserRole, string>();
  return {
    dir,
    node,
    app,
    token: async (role) => {
      const known = tokens.get(role);
      if (known) return known;
      const r = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: role, password: passwordOf(role) },
      });
      const t = r.json().access_token as string;
      tokens.set(role, t);
      return t;
    },
    close: async () => {
      await app.close();
      node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
