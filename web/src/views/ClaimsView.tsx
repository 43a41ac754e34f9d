/**
 * Claims for this member's billing staff (issue 13), one view switching by who signs in: at an
 * insurer (billing or admin) the queue, each claim with its decision, reasons (CARC and text per
 * line), fraud flags, payment status, a state filter and "Run payment"; at a provider (billing)
 * its submitted claims and why any was denied or pended.
 */
import { type ChangeEvent, useCallback, useEffect, useState } from 'react';
import { Busy, ErrorNote, Note, short } from '../components/common.js';
import { StaffSignIn } from '../components/StaffSignIn.js';
import { ApiError } from '../lib/api.js';
import type { Chain, Member, PortalConfig } from '../lib/chain.js';
import {
  dollars,
  FLAG_TEXT,
  fetchQueue,
  fetchSubmitted,
  type HeldClaim,
  type PaymentRun,
  runPayment,
  STATE_TEXT,
} from '../lib/claims.js';
import type { StaffSession } from '../lib/staff.js';

type Kind = 'insurer' | 'provider';

export function ClaimsView({ config, chain }: { config: PortalConfig; chain: Chain | null }) {
  const [session, setSession] = useState<StaffSession | null>(null);
  const [ended, setEnded] = useState<unknown>(null);
  const [members, setMembers] = useState<Member[] | null>(null);
  const here = config.member.name;

  useEffect(() => {
    chain?.members().then(setMembers, () => setMembers([]));
  }, [chain]);
  const self = members?.find((m) => m.address.toLowerCase() === config.member.address.toLowerCase());
  const kind: Kind = self?.roles.includes('INSURER') ? 'insurer' : 'provider';
  const expired = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.kind === 'expired') {
      setEnded(err);
      setSession(null);
    }
  }, []);

  if (!chain)
    return <Note tone="warn">This member node is not connected to the chain, so it has no claims.</Note>;
  if (!session)
    return (
      <>
        <ErrorNote error={ended} />
        <StaffSignIn
          title={`Billing sign-in at ${here}`}
          onSignedIn={(s) => {
            setEnded(null);
            setSession(s);
          }}
        />
      </>
    );
  const allowed = session.role === 'billing' || (kind === 'insurer' && session.role === 'admin');
  if (!members) return <Busy>Reading this member from the chain…</Busy>;
  return (
    <div>
      <div className="row-between who">
        <p>
          {session.role === 'admin' ? 'Administrator' : 'Billing'} at <strong>{here}</strong> (
          {session.username})
        </p>
        <button type="button" className="link" onClick={() => setSession(null)}>
          Sign out
        </button>
      </div>
      {!allowed ? (
        <Note tone="warn">
          {session.username} has the {session.role} role; claims are for billing users
          {kind === 'insurer' ? ' and administrators' : ''}.
        </Note>
      ) : kind === 'insurer' ? (
        <Queue token={session.token} members={members} onExpired={expired} />
      ) : (
        <Submitted token={session.token} members={members} onExpired={expired} />
      )}
    </div>
  );
}

const nameOf = (members: readonly Member[], a: string | null) =>
  members.find((m) => a && m.address.toLowerCase() === a.toLowerCase())?.name ?? (a ? short(a) : '—');

const STATES = ['pended', 'approved', 'denied', 'disputed', 'paid', 'appealed', 'unrecorded'] as const;
const PAYMENT_TEXT: Record<HeldClaim['payment'], string> = {
  paid: 'Paid',
  'awaiting-payment': 'Awaiting payment',
  'not-payable': 'Not payable',
};

function Queue({
  token,
  members,
  onExpired,
}: {
  token: string;
  members: readonly Member[];
  onExpired: (e: unknown) => void;
}) {
  const [state, setState] = useState('');
  const [claims, setClaims] = useState<HeldClaim[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [run, setRun] = useState<PaymentRun | 'running' | null>(null);

  const load = useCallback(async () => {
    setError(null);
    setClaims(null);
    try {
      setClaims(await fetchQueue(token, state || undefined));
    } catch (err) {
      setClaims([]);
      setError(err);
      onExpired(err);
    }
  }, [token, state, onExpired]);
  useEffect(() => {
    void load();
  }, [load]);

  async function pay() {
    setRun('running');
    setError(null);
    try {
      setRun(await runPayment(token));
      await load();
    } catch (err) {
      setRun(null);
      setError(err);
      onExpired(err);
    }
  }

  return (
    <section aria-labelledby="queue-title">
      <div className="row-between">
        <h2 id="queue-title">Claims queue</h2>
        <span className="claims-controls">
          <label>
            State{' '}
            <select value={state} onChange={(e: ChangeEvent<HTMLSelectElement>) => setState(e.target.value)}>
              <option value="">all</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {STATE_TEXT[s]}
                </option>
              ))}
            </select>
          </label>{' '}
          <button type="button" onClick={() => void pay()} disabled={run === 'running'}>
            Run payment
          </button>{' '}
          <button type="button" className="secondary" onClick={() => void load()}>
            Refresh
          </button>
        </span>
      </div>
      {run === 'running' ? <Busy>Running payment for the approved claims…</Busy> : null}
      {run && typeof run === 'object' ? (
        <Note tone="ok">
          Payment run {run.runId}: {Array.isArray(run.claims) ? run.claims.length : run.claims} claim(s),{' '}
          {dollars(run.paidCents)} paid, {run.files.length} remittance file(s).
          {run.message ? ` ${run.message}` : ''}
        </Note>
      ) : null}
      <ErrorNote error={error} onRetry={() => void load()} />
      {claims === null ? <Busy>Reading the claims…</Busy> : null}
      {claims && claims.length === 0 && !error ? <p>No claims{state ? ` in this state` : ''}.</p> : null}
      {claims && claims.length > 0 ? <ClaimTable claims={claims} members={members} withFlags /> : null}
    </section>
  );
}

function Submitted({
  token,
  members,
  onExpired,
}: {
  token: string;
  members: readonly Member[];
  onExpired: (e: unknown) => void;
}) {
  const [claims, setClaims] = useState<HeldClaim[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    setError(null);
    setClaims(null);
    try {
      setClaims(await fetchSubmitted(token));
    } catch (err) {
      setClaims([]);
      setError(err);
      onExpired(err);
    }
  }, [token, onExpired]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="submitted-title">
      <div className="row-between">
        <h2 id="submitted-title">Submitted claims</h2>
        <button type="button" className="secondary" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorNote error={error} onRetry={() => void load()} />
      {claims === null ? <Busy>Reading the claims…</Busy> : null}
      {claims && claims.length === 0 && !error ? <p>No claims submitted from this member yet.</p> : null}
      {claims && claims.length > 0 ? <ClaimTable claims={claims} members={members} /> : null}
    </section>
  );
}

function ClaimTable({
  claims,
  members,
  withFlags = false,
}: {
  claims: readonly HeldClaim[];
  members: readonly Member[];
  withFlags?: boolean;
}) {
  return (
    <div className="scroll">
      <table className="claims-table">
        <caption className="sr-only">Claims, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Date of service</th>
            <th scope="col">{withFlags ? 'Provider' : 'Insurer'}</th>
            <th scope="col">Patient (chain address)</th>
            <th scope="col">Billed</th>
            <th scope="col">State</th>
            <th scope="col">Reasons</th>
            {withFlags ? <th scope="col">Fraud flags</th> : null}
            <th scope="col">Payment</th>
          </tr>
        </thead>
        <tbody>
          {claims.map((c) => (
            <tr key={c.claimId} data-testid="held-claim" data-claim-id={c.claimId}>
              <td>{c.servicedDate ?? '—'}</td>
              <td>{nameOf(members, withFlags ? c.provider : c.insurer)}</td>
              <td>
                <code title={c.patient ?? ''}>{c.patient ? short(c.patient) : '—'}</code>
              </td>
              <td className="num">{dollars(c.billedCents)}</td>
              <td data-testid="held-state">
                {STATE_TEXT[c.state]}
                {c.approvedCents > 0 ? (
                  <div className="small">approved {dollars(c.approvedCents)}</div>
                ) : null}
              </td>
              <td data-testid="held-reasons">
                {c.rejection ? (
                  <div>
                    Rejected: CARC {c.rejection.carc} {c.rejection.text}
                  </div>
                ) : null}
                {c.lines.flatMap((l) =>
                  l.reasons.map((r) => (
                    <div key={`${l.sequence}-${r.carc}`} className="small">
                      Line {l.sequence} <code>{l.code}</code> {r.effect}: CARC {r.carc} — {r.text}
                    </div>
                  )),
                )}
                {!c.rejection && c.lines.every((l) => l.reasons.length === 0) ? 'none' : null}
              </td>
              {withFlags ? (
                <td data-testid="held-flags">
                  {(c.fraudFlags ?? []).length === 0
                    ? 'none'
                    : (c.fraudFlags ?? []).map((f) => (
                        <span key={f} className="tag tag-failed">
                          {FLAG_TEXT[f]}
                        </span>
                      ))}
                </td>
              ) : null}
              <td>{PAYMENT_TEXT[c.payment]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
