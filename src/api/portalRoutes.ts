/**
 * The portal: the built single-page app (web/, built by Vite into web/dist) at `/`, and
 * GET /portal/config, the public facts the portal needs to reach the chain and this member. The
 * portal reads consent, members and anchored log heads from the chain itself, so what it shows as
 * "on chain" or "verified" does not rest on this node's word.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Address } from 'viem';

export interface PortalConfig {
  member: { address: Address; name: string };
  chain: {
    chainId: number;
    /**
     * A JSON-RPC URL browsers may read from (eth_call, eth_getBlockByNumber): by default `/rpc`, a
     * path on this node (its allow-listing proxy), which the portal resolves against the origin it
     * was loaded from, so it stays right behind a TLS-terminating reverse proxy.
     */
    rpcUrl: string;
    contracts: { Registry: Address; Consent: Address; AuditAnchor: Address; Claims?: Address };
  } | null;
}

/** The portal's files may load only from this origin; its data calls go to members and the chain. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function portalRoutes(
  app: FastifyInstance,
  portal: { config: PortalConfig; staticDir?: string },
): void {
  app.get('/portal/config', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return portal.config;
  });
  const dir = portal.staticDir;
  if (dir && existsSync(path.join(dir, 'index.html'))) {
    app.register(fastifyStatic, {
      root: path.resolve(dir),
      prefix: '/',
      wildcard: true,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (res, file) => {
        res.setHeader('content-security-policy', CSP);
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('referrer-policy', 'no-referrer');
        // Hashed asset names never change; index.html must be fetched fresh.
        res.setHeader(
          'cache-control',
          file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
        );
      },
    });
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The portal is not built. Run `npm run build:portal` (npm start does this), then reload.\n'),
    );
  }
}
