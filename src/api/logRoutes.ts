/**
 * The transparency log over HTTP (shapes after RFC 6962 §4, hashes in hex, entries in base64),
 * AuditEvent rendering, the patient's accounting of disclosures, and verification.
 *
 * Who reads what: the signed head and the inclusion and consistency proofs (hashes only) are for
 * any signed-in user and any active member (member-signed requests: that is how other members
 * monitor this log). The entries themselves say who accessed which patient's records: only this
 * member's admins read them, and each read or refused attempt is logged; a patient reads their own
 * entries at /patients/<address>/disclosures.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { getAddress, type Hex, isAddress } from 'viem';
import type { Gatekeeper } from '../access/gatekeeper.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import { AUDIT_EVENT } from '../fhir/interactions.js';
import { toAuditEvent } from '../log/auditEvent.js';
import { decodeEntry } from '../log/entry.js';
import type { LogPublisher } from '../log/logPublisher.js';
import type { VerifyReport } from '../log/verifier.js';
import type { RecordService } from '../records/recordService.js';
import { actorOf, intQuery, send } from './http.js';

export const MAX_ENTRIES_PER_CALL = 1000;
const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

export interface LogRouteDeps {
  gate: Gatekeeper;
  publisher: LogPublisher;
  records: RecordService;
  verify?: () => Promise<VerifyReport>;
}

/**
 * The fullUrl of a rendered log entry: a name-based UUID (RFC 9562 version 8, from SHA-256 of the
 * entry's id), the same in every answer. There is no AuditEvent read: entries are only searched.
 */
export function auditEventUrn(id: string): string {
  const b = createHash('sha256').update(`medchain AuditEvent\0${id}`).digest();
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function logRoutes(app: FastifyInstance, deps: LogRouteDeps): void {
  const { gate, publisher } = deps;
  const log = publisher.log;

  app.get('/log/head', async () => {
    const head = await publisher.head();
    const a = publisher.latestAnchored();
    return {
      ...head,
      anchored: a
        ? { treeSize: a.treeSize, rootHash: a.rootHash, txHash: a.txHash, blockNumber: a.blockNumber }
        : null,
    };
  });

  app.get('/log/entries', async (request) => {
    const who = request.memberCaller ? `member:${request.memberCaller}` : actorOf(request).id;
    const role = request.memberCaller ? null : actorOf(request).role;
    const entryRead = (outcome: 'permit' | 'deny') =>
      gate.log.append({
        actor: who,
        patient: null,
        action: 'audit-read',
        target: null,
        purpose: 'operations',
        outcome,
        reason: outcome === 'permit' ? 'ok' : 'role',
        queryHash: null,
      });
    if (role !== 'admin') {
      await entryRead('deny');
      throw forbidden(
        role
          ? `the ${role} role may not read log entries; this member's admins may (a patient reads their own at /patients/<address>/disclosures)`
          : 'other members monitor this log with /log/head and /log/proof/consistency; its entries are for its own admins',
      );
    }
    const q = request.query as Record<string, unknown>;
    // RFC 6962 §4.6 get-entries: `end` is inclusive. The answer may be a short page (at most
    // MAX_ENTRIES_PER_CALL entries, and none beyond the log's size); the client asks again from
    // start + entries.length.
    const start = intQuery(q.start, 'start');
    const end = intQuery(q.end, 'end');
    if (end < start) throw badRequest('end must be at least start (end is inclusive, RFC 6962 §4.6)');
    if (start >= log.size)
      throw badRequest(
        log.size === 0
          ? 'the log is empty'
          : `start is beyond the log (size ${log.size}, so the last index is ${log.size - 1})`,
      );
    const last = Math.min(end, log.size - 1, start + MAX_ENTRIES_PER_CALL - 1);
    const entries = log.entries(start, last + 1);
    await entryRead('permit');
    return {
      entries: entries.map((e) => ({ index: e.index, leaf: Buffer.from(e.leaf).toString('base64') })),
    };
  });

  app.get('/log/proof/inclusion', async (request) => {
    const q = request.query as Record<string, unknown>;
    const treeSize = intQuery(q.treeSize, 'treeSize', { min: 1, max: log.size });
    const index = intQuery(q.index, 'index', { max: treeSize - 1 });
    return { index, treeSize, path: log.inclusionProof(index, treeSize).map(hex) };
  });

  app.get('/log/proof/consistency', async (request) => {
    const q = request.query as Record<string, unknown>;
    const second = intQuery(q.second, 'second', { min: 1, max: log.size });
    const first = intQuery(q.first, 'first', { min: 1, max: second });
    return { first, second, path: log.consistencyProof(first, second).map(hex) };
  });

  // Audit trail of a patient as FHIR AuditEvents (IHE BALP), for privacy officers and clinicians.
  app.route({
    ...AUDIT_EVENT.route,
    handler: async (request, reply) => {
      const actor = actorOf(request);
      if (!['admin', 'clinician', 'emergency-clinician'].includes(actor.role)) {
        throw forbidden(`the ${actor.role} role may not read AuditEvent`);
      }
      const q = request.query as Record<string, unknown>;
      const supported: string[] = [...Object.keys(AUDIT_EVENT.searchParams), ...AUDIT_EVENT.paging];
      for (const k of Object.keys(q)) {
        if (!supported.includes(k))
          throw badRequest(
            `unsupported search parameter "${k.slice(0, 40)}" for AuditEvent; supported: ${supported.join(', ')}`,
          );
      }
      if (typeof q.patient !== 'string')
        throw badRequest('AuditEvent search needs patient=<chain address or Patient/id>');
      const address = isAddress(q.patient)
        ? getAddress(q.patient)
        : deps.records.patientAddressOf(
            q.patient.startsWith('Patient/') ? q.patient : `Patient/${q.patient}`,
          );
      const count = q._count === undefined ? 50 : Math.min(intQuery(q._count, '_count'), 200);
      const offset = q._offset === undefined ? 0 : intQuery(q._offset, '_offset');
      const all = address ? log.entriesForPatient(address) : [];
      await gate.log.append({
        actor: actor.id,
        patient: address,
        action: 'audit-read',
        target: null,
        purpose: actor.purpose,
        outcome: 'permit',
        reason: 'ok',
        queryHash: null,
      });
      const page = all
        .slice()
        .reverse()
        .slice(offset, offset + count);
      const events: AuditEvent[] = page.map((e) => toAuditEvent(decodeEntry(e.leaf)));
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        total: all.length,
        entry: events.map((resource) => ({
          fullUrl: auditEventUrn(resource.id as string),
          resource,
          search: { mode: 'match' },
        })),
      };
      return send(reply, 200, bundle);
    },
  });

  // Accounting of disclosures: the patient's entries with inclusion proofs to the latest anchored head.
  app.get('/patients/:address/disclosures', async (request) => {
    const raw = (request.params as { address: string }).address;
    if (!isAddress(raw))
      throw badRequest('the path must hold the patient chain address (0x + 40 hex digits)');
    const address = getAddress(raw);
    const asPatient = request.patientAddress;
    if (asPatient) {
      if (asPatient !== address) throw forbidden('a patient may read only their own disclosures');
    } else {
      const actor = actorOf(request);
      if (actor.role !== 'admin')
        throw forbidden(
          `the ${actor.role} role may not read a patient's disclosures; the patient or an admin may`,
        );
    }
    const anchored = publisher.latestAnchored();
    const size = anchored?.treeSize ?? 0;
    const entries = log.entriesForPatient(address, size).map((e) => ({
      index: e.index,
      leaf: Buffer.from(e.leaf).toString('base64'),
      path: log.inclusionProof(e.index, size).map(hex),
    }));
    const unanchored = log
      .entriesForPatient(address)
      .filter((e) => e.index >= size)
      .map((e) => ({ index: e.index, leaf: Buffer.from(e.leaf).toString('base64') }));
    await gate.log.append({
      actor: asPatient ? `patient:${asPatient}` : actorOf(request).id,
      patient: address,
      action: 'audit-read',
      target: null,
      purpose: asPatient ? 'none' : 'operations',
      outcome: 'permit',
      reason: 'ok',
      queryHash: null,
    });
    return {
      member: log.member,
      patient: address,
      chainId: publisher.domain.chainId ?? null,
      auditAnchor: publisher.domain.verifyingContract ?? null,
      anchored,
      entries,
      unanchored,
    };
  });

  app.get('/verify', async (request) => {
    const actor = actorOf(request);
    if (actor.role !== 'admin') throw forbidden(`the ${actor.role} role may not run verification`);
    if (!deps.verify) throw notFound('verification is not available on this node');
    const report = await deps.verify();
    await gate.log.append({
      actor: actor.id,
      patient: null,
      action: 'verify',
      target: null,
      purpose: 'operations',
      outcome: report.ok ? 'permit' : 'deny',
      reason: report.ok ? 'ok' : 'integrity-failure',
      queryHash: null,
    });
    return report;
  });
}
