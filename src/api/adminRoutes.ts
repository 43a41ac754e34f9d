/**
 * Administration of this member node: its pending chain transactions (the outbox) and integrity
 * checks run in the background with progress, for the portal's "verify now".
 *
 *   GET  /admin/outbox          -> {"pending": [...], "recent": [...]}
 *   GET  /admin/auth-failures   -> counts of requests without a valid credential, per client
 *   GET  /admin/alerts          -> {"breakGlass": [...]} every break-glass entry of this log, newest first
 *   POST /verify/runs           -> 202 {"id", "state": "running", ...}   (one run at a time)
 *   GET  /verify/runs/<id>      -> {"id", "state", "phase", "done", "total", "report"?}
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { entry } from '../access/accessLog.js';
import type { Actor, Gatekeeper } from '../access/gatekeeper.js';
import type { AuthFailureSnapshot } from '../access/unauthenticatedCounter.js';
import type { OutboxEntry } from '../chain/outbox.js';
import { errorMessage, forbidden, notFound } from '../errors.js';
import { decodeEntry } from '../log/entry.js';
import type { VerifyProgress, VerifyReport } from '../log/verifier.js';
import { actorOf, intQuery } from './http.js';

export interface VerifyRun {
  id: string;
  state: 'running' | 'done' | 'failed';
  phase: string;
  done: number;
  total: number;
  startedAt: number;
  finishedAt?: number;
  report?: VerifyReport;
  error?: string;
}

function requireAdmin(actor: Actor, what: string): void {
  if (actor.role !== 'admin') throw forbidden(`the ${actor.role} role may not ${what}; an admin may`);
}

export function adminRoutes(
  app: FastifyInstance,
  deps: {
    gate: Gatekeeper;
    verify?: (progress?: VerifyProgress) => Promise<VerifyReport>;
    outbox?: () => { pending: OutboxEntry[]; recent: OutboxEntry[] };
    /** The current counts of unauthenticated requests (UnauthenticatedCounter.snapshot). */
    authFailures?: () => AuthFailureSnapshot;
  },
): void {
  app.get('/admin/outbox', async (request) => {
    requireAdmin(actorOf(request), 'see the chain outbox');
    if (!deps.outbox) return { connected: false, pending: [], recent: [] };
    return { connected: true, ...deps.outbox() };
  });

  // The alert feed: every break-glass read this member made or answered, for the privacy office.
  app.get('/admin/alerts', async (request, reply) => {
    const actor = actorOf(request);
    requireAdmin(actor, 'see the alert feed');
    const q = request.query as { _count?: unknown };
    const count = q._count === undefined ? 100 : intQuery(q._count, '_count', { min: 1, max: 1000 });
    const breakGlass = deps.gate.breakGlassAlerts(count).map((e) => {
      const d = decodeEntry(e.leaf);
      return {
        index: d.index,
        time: new Date(d.time).toISOString(),
        actor: d.actor,
        patient: d.patient,
        outcome: d.outcome,
        target: d.target,
        reasonHash: d.queryHash,
        direction: d.actor.startsWith('member:') ? 'answered' : 'made',
      };
    });
    await deps.gate.log.append(entry(actor.id, 'audit-read', null, null, 'operations', 'permit', 'alerts'));
    reply.header('cache-control', 'no-store');
    return { breakGlass };
  });

  app.get('/admin/auth-failures', async (request, reply) => {
    requireAdmin(actorOf(request), 'see failed authentication counts');
    if (!deps.authFailures) throw notFound('failed authentication counts are not kept on this node');
    reply.header('cache-control', 'no-store');
    return deps.authFailures();
  });

  const runs = new Map<string, VerifyRun>();
  let current: VerifyRun | undefined;

  app.post('/verify/runs', async (request, reply) => {
    const actor = actorOf(request);
    requireAdmin(actor, 'run verification');
    const verify = deps.verify;
    if (!verify) throw notFound('verification is not available on this node');
    if (current?.state === 'running') return reply.code(202).send(current);
    const run: VerifyRun = {
      id: randomUUID(),
      state: 'running',
      phase: 'starting',
      done: 0,
      total: 0,
      startedAt: Date.now(),
    };
    runs.set(run.id, run);
    if (runs.size > 20) runs.delete(runs.keys().next().value as string);
    current = run;
    const progress: VerifyProgress = (phase, done, total) => Object.assign(run, { phase, done, total });
    // Let the response go out before the (synchronous, store-wide) check starts.
    setImmediate(() => {
      verify(progress)
        .then(async (report) => {
          await deps.gate.log.append({
            actor: actor.id,
            patient: null,
            action: 'verify',
            target: null,
            purpose: 'operations',
            outcome: report.ok ? 'permit' : 'deny',
            reason: report.ok ? 'ok' : 'integrity-failure',
            queryHash: null,
          });
          Object.assign(run, { state: 'done', report, finishedAt: Date.now() });
        })
        .catch(async (err: unknown) => {
          Object.assign(run, { state: 'failed', error: errorMessage(err), finishedAt: Date.now() });
          await deps.gate.log
            .append({
              actor: actor.id,
              patient: null,
              action: 'verify',
              target: null,
              purpose: 'operations',
              outcome: 'deny',
              reason: 'error',
              queryHash: null,
            })
            .catch(() => {}); // the log itself may be what failed; the run says so
        });
    });
    return reply.code(202).send(run);
  });

  app.get('/verify/runs/:id', async (request) => {
    requireAdmin(actorOf(request), 'see verification runs');
    const run = runs.get((request.params as { id: string }).id);
    if (!run) throw notFound('no such verification run (runs are kept in memory until the node restarts)');
    return run;
  });
}
