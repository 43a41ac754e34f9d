/**
 * Who accessed my records: the patient's entries from every member's log. Each entry is shown as
 * verified only after this browser proved it is included in the head that member anchored on
 * chain (RFC 9162 inclusion proof, root read from the AuditAnchor contract).
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { checkDisclosures, type DisclosuresDoc } from '../../../src/log/disclosures.js';
import { decodeEntry, type LogEntry } from '../../../src/log/entry.js';
import { type AccessRow, accessRows, groupRows } from '../lib/accessLog.js';
import type { Chain, Member } from '../lib/chain.js';
import type { PatientSessions } from '../lib/patientSession.js';
import { Busy, ErrorNote, moment } from './common.js';

interface MemberResult {
  member: Member;
  rows: AccessRow[];
  error?: unknown;
}

export function AccessPanel({
  chain,
  members,
  sessions,
}: {
  chain: Chain;
  members: Member[];
  sessions: PatientSessions;
}) {
  const patient = sessions.key.address;
  const [results, setResults] = useState<MemberResult[] | null>(null);
  const [progress, setProgress] = useState<{ done: number; of: number; now: string } | null>(null);
  const [hideOwn, setHideOwn] = useState(true);
  const names = useMemo(() => new Map(members.map((m) => [m.address.toLowerCase(), m.name])), [members]);

  const check = useCallback(async () => {
    const active = members.filter((m) => m.active);
    const out: MemberResult[] = [];
    for (const [i, member] of active.entries()) {
      setProgress({ done: i, of: active.length, now: member.name });
      try {
        const doc = await sessions.call<DisclosuresDoc>(member, `/patients/${patient}/disclosures`);
        // The proofs are checked against the head this member (by its chain address) anchored.
        if (doc.member.toLowerCase() !== member.address.toLowerCase())
          throw new Error(`${member.name} answered as another member; its entries are not trusted`);
        if (doc.patient.toLowerCase() !== patient.toLowerCase())
          throw new Error(`${member.name} answered about another patient; its entries are not shown`);
        const root = doc.anchored
          ? await chain.anchoredRoot(member.address, doc.anchored.treeSize)
          : undefined;
        const checked = checkDisclosures(doc, root);
        const pending: LogEntry[] = [];
        for (const u of doc.unanchored ?? []) {
          try {
            const e = decodeEntry(Uint8Array.from(atob(u.leaf), (c) => c.charCodeAt(0)));
            if (e.patient === patient && e.member.toLowerCase() === member.address.toLowerCase())
              pending.push(e);
          } catch {
            /* an undecodable pending entry is left out: nothing about it is known */
          }
        }
        out.push({ member, rows: accessRows(checked, pending, patient, names, member.name) });
      } catch (error) {
        out.push({ member, rows: [], error });
      }
    }
    setProgress(null);
    setResults(out);
  }, [chain, members, names, patient, sessions]);

  useEffect(() => {
    void check();
  }, [check]);

  const rows = groupRows(
    (results ?? [])
      .flatMap((r) => r.rows)
      .filter((r) => !hideOwn || r.who !== 'You')
      .sort((a, b) => b.time - a.time),
  );
  const all = (results ?? []).flatMap((r) => r.rows);
  const count = (s: AccessRow['status']) => all.filter((r) => r.status === s).length;

  return (
    <section className="card wide" aria-labelledby="access-title">
      <div className="row-between">
        <h3 id="access-title">Who accessed my records</h3>
        <button type="button" onClick={() => void check()} disabled={progress !== null}>
          Check again
        </button>
      </div>
      {progress ? (
        <Busy value={progress.done} max={progress.of}>
          Fetching and verifying the log of {progress.now} ({progress.done + 1} of {progress.of})…
        </Busy>
      ) : null}
      {results ? (
        <p className="summary" data-testid="access-summary">
          {all.length} entries from {results.filter((r) => !r.error).length} members:{' '}
          <strong>{count('verified')} verified</strong> against the chain, {count('pending')} waiting to be
          anchored, {count('failed')} failed verification.
        </p>
      ) : null}
      {results
        ?.filter((r) => r.error)
        .map((r) => (
          <ErrorNote key={r.member.address} error={r.error} />
        ))}
      <label className="check">
        <input type="checkbox" checked={hideOwn} onChange={(e) => setHideOwn(e.target.checked)} /> Hide what I
        did myself
      </label>
      <div className="scroll">
        <table className="access">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Log of</th>
              <th scope="col">Outcome</th>
              <th scope="col">Purpose</th>
              <th scope="col">Proof</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.key}
                className={`${r.breakGlass ? 'breakglass' : ''} outcome-${r.outcome}`}
                data-status={r.status}
              >
                <td>{moment(r.time)}</td>
                <td>{r.who}</td>
                <td>
                  {r.breakGlass ? <span className="tag tag-breakglass">⚠ break-glass</span> : null} {r.what}
                  {r.count > 1 ? <span className="muted"> × {r.count} records</span> : null}
                </td>
                <td>{r.holder}</td>
                <td>
                  {r.outcome === 'permit' ? 'allowed' : 'refused'}
                  {r.reason ? <span className="muted"> · {r.reason}</span> : null}
                </td>
                <td>{r.purpose}</td>
                <td>
                  {r.status === 'verified' ? (
                    <span
                      className="tag tag-ok"
                      title="inclusion proof checked in this browser against the head anchored on chain"
                    >
                      ✓ verified
                    </span>
                  ) : r.status === 'pending' ? (
                    <span
                      className="tag tag-pending"
                      title="newer than the last anchored head; check again in a few seconds"
                    >
                      waiting for anchor
                    </span>
                  ) : (
                    <span className="tag tag-failed" title={r.problem}>
                      ✗ failed: {r.problem}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
