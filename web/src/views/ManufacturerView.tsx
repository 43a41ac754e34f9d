/**
 * The manufacturer's administrator: recall a lot (with a confirm step: every holder sees it at
 * once and no pack of it can be dispensed again), commission a run of serialized units packed
 * into cases (the units and cases made are listed), ship cases or units to a member, decide a
 * quarantine (clear a suspect pack, or declare it illegitimate: every trading partner who handled
 * it is notified with a 24-hour deadline), and see the alerts this member holds.
 */
import { type FormEvent, useState } from 'react';
import { Busy, ErrorNote, moment, Note } from '../components/common.js';
import { ShipPanel } from '../components/ShipPanel.js';
import { StaffGate } from '../components/StaffGate.js';
import { SupplyAlerts } from '../components/SupplyAlerts.js';
import { field, GtinField, LotField, Problem, useAction, useMemberNames } from '../components/supplyForms.js';
import type { Chain, PortalConfig } from '../lib/chain.js';
import {
  type CommissionResult,
  commissionUnits,
  type IncidentResult,
  incidentStep,
  recallLot,
  type SupplyCaller,
} from '../lib/supply.js';
import { gs1DateText, lotError } from '../lib/supplyScan.js';

export function ManufacturerView({ config, chain }: { config: PortalConfig; chain: Chain | null }) {
  const here = config.member.name;
  const names = useMemberNames(chain);
  return (
    <StaffGate
      title={`Manufacturer sign-in at ${here}`}
      roles={['admin']}
      purpose="recalls, commissioning, shipping and quarantine decisions are for the manufacturer’s administrators"
      signInAs="Sign in as an administrator"
      who={(s) => (
        <>
          Administrator of <strong>{here}</strong> ({s.username})
        </>
      )}
    >
      {({ session, onExpired }) => {
        const caller: SupplyCaller = { token: session.token, who: here };
        return (
          <>
            <RecallPanel caller={caller} onExpired={onExpired} />
            <CommissionPanel caller={caller} onExpired={onExpired} />
            <ShipPanel caller={caller} chain={chain} self={config.member.address} onExpired={onExpired} />
            <InvestigationPanel caller={caller} onExpired={onExpired} />
            <SupplyAlerts caller={caller} names={names} onExpired={onExpired} />
          </>
        );
      }}
    </StaffGate>
  );
}

interface PanelProps {
  caller: SupplyCaller;
  onExpired: (err: unknown) => void;
}

function RecallPanel({ caller, onExpired }: PanelProps) {
  const [pending, setPending] = useState<{ gtin: string; lot: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<{ gtin: string; lot: string; txHash: string | null } | null>(null);
  const { busy, error, run } = useAction(onExpired);

  function ask(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const gtin = field(e.currentTarget, 'gtin');
    const lot = field(e.currentTarget, 'lot');
    const wrong = lotError(gtin, lot);
    setProblem(wrong ?? null);
    setDone(null);
    setPending(wrong ? null : { gtin, lot });
  }

  async function confirm() {
    if (!pending) return;
    const p = pending;
    await run(`Recalling lot ${p.lot}: waiting for the chain…`, async () => {
      const r = await recallLot(caller, p.gtin, p.lot);
      setDone({ gtin: r.gtin, lot: r.lot, txHash: r.txHash });
      setPending(null);
    });
  }

  return (
    <section className="card wide" aria-labelledby="recall-title">
      <h2 id="recall-title">Recall a lot</h2>
      <form onSubmit={ask} className="inline-form">
        <GtinField />
        <LotField />
        <button type="submit" disabled={busy !== null}>
          Recall lot…
        </button>
      </form>
      <Problem text={problem} />
      {pending && !busy ? (
        <div className="note note-warn" role="alertdialog" aria-labelledby="recall-confirm">
          <p id="recall-confirm">
            <strong>
              Recall lot {pending.lot} of GTIN {pending.gtin}?
            </strong>{' '}
            Every member holding it sees <em>Recalled</em> at once, and no pack of the lot can be dispensed
            from then on. This cannot be undone.
          </p>
          <button type="button" className="danger" onClick={() => void confirm()}>
            Confirm recall
          </button>
          <button type="button" className="secondary" onClick={() => setPending(null)}>
            Cancel
          </button>
        </div>
      ) : null}
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
      {done ? (
        <Note tone="ok">
          <strong>
            Lot {done.lot} of GTIN {done.gtin} is recalled.
          </strong>{' '}
          Recorded on chain{done.txHash ? ` (transaction ${done.txHash})` : ''}; every verification of it now
          answers Recalled.
        </Note>
      ) : null}
    </section>
  );
}

function CommissionPanel({ caller, onExpired }: PanelProps) {
  const [result, setResult] = useState<CommissionResult | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const { busy, error, run } = useAction(onExpired);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = e.currentTarget;
    const gtin = field(f, 'gtin');
    const lot = field(f, 'lot');
    const expiry = field(f, 'expiry');
    const count = Number(field(f, 'count'));
    const caseSizeText = field(f, 'caseSize');
    const caseSize = Number(caseSizeText);
    const wrong =
      lotError(gtin, lot) ??
      (/^\d{6}$/.test(expiry) ? undefined : 'The expiry is a GS1 date YYMMDD, e.g. 280630') ??
      (Number.isInteger(count) && count > 0 && count <= 10_000
        ? undefined
        : 'The number of units is a whole number from 1 to 10,000') ??
      (caseSizeText === '' || (Number.isInteger(caseSize) && caseSize > 0 && caseSize <= count)
        ? undefined
        : 'The case size is a whole number from 1 to the number of units');
    setProblem(wrong ?? null);
    setResult(null);
    if (wrong) return;
    await run(`Commissioning ${count} units of lot ${lot}: waiting for the chain…`, async () => {
      setResult(
        await commissionUnits(caller, { gtin, lot, expiry, count, ...(caseSizeText ? { caseSize } : {}) }),
      );
    });
  }

  return (
    <section className="card wide" aria-labelledby="commission-title">
      <h2 id="commission-title">Commission units</h2>
      <form onSubmit={(e) => void submit(e)} className="inline-form">
        <GtinField />
        <LotField />
        <label>
          Expiry (YYMMDD)
          <input name="expiry" inputMode="numeric" autoComplete="off" required maxLength={6} />
        </label>
        <label>
          Units
          <input name="count" type="number" min={1} max={10000} step={1} required />
        </label>
        <label>
          Units per case (optional)
          <input name="caseSize" type="number" min={1} step={1} />
        </label>
        <button type="submit" disabled={busy !== null}>
          Commission
        </button>
      </form>
      <Problem text={problem} />
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
      {result ? <Commissioned r={result} /> : null}
    </section>
  );
}

/** What a commissioning run made: the lot, its transaction, the cases and every unit. */
function Commissioned({ r }: { r: CommissionResult }) {
  const caseOf = new Map(r.cases.flatMap((c) => c.units.map((u) => [u.serial, c.sscc] as const)));
  return (
    <div data-testid="commissioned">
      <Note tone="ok">
        <strong>
          Commissioned {r.count} unit{r.count === 1 ? '' : 's'} of lot {r.lot} (GTIN {r.gtin}, expires{' '}
          {gs1DateText(r.expiry)})
          {r.cases.length ? ` in ${r.cases.length} case${r.cases.length === 1 ? '' : 's'}` : ''}.
        </strong>{' '}
        Batch {r.batch} on chain (transaction <code>{r.txHash}</code>).
      </Note>
      {r.cases.length > 0 ? (
        <p>
          Cases (SSCC, to ship):{' '}
          {r.cases.map((c, i) => (
            <span key={c.sscc}>
              {i > 0 ? ', ' : ''}
              <code data-testid="case-sscc">{c.sscc}</code> ({c.units.length})
            </span>
          ))}
        </p>
      ) : null}
      <div className="scroll">
        <table className="units">
          <caption className="sr-only">Units commissioned</caption>
          <thead>
            <tr>
              <th scope="col">Serial</th>
              <th scope="col">Case</th>
            </tr>
          </thead>
          <tbody>
            {r.units.slice(0, 200).map((u) => (
              <tr key={u.serial} data-testid="unit-row">
                <td>
                  <code>{u.serial}</code>
                </td>
                <td>{caseOf.has(u.serial) ? <code>{caseOf.get(u.serial)}</code> : 'loose'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {r.units.length > 200 ? <p className="muted">and {r.units.length - 200} more.</p> : null}
      </div>
    </div>
  );
}

/** The manufacturer's quarantine decisions: clear a suspect pack, or declare it illegitimate. */
function InvestigationPanel({ caller, onExpired }: PanelProps) {
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<IncidentResult | null>(null);
  const { busy, error, run } = useAction(onExpired);

  async function decide(e: FormEvent<HTMLFormElement>, step: 'clear' | 'illegitimate') {
    const f = e.currentTarget;
    const gtin = field(f, 'gtin');
    const serial = field(f, 'serial');
    const reason = field(f, 'reason');
    const wrong =
      (/^\d{8}$|^\d{12,14}$/.test(gtin) ? undefined : 'The GTIN has 8, 12, 13 or 14 digits') ??
      (serial ? undefined : 'Give the serial of the suspect pack') ??
      (reason ? undefined : 'Say what the investigation found');
    setProblem(wrong ?? null);
    setDone(null);
    if (wrong) return;
    await run(
      step === 'clear' ? 'Clearing: back to active on chain…' : 'Declaring illegitimate and notifying…',
      async () => setDone(await incidentStep(caller, step, { gtin, serial, reason })),
    );
  }

  return (
    <section className="card wide" aria-labelledby="investigation-title">
      <h2 id="investigation-title">Quarantine decisions</h2>
      <p className="muted small">
        A suspect pack (quarantined by whoever holds it) stays unsaleable until you decide: clear it (it is
        genuine: active and saleable again), or declare it illegitimate (final): every trading partner who
        handled it is notified and has 24 hours to respond; so do you (FDA Form 3911).
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const which = (e.nativeEvent as SubmitEvent).submitter?.getAttribute('value');
          void decide(e, which === 'illegitimate' ? 'illegitimate' : 'clear');
        }}
      >
        <div className="inline-form">
          <GtinField />
          <label>
            Serial
            <input name="serial" autoComplete="off" required maxLength={20} />
          </label>
        </div>
        <label>
          Finding
          <input
            name="reason"
            autoComplete="off"
            required
            maxLength={500}
            placeholder="e.g. laboratory analysis: counterfeit"
          />
        </label>
        <button type="submit" value="clear" disabled={busy !== null}>
          Clear: genuine
        </button>{' '}
        <button type="submit" value="illegitimate" className="danger" disabled={busy !== null}>
          Declare illegitimate
        </button>
      </form>
      <Problem text={problem} />
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
      {done ? (
        <Note tone="ok">
          <strong>
            Serial {done.serials.join(', ')} of lot {done.lot} is {done.status}.
          </strong>{' '}
          Recorded on chain{done.txHash ? ` (transaction ${done.txHash})` : ''}.
          {done.notice ? (
            <span data-testid="notice">
              {' '}
              Notice sent; respond by {moment(Date.parse(done.notice.deadline))}. Notified:{' '}
              {(done.notified ?? [])
                .map(
                  (n) =>
                    `${n.name} (${n.delivered ? 'delivered' : `not delivered${n.error ? `: ${n.error}` : ''}`})`,
                )
                .join(', ') || 'no other member'}
              .
            </span>
          ) : null}
        </Note>
      ) : null}
    </section>
  );
}
