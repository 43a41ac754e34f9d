/**
 * The pharmacist: scan or paste a pack (GS1 element string or Digital Link, read in the browser
 * with the node's own parser), verify it at the GTIN's manufacturer through this member's node,
 * dispense it only when the answer says saleable, take back a saleable return, and see this
 * member's supply alerts (recalls, illegitimate-product notices) with their deadlines.
 */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Busy, ErrorNote, moment, Note } from '../components/common.js';
import { StaffSignIn } from '../components/StaffSignIn.js';
import { ApiError } from '../lib/api.js';
import type { PortalConfig } from '../lib/chain.js';
import type { StaffSession } from '../lib/staff.js';
import {
  acknowledgeAlert,
  dispensePack,
  listAlerts,
  type Maybe,
  NOT_AVAILABLE,
  type Pack,
  returnPack,
  type SupplyAlert,
  type SupplyCaller,
  type Verification,
  verdictOf,
  verifyPack,
} from '../lib/supply.js';
import { gs1DateText, readScan, type ScanReading } from '../lib/supplyScan.js';

export function PharmacyView({ config }: { config: PortalConfig }) {
  const [session, setSession] = useState<StaffSession | null>(null);
  /** Why the session ended, when the node said so (shown above the sign-in). */
  const [ended, setEnded] = useState<unknown>(null);
  const here = config.member.name;
  const signOut = () => setSession(null);
  const expired = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.kind === 'expired') {
      setEnded(err);
      setSession(null);
    }
  }, []);

  if (!session)
    return (
      <>
        <ErrorNote error={ended} />
        <StaffSignIn
          title={`Pharmacist sign-in at ${here}`}
          onSignedIn={(s) => {
            setEnded(null);
            setSession(s);
          }}
        />
      </>
    );
  if (session.role !== 'pharmacist')
    return (
      <Note tone="warn">
        {session.username} has the {session.role} role; this view is for pharmacists.{' '}
        <button type="button" className="link" onClick={signOut}>
          Sign in as a pharmacist
        </button>
      </Note>
    );
  const caller: SupplyCaller = { token: session.token, who: here };
  return (
    <div>
      <div className="row-between who">
        <p>
          Pharmacist at <strong>{here}</strong> ({session.username})
        </p>
        <button type="button" className="link" onClick={signOut}>
          Sign out
        </button>
      </div>
      <ScanPanel caller={caller} onExpired={expired} />
      <AlertsPanel caller={caller} onExpired={expired} />
    </div>
  );
}

type Step =
  | { kind: 'idle' }
  | { kind: 'busy'; what: string }
  | { kind: 'verified'; pack: ScanReading & { ok: true }; answer: Verification }
  | { kind: 'dispensed'; txHash: string | null }
  | { kind: 'returned'; result: Record<string, unknown> }
  | { kind: 'no-returns' };

function ScanPanel({ caller, onExpired }: { caller: SupplyCaller; onExpired: (e: unknown) => void }) {
  const [text, setText] = useState('');
  const [reading, setReading] = useState<ScanReading | null>(null);
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const [error, setError] = useState<unknown>(null);

  const read = (t: string) => {
    setText(t);
    setReading(t.trim() ? readScan(t) : null);
    setStep({ kind: 'idle' });
    setError(null);
  };

  const run = async (what: string, f: () => Promise<void>) => {
    setStep({ kind: 'busy', what });
    setError(null);
    try {
      await f();
    } catch (err) {
      setStep({ kind: 'idle' });
      setError(err);
      onExpired(err);
    }
  };

  async function verify(e?: FormEvent) {
    e?.preventDefault();
    const r = readScan(text);
    setReading(r);
    if (!r.ok) return; // nothing is sent for a code that does not read
    const { lot, serial } = r.id as Pack;
    await run('Verifying with the manufacturer…', async () => {
      const answer = await verifyPack(caller, { ...r.id, lot, serial });
      setStep({ kind: 'verified', pack: r, answer });
    });
  }

  const full = (r: ScanReading | null): Pack | null =>
    r?.ok && r.id.expiry !== undefined ? (r.id as Pack) : null;

  async function dispense() {
    const p = full(reading);
    if (!p) return;
    await run('Dispensing: recording it on chain…', async () => {
      const r = await dispensePack(caller, p);
      setStep({ kind: 'dispensed', txHash: r.txHash });
    });
  }

  async function takeBack() {
    const p = full(reading);
    if (!p) return;
    await run('Verifying the return…', async () => {
      const r = await returnPack(caller, p);
      setStep(r === NOT_AVAILABLE ? { kind: 'no-returns' } : { kind: 'returned', result: r });
    });
  }

  const busy = step.kind === 'busy';
  return (
    <section className="card wide" aria-labelledby="scan-title">
      <h2 id="scan-title">Verify a pack</h2>
      <form onSubmit={(e) => void verify(e)}>
        <label>
          Code on the pack
          <input
            name="scan"
            value={text}
            onChange={(e) => read(e.currentTarget.value)}
            autoComplete="off"
            spellCheck={false}
            aria-describedby="scan-hint"
            aria-invalid={reading !== null && !reading.ok}
            aria-errormessage={reading && !reading.ok ? 'scan-error' : undefined}
          />
        </label>
        <p id="scan-hint" className="muted small">
          Scan the 2D code, or paste a GS1 element string (<code>01…17…10…&lt;GS&gt;21…</code>; type the
          separator as <code>&lt;GS&gt;</code> or <code>\x1d</code>) or a GS1 Digital Link (
          <code>https://…/01/…/10/…/21/…</code>).
        </p>
        {reading && !reading.ok ? (
          <div id="scan-error" className="note note-error" role="alert">
            <strong>{reading.message}</strong> Nothing was sent; check the code and scan again.
          </div>
        ) : null}
        {reading?.ok ? <PackFacts reading={reading} /> : null}
        <button type="submit" disabled={busy || !reading?.ok}>
          Verify
        </button>
      </form>
      <ErrorNote error={error} />
      <div aria-live="polite">
        {step.kind === 'busy' ? <Busy>{step.what}</Busy> : null}
        {step.kind === 'verified' ? (
          <VerdictBox
            answer={step.answer}
            canDispense={full(step.pack) !== null}
            onDispense={() => void dispense()}
            onReturn={() => void takeBack()}
          />
        ) : null}
        {step.kind === 'dispensed' ? (
          <Note tone="ok">
            <strong>Dispensed.</strong> The pack is recorded on chain as dispensed
            {step.txHash ? (
              <>
                {' '}
                (transaction <code>{step.txHash}</code>)
              </>
            ) : null}
            ; it cannot be dispensed again.
          </Note>
        ) : null}
        {step.kind === 'returned' ? (
          <Note tone="ok">
            <strong>Return recorded.</strong> <ResultFacts result={step.result} />
          </Note>
        ) : null}
        {step.kind === 'no-returns' ? (
          <Note tone="warn">Returns are not available at this node yet; keep the pack aside.</Note>
        ) : null}
      </div>
    </section>
  );
}

function PackFacts({ reading }: { reading: ScanReading & { ok: true } }) {
  const { id, form } = reading;
  return (
    <dl className="facts" data-testid="pack-facts" aria-label="What the code says">
      <dt>GTIN</dt>
      <dd>
        <code>{id.gtin}</code>
      </dd>
      <dt>Lot</dt>
      <dd>
        <code>{id.lot}</code>
      </dd>
      <dt>Serial</dt>
      <dd>
        <code>{id.serial}</code>
      </dd>
      <dt>Expiry</dt>
      <dd>{id.expiry ? `${gs1DateText(id.expiry)} (${id.expiry})` : 'not in the code'}</dd>
      <dt>Read as</dt>
      <dd>{form === 'digital-link' ? 'GS1 Digital Link' : 'GS1 element string'}</dd>
    </dl>
  );
}

function VerdictBox({
  answer,
  canDispense,
  onDispense,
  onReturn,
}: {
  answer: Verification;
  canDispense: boolean;
  onDispense: () => void;
  onReturn: () => void;
}) {
  const v = verdictOf(answer);
  return (
    <div
      className={`verdict verdict-${v.tone}`}
      data-testid="verdict"
      data-verified={String(answer.data.verified)}
      data-saleable={String(answer.saleable)}
    >
      <p className="verdict-headline" role={v.tone === 'bad' ? 'alert' : 'status'}>
        <span aria-hidden="true">{v.tone === 'ok' ? '✔ ' : '✖ '}</span>
        {v.headline}
      </p>
      <dl className="facts">
        <dt>Verified</dt>
        <dd data-testid="verified">{answer.data.verified ? 'yes' : 'no'}</dd>
        {v.reason ? (
          <>
            <dt>GS1 reason</dt>
            <dd data-testid="reason">
              <code>{v.reason.code}</code>: {v.reason.words}
            </dd>
          </>
        ) : null}
        {v.info ? (
          <>
            <dt>Additional information</dt>
            <dd data-testid="additional-info">
              <span className="tag tag-failed">{v.info}</span>
            </dd>
          </>
        ) : null}
        {v.findings.length > 0 ? (
          <>
            <dt>Found</dt>
            <dd>{v.findings.join('; ')}</dd>
          </>
        ) : null}
        <dt>Answered by</dt>
        <dd>
          {answer.responder.name} (GLN {answer.responderGLN}),{' '}
          {moment(Date.parse(answer.verificationTimestamp))}
        </dd>
      </dl>
      {answer.saleable ? (
        canDispense ? (
          <>
            <button type="button" onClick={onDispense}>
              Dispense
            </button>
            <button type="button" className="secondary" onClick={onReturn}>
              Take back as a saleable return
            </button>
          </>
        ) : (
          <p className="muted">The code has no expiry: scan the pack’s 2D code to dispense it.</p>
        )
      ) : (
        <p>
          <strong>Dispensing is not offered.</strong> Set the pack aside and do not give it to a patient.
        </p>
      )}
    </div>
  );
}

/** A route's answer, shallowly: its plain fields (what the node said, without guessing its shape). */
function ResultFacts({ result }: { result: Record<string, unknown> }) {
  const plain = Object.entries(result).filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v));
  return (
    <span>
      {plain.map(([k, v], i) => (
        <span key={k}>
          {i > 0 ? '; ' : ''}
          {k}: <code>{String(v)}</code>
        </span>
      ))}
    </span>
  );
}

const when = (t: number | string) => moment(typeof t === 'number' ? t : Date.parse(t));

function AlertsPanel({ caller, onExpired }: { caller: SupplyCaller; onExpired: (e: unknown) => void }) {
  const [alerts, setAlerts] = useState<Maybe<SupplyAlert[]> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [acking, setAcking] = useState<string | null>(null);
  const { token, who } = caller;

  const refresh = useCallback(async () => {
    setError(null);
    try {
      setAlerts(await listAlerts({ token, who }));
    } catch (err) {
      setError(err);
      onExpired(err);
    }
  }, [token, who, onExpired]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  async function ack(id: string) {
    setAcking(id);
    setError(null);
    try {
      await acknowledgeAlert({ token, who }, id);
      await refresh();
    } catch (err) {
      setError(err);
      onExpired(err);
    } finally {
      setAcking(null);
    }
  }

  return (
    <section className="card wide" aria-labelledby="alerts-title">
      <div className="row-between">
        <h2 id="alerts-title">Recalls and alerts</h2>
        <button type="button" className="secondary" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      <p className="muted small">
        This node does not list the recalled lots it holds yet: a recalled pack shows <em>Recalled</em> when
        verified, and recall notices appear here when this node receives them.
      </p>
      <ErrorNote error={error} onRetry={() => void refresh()} />
      {alerts === null && !error ? <Busy>Reading alerts…</Busy> : null}
      {alerts === NOT_AVAILABLE ? (
        <p data-testid="alerts-unavailable">Alerts are not available at this node.</p>
      ) : null}
      {Array.isArray(alerts) && alerts.length === 0 ? <p>No alerts.</p> : null}
      {Array.isArray(alerts) && alerts.length > 0 ? (
        <div className="scroll">
          <table className="alerts">
            <thead>
              <tr>
                <th scope="col">Alert</th>
                <th scope="col">Product</th>
                <th scope="col">From</th>
                <th scope="col">Received</th>
                <th scope="col">Respond by</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr key={a.id} className={a.overdue && !a.acknowledged ? 'overdue' : ''}>
                  <td>{a.kind}</td>
                  <td>
                    GTIN <code>{a.gtin}</code>
                    {a.lot ? (
                      <>
                        , lot <code>{a.lot}</code>
                      </>
                    ) : null}
                    {a.serial ? (
                      <>
                        , serial <code>{a.serial}</code>
                      </>
                    ) : null}
                  </td>
                  <td>{a.from}</td>
                  <td>{when(a.receivedAt)}</td>
                  <td>
                    {when(a.deadline)}
                    {a.overdue && !a.acknowledged ? <span className="tag tag-failed">overdue</span> : null}
                  </td>
                  <td>
                    {a.acknowledged ? (
                      <span className="tag tag-ok">acknowledged</span>
                    ) : (
                      <button
                        type="button"
                        onClick={() => void ack(a.id)}
                        disabled={acking !== null}
                        aria-label={`Acknowledge ${a.kind} alert for GTIN ${a.gtin}${a.lot ? ` lot ${a.lot}` : ''}`}
                      >
                        Acknowledge
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
