/**
 * Who accessed my records: the patient's entries from every member's log, one row per access in
 * words (lib/accessLog.ts), newest first, a page at a time. A row is verified only after this
 * browser proved every entry behind it included in the head its member anchored on chain
 * (RFC 9162 inclusion proof, root read from the AuditAnchor contract).
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { checkDisclosures, type DisclosuresDoc } from '../../../src/log/disclosures.js';
import { decodeEntry, type LogEntry } from '../../../src/log/entry.js';
import { accessRows, type CheckedItem, checkedItems, pageOf } from '../lib/accessLog.js';
import type { Chain, Member } from '../lib/chain.js';
import type { PatientSessions } from '../lib/patientSession.js';
import { Busy, ErrorNote, moment } from './common.js';

interface MemberResult {
  member: Member;
  items: CheckedItem[];
  error?: unknown;
}

const PAGE_SIZE = 20;

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
  const [page, setPage] = useState(0);
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
        out.push({ member, items: checkedItems(checked, pending, member.name) });
      } catch (error) {
        out.push({ member, items: [], error });
      }
    }
    setProgress(null);
    setResults(out);
    setPage(0);
  }, [chain, members, patient, sessions]);

  useEffect(() => {
    void check();
  }, [check]);

  const all = (results ?? []).flatMap((r) => r.items);
  const rows = accessRows(all, patient, names).filter((r) => !hideOwn || r.who !== 'You');
  const shown = pageOf(rows, page, PAGE_SIZE);
  const count = (st: CheckedItem['status']) => all.filter((i) => i.status === st).length;

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
          {rows.length} {rows.length === 1 ? 'access' : 'accesses'}, from {all.length} log entries at{' '}
          {results.filter((r) => !r.error).length} members: <strong>{count('verified')} verified</strong>{' '}
          against the chain, {count('pending')} waiting to be anchored, {count('failed')} failed verification.
        </p>
      ) : null}
      {results
        ?.filter((r) => r.error)
        .map((r) => (
          <ErrorNote key={r.member.address} error={r.error} />
        ))}
      <label className="check">
        <input
          type="checkbox"
          checked={hideOwn}
          onChange={(e) => {
            setHideOwn(e.target.checked);
            setPage(0);
          }}
        />{' '}
        Hide what I did myself
      </label>
      <div className="scroll">
        <table className="access">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What happened</th>
              <th scope="col">Purpose</th>
              <th scope="col">Recorded in the log of</th>
              <th scope="col">Proof</th>
            </tr>
          </thead>
          <tbody>
            {shown.rows.map((r) => (
              <tr
                key={r.key}
                className={`${r.breakGlass ? 'breakglass' : ''} kind-${r.kind}`}
                data-status={r.status}
                data-kind={r.kind}
              >
                <td>{r.time ? moment(r.time) : '—'}</td>
                <td>
                  {r.breakGlass ? (
                    <span className="tag tag-breakglass">⚠ emergency access (break-glass)</span>
                  ) : null}{' '}
                  <strong>{r.who}</strong> {r.what}
                  {r.refused ? (
                    <>
                      {r.kind === 'refused' ? ' ' : '. '}
                      <span className="refused">{r.kind === 'refused' ? `(${r.refused})` : r.refused}</span>
                    </>
                  ) : null}
                </td>
                <td>{r.purpose || '—'}</td>
                <td>{r.logs.join(', ')}</td>
                <td>
                  {r.status === 'verified' ? (
                    <span
                      className="tag tag-ok"
                      title={`${r.entries} log ${r.entries === 1 ? 'entry' : 'entries'}, each proven included in the head anchored on chain, checked in this browser`}
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
      {shown.pages > 1 ? (
        <nav className="pager" aria-label="Pages of the access list">
          <button
            type="button"
            className="secondary"
            disabled={shown.page === 0}
            onClick={() => setPage(shown.page - 1)}
          >
            Newer
          </button>
          <span>
            Page {shown.page + 1} of {shown.pages}
          </span>
          <button
            type="button"
            className="secondary"
            disabled={shown.page >= shown.pages - 1}
            onClick={() => setPage(shown.page + 1)}
          >
            Older
          </button>
        </nav>
      ) : null}
    </section>
  );
}
