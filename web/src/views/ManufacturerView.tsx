/**
 * The manufacturer's administrator: recall a lot (with a confirm step: every holder sees it at
 * once and no pack of it can be dispensed again), commission a run of serialized units, and ship
 * units or cases to another member. Commissioning and shipping may not be served by this node
 * yet; the forms then say so.
 */
import { type FormEvent, type ReactNode, useCallback, useEffect, useState } from 'react';
import { Busy, ErrorNote, Note } from '../components/common.js';
import { StaffSignIn } from '../components/StaffSignIn.js';
import { ApiError } from '../lib/api.js';
import type { Chain, Member, PortalConfig } from '../lib/chain.js';
import { chainError } from '../lib/chain.js';
import type { StaffSession } from '../lib/staff.js';
import {
  commissionUnits,
  NOT_AVAILABLE,
  recallLot,
  type ShipRequest,
  type SupplyCaller,
  shipUnits,
} from '../lib/supply.js';
import { lotError, readScan } from '../lib/supplyScan.js';

export function ManufacturerView({ config, chain }: { config: PortalConfig; chain: Chain | null }) {
  const [session, setSession] = useState<StaffSession | null>(null);
  const [ended, setEnded] = useState<unknown>(null);
  const here = config.member.name;
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
          title={`Manufacturer sign-in at ${here}`}
          onSignedIn={(s) => {
            setEnded(null);
            setSession(s);
          }}
        />
      </>
    );
  if (session.role !== 'admin')
    return (
      <Note tone="warn">
        {session.username} has the {session.role} role; recalls, commissioning and shipping are for the
        manufacturer’s administrators.{' '}
        <button type="button" className="link" onClick={() => setSession(null)}>
          Sign in as an administrator
        </button>
      </Note>
    );
  const caller: SupplyCaller = { token: session.token, who: here };
  return (
    <div>
      <div className="row-between who">
        <p>
          Administrator of <strong>{here}</strong> ({session.username})
        </p>
        <button type="button" className="link" onClick={() => setSession(null)}>
          Sign out
        </button>
      </div>
      <RecallPanel caller={caller} onExpired={expired} />
      <CommissionPanel caller={caller} onExpired={expired} />
      <ShipPanel caller={caller} chain={chain} self={config.member.address} onExpired={expired} />
    </div>
  );
}

interface PanelProps {
  caller: SupplyCaller;
  onExpired: (err: unknown) => void;
}

/** Run `f` with a busy line and an error note; the shared shape of the three forms. */
function useAction(onExpired: (err: unknown) => void) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(err);
      onExpired(err);
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, setError, run };
}

const field = (form: HTMLFormElement, name: string) =>
  ((form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '').trim();

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
        <label>
          GTIN
          <input name="gtin" inputMode="numeric" autoComplete="off" required maxLength={14} />
        </label>
        <label>
          Lot
          <input name="lot" autoComplete="off" required maxLength={20} />
        </label>
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

/** What a route returned, or that this node does not serve it. */
function Outcome({ result, what }: { result: Record<string, unknown> | typeof NOT_AVAILABLE; what: string }) {
  if (result === NOT_AVAILABLE) return <Note tone="warn">{what} is not available at this node yet.</Note>;
  const plain = Object.entries(result).filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v));
  return (
    <Note tone="ok">
      <strong>Done.</strong>{' '}
      {plain.map(([k, v], i) => (
        <span key={k}>
          {i > 0 ? '; ' : ''}
          {k}: <code>{String(v)}</code>
        </span>
      ))}
    </Note>
  );
}

function CommissionPanel({ caller, onExpired }: PanelProps) {
  const [result, setResult] = useState<Record<string, unknown> | typeof NOT_AVAILABLE | null>(null);
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
    const wrong =
      lotError(gtin, lot) ??
      (/^\d{6}$/.test(expiry) ? undefined : 'The expiry is a GS1 date YYMMDD, e.g. 280630') ??
      (Number.isInteger(count) && count > 0 ? undefined : 'The number of units is a whole number above 0') ??
      (caseSizeText === '' || Number(caseSizeText) > 0
        ? undefined
        : 'The case size is a whole number above 0');
    setProblem(wrong ?? null);
    setResult(null);
    if (wrong) return;
    await run(`Commissioning ${count} units of lot ${lot}…`, async () => {
      setResult(
        await commissionUnits(caller, {
          gtin,
          lot,
          expiry,
          count,
          ...(caseSizeText ? { caseSize: Number(caseSizeText) } : {}),
        }),
      );
    });
  }

  return (
    <section className="card wide" aria-labelledby="commission-title">
      <h2 id="commission-title">Commission units</h2>
      <form onSubmit={(e) => void submit(e)} className="inline-form">
        <label>
          GTIN
          <input name="gtin" inputMode="numeric" autoComplete="off" required maxLength={14} />
        </label>
        <label>
          Lot
          <input name="lot" autoComplete="off" required maxLength={20} />
        </label>
        <label>
          Expiry (YYMMDD)
          <input name="expiry" inputMode="numeric" autoComplete="off" required maxLength={6} />
        </label>
        <label>
          Units
          <input name="count" type="number" min={1} step={1} required />
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
      {result ? <Outcome result={result} what="Commissioning" /> : null}
    </section>
  );
}

function Problem({ text }: { text: string | null }): ReactNode {
  if (!text) return null;
  return (
    <div className="note note-error" role="alert">
      <strong>{text}.</strong> Nothing was sent.
    </div>
  );
}

function ShipPanel({ caller, chain, self, onExpired }: PanelProps & { chain: Chain | null; self: string }) {
  const [members, setMembers] = useState<Member[] | null>(null);
  const [what, setWhat] = useState<'units' | 'cases'>('units');
  const [result, setResult] = useState<Record<string, unknown> | typeof NOT_AVAILABLE | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const { busy, error, setError, run } = useAction(onExpired);

  useEffect(() => {
    chain?.members().then(
      (ms) => setMembers(ms.filter((m) => m.active && m.address.toLowerCase() !== self.toLowerCase())),
      (err) => setError(chainError(err)),
    );
  }, [chain, self, setError]);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = e.currentTarget;
    const to = field(f, 'to');
    const lines = field(f, 'items')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    let body: ShipRequest | undefined;
    let wrong: string | undefined;
    if (!to) wrong = 'Choose the member to ship to';
    else if (lines.length === 0) wrong = `List the ${what} to ship, one a line`;
    else if (what === 'units') {
      const units: { gtin: string; serial: string }[] = [];
      for (const [i, l] of lines.entries()) {
        const r = readScan(l);
        if (!r.ok) {
          wrong = `Line ${i + 1}: ${r.message.replace(/\.$/, '')}`;
          break;
        }
        units.push({ gtin: r.id.gtin, serial: r.id.serial as string });
      }
      body = { to, units };
    } else {
      const bad = lines.findIndex((l) => !/^\d{18}$/.test(l));
      if (bad !== -1) wrong = `Line ${bad + 1}: an SSCC has 18 digits`;
      body = { to, cases: lines };
    }
    setProblem(wrong ?? null);
    setResult(null);
    if (wrong || !body) return;
    const b = body;
    await run('Shipping…', async () => setResult(await shipUnits(caller, b)));
  }

  return (
    <section className="card wide" aria-labelledby="ship-title">
      <h2 id="ship-title">Ship to a member</h2>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          To
          <select name="to" defaultValue="">
            <option value="" disabled>
              {members === null ? 'Reading the members from the chain…' : 'Choose a member'}
            </option>
            {(members ?? []).map((m) => (
              <option key={m.address} value={m.address}>
                {m.name} ({m.roles.join(', ').toLowerCase()})
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>What to ship</legend>
          <label className="check">
            <input type="radio" name="what" checked={what === 'units'} onChange={() => setWhat('units')} />
            Units (one scanned code a line)
          </label>
          <label className="check">
            <input type="radio" name="what" checked={what === 'cases'} onChange={() => setWhat('cases')} />
            Cases (one SSCC a line)
          </label>
        </fieldset>
        <label>
          {what === 'units' ? 'Unit codes' : 'Case SSCCs'}
          <textarea name="items" rows={4} spellCheck={false} />
        </label>
        <button type="submit" disabled={busy !== null}>
          Ship
        </button>
      </form>
      <Problem text={problem} />
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
      {result ? <Outcome result={result} what="Shipping" /> : null}
    </section>
  );
}
