/**
 * The administrator: the consortium's members (from the chain) and whether their nodes answer,
 * this member's log head and last anchor, an integrity check with progress, and the chain
 * transactions still waiting in the outbox.
 */
import { useCallback, useEffect, useState } from 'react';
import { Busy, ErrorNote, moment, Note, short } from '../components/common.js';
import { SignedInBar, SignInScreen, WrongRole } from '../components/StaffGate.js';
import { anchorReading } from '../lib/anchoring.js';
import { ApiError, call } from '../lib/api.js';
import type { Chain, Member, PortalConfig } from '../lib/chain.js';
import { chainError } from '../lib/chain.js';
import type { StaffSession } from '../lib/staff.js';

interface Head {
  treeSize: number;
  rootHash: string;
  timestamp: number;
  anchored: { treeSize: number; rootHash: string; txHash: string | null; blockNumber: number | null } | null;
}

interface OutboxEntry {
  id: number;
  description: string;
  status: string;
  nonce: number | null;
  txHash: string | null;
  block: number | null;
  error: string | null;
  attempts: number;
  createdAt: number;
}

interface VerifyRun {
  id: string;
  state: 'running' | 'done' | 'failed';
  phase: string;
  done: number;
  total: number;
  error?: string;
  report?: {
    ok: boolean;
    checked: { entries: number; recordVersions: number; anchoredHeads: number };
    problems: { kind: string; where: string; detail: string }[];
  };
}

export function AdminView({ config, chain }: { config: PortalConfig; chain: Chain | null }) {
  const [session, setSession] = useState<StaffSession | null>(null);
  const [members, setMembers] = useState<(Member & { online?: boolean })[] | null>(null);
  const [head, setHead] = useState<Head | null>(null);
  const [chainSize, setChainSize] = useState<number | null>(null);
  const [outbox, setOutbox] = useState<{
    connected: boolean;
    pending: OutboxEntry[];
    recent: OutboxEntry[];
  } | null>(null);
  const [run, setRun] = useState<VerifyRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const here = window.location.origin;

  const api = useCallback(
    <T,>(path: string, method: 'GET' | 'POST' = 'GET') =>
      call<T>(here, path, { method, token: session?.token ?? '', who: config.member.name }),
    [here, session, config.member.name],
  );

  const refresh = useCallback(async () => {
    if (!session) return;
    setError(null);
    try {
      // The log head and the chain's anchored size read together: one reading, not two moments.
      const [h, size] = await Promise.all([
        api<Head>('/log/head'),
        chain ? chain.latestAnchoredSize(config.member.address).catch(() => null) : Promise.resolve(null),
      ]);
      setHead(h);
      setChainSize(size);
      setOutbox(await api('/admin/outbox'));
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.kind === 'expired') setSession(null);
    }
    if (!chain) return;
    try {
      const ms = await chain.members();
      setMembers((old) => old ?? ms);
      const online = await Promise.all(
        ms.map((m) =>
          m.active
            ? call(m.endpoint, '/fhir/metadata', { timeoutMs: 4000 }).then(
                () => true,
                () => false,
              )
            : Promise.resolve(false),
        ),
      );
      setMembers(ms.map((m, i) => ({ ...m, online: online[i] ?? false })));
    } catch (err) {
      setError(chainError(err));
    }
  }, [api, chain, session, config.member.address]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  async function verify() {
    setError(null);
    try {
      let r = await api<VerifyRun>('/verify/runs', 'POST');
      setRun(r);
      while (r.state === 'running') {
        await new Promise((ok) => setTimeout(ok, 250));
        r = await api<VerifyRun>(`/verify/runs/${r.id}`);
        setRun(r);
      }
      void refresh();
    } catch (err) {
      setError(err);
    }
  }

  const reading = head ? anchorReading(head, chainSize) : null;

  if (!session)
    return (
      <SignInScreen
        title={`Administrator sign-in at ${config.member.name}`}
        error={error}
        onSignedIn={(s) => {
          setError(null);
          setSession(s);
        }}
      />
    );
  if (session.role !== 'admin')
    return (
      <WrongRole
        session={session}
        purpose="this view is for administrators"
        signInAs="Sign in as an administrator"
        onSignOut={() => setSession(null)}
      />
    );

  return (
    <div>
      <SignedInBar
        onSignOut={() => setSession(null)}
        extra={
          <button type="button" className="secondary" onClick={() => void refresh()}>
            Refresh
          </button>
        }
      >
        Administrator of <strong>{config.member.name}</strong> ({session.username})
      </SignedInBar>
      <ErrorNote error={error} onRetry={() => void refresh()} />
      <section className="card wide" aria-labelledby="members-title">
        <h2 id="members-title">Consortium members (from the chain)</h2>
        {members === null ? (
          <Busy>Reading the Registry contract…</Busy>
        ) : (
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Address</th>
                  <th scope="col">Node</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {members.map((m) => (
                  <tr key={m.address}>
                    <td>
                      {m.name}
                      {m.address === config.member.address ? <span className="tag">this member</span> : null}
                    </td>
                    <td>{m.roles.join(', ').toLowerCase()}</td>
                    <td>
                      <code title={m.address}>{short(m.address)}</code>
                    </td>
                    <td>
                      <code>{m.endpoint}</code>
                    </td>
                    <td>
                      {!m.active ? (
                        <span className="tag tag-failed">removed</span>
                      ) : m.online === undefined ? (
                        '…'
                      ) : m.online ? (
                        <span className="tag tag-ok">online</span>
                      ) : (
                        <span className="tag tag-failed">offline</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card wide" aria-labelledby="log-title">
        <h2 id="log-title">This member’s log</h2>
        {head ? (
          <dl className="facts">
            <dt>Entries</dt>
            <dd data-testid="log-size">{reading?.entries ?? head.treeSize}</dd>
            <dt>Root hash</dt>
            <dd>
              <code>{head.rootHash}</code>
            </dd>
            <dt>Anchored on chain</dt>
            <dd data-testid="anchored">
              {reading
                ? `${reading.anchored} of ${reading.entries} entries${reading.waiting > 0 ? ` (${reading.waiting} waiting for the next anchor, within a second or so)` : ''}${reading.source === 'node' ? ' — as this node recorded it; the chain could not be read' : ''}`
                : '…'}
            </dd>
            <dt>Anchoring transaction</dt>
            <dd>
              {reading?.tx
                ? `block ${reading.tx.block ?? '?'}, transaction ${reading.tx.hash ?? '?'}`
                : reading && reading.anchored > 0
                  ? 'this node is still recording it (press Refresh)'
                  : 'none yet'}
            </dd>
          </dl>
        ) : (
          <Busy>Reading the log head…</Busy>
        )}
        <button type="button" onClick={() => void verify()} disabled={run?.state === 'running'}>
          Verify now
        </button>
        {run?.state === 'running' ? (
          <Busy value={run.done} max={run.total}>
            Checking {run.phase}: {run.done} of {run.total || '…'}
          </Busy>
        ) : null}
        {run?.state === 'failed' ? (
          <ErrorNote error={new Error(`The check could not run: ${run.error}`)} />
        ) : null}
        {run?.report ? (
          run.report.ok ? (
            <Note tone="ok">
              Intact: {run.report.checked.entries} log entries, {run.report.checked.recordVersions} record
              versions and {run.report.checked.anchoredHeads} anchored heads checked; nothing was changed,
              removed or added.
            </Note>
          ) : (
            <div className="note note-error" role="alert">
              <strong>{run.report.problems.length} problems found.</strong>
              <ul>
                {run.report.problems.slice(0, 50).map((p) => (
                  <li key={`${p.kind}-${p.where}`}>
                    {p.where}: {p.detail} ({p.kind})
                  </li>
                ))}
              </ul>
            </div>
          )
        ) : null}
      </section>
      <section className="card wide" aria-labelledby="outbox-title">
        <h2 id="outbox-title">Chain transactions (outbox)</h2>
        {!outbox ? null : !outbox.connected ? (
          <p className="muted">This node is not connected to a chain.</p>
        ) : (
          <>
            <p data-testid="outbox-pending">
              {outbox.pending.length === 0
                ? 'Nothing pending.'
                : `${outbox.pending.length} waiting to be confirmed.`}
            </p>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">What</th>
                    <th scope="col">Status</th>
                    <th scope="col">Transaction</th>
                  </tr>
                </thead>
                <tbody>
                  {[
                    ...outbox.pending,
                    ...outbox.recent.filter((r) => !outbox.pending.some((p) => p.id === r.id)),
                  ].map((o) => (
                    <tr key={o.id}>
                      <td>{moment(o.createdAt)}</td>
                      <td>{o.description}</td>
                      <td>
                        {o.status}
                        {o.error ? <span className="muted"> · {o.error}</span> : null}
                      </td>
                      <td>{o.txHash ? <code title={o.txHash}>{short(o.txHash)}</code> : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
    </div>
  );
}
