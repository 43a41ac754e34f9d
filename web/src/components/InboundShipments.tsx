/**
 * Shipments on their way to this member (`GET /supply/shipments?direction=in`) and receiving one
 * (`POST /supply/receive`): everything as announced, or what was scanned at the dock, checked
 * against the shipment notice. A mismatch refuses the whole receipt; each finding is listed with
 * what it is about and what to do (the 409 OperationOutcome's issues).
 */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import {
  listShipments,
  type ReceiptFinding,
  readItemLines,
  receiptFindingsOf,
  receiveShipment,
  type ShipmentSummary,
  type SupplyCaller,
} from '../lib/supply.js';
import { Busy, ErrorNote, moment, Note, short } from './common.js';
import { field, Problem, useAction } from './supplyForms.js';

export function InboundShipments({
  caller,
  names,
  onExpired,
}: {
  caller: SupplyCaller;
  names: ReadonlyMap<string, string>;
  onExpired: (e: unknown) => void;
}) {
  const [shipments, setShipments] = useState<ShipmentSummary[] | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [findings, setFindings] = useState<{ shipment: string; list: ReceiptFinding[] } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const { busy, error, setError, run } = useAction(onExpired);
  const { token, who } = caller;
  const from = (s: ShipmentSummary) => names.get(s.counterparty.toLowerCase()) ?? short(s.counterparty);

  const refresh = useCallback(
    () => run('Reading shipments…', async () => setShipments(await listShipments({ token, who }, 'in'))),
    [run, token, who],
  );
  useEffect(() => {
    void refresh();
  }, [refresh]);

  async function receive(s: ShipmentSummary, scanned?: string) {
    setDone(null);
    setFindings(null);
    setProblem(null);
    let body: { shipment: string; cases?: string[]; units?: { gtin: string; serial: string }[] } = {
      shipment: s.id,
    };
    if (scanned !== undefined) {
      const items = readItemLines(scanned);
      if (!items.ok) return setProblem(items.message);
      body = {
        ...body,
        ...(items.cases.length ? { cases: items.cases } : {}),
        ...(items.units.length ? { units: items.units } : {}),
      };
    }
    await run(`Receiving the shipment from ${from(s)}…`, async () => {
      try {
        const r = await receiveShipment({ token, who }, body);
        setDone(
          `Received ${r.units} unit${r.units === 1 ? '' : 's'}${r.cases.length ? ` in ${r.cases.length} case${r.cases.length === 1 ? '' : 's'}` : ''} from ${from(s)}.`,
        );
        setShipments(await listShipments({ token, who }, 'in'));
      } catch (err) {
        const list = receiptFindingsOf(err);
        if (!list) throw err;
        setFindings({ shipment: s.id, list });
        setError(null);
      }
    });
  }

  const open = (shipments ?? []).filter((s) => s.status === 'in-transit');
  const past = (shipments ?? []).filter((s) => s.status !== 'in-transit').slice(0, 5);
  return (
    <section className="card wide" aria-labelledby="inbound-title">
      <div className="row-between">
        <h2 id="inbound-title">Inbound shipments</h2>
        <button type="button" className="secondary" onClick={() => void refresh()} disabled={busy !== null}>
          Refresh
        </button>
      </div>
      <p className="muted small">
        Custody is already yours on chain once a shipment is sent; receiving checks what arrived against the
        sender’s notice and stores the units here (until then they cannot be dispensed or shipped on).
      </p>
      <ErrorNote error={error} onRetry={() => void refresh()} />
      <Problem text={problem} />
      {busy ? <Busy>{busy}</Busy> : null}
      {done ? (
        <Note tone="ok">
          <strong>{done}</strong> The units are in stock here.
        </Note>
      ) : null}
      {findings ? <Findings list={findings.list} /> : null}
      {shipments && open.length === 0 ? <p>No shipments on their way here.</p> : null}
      {open.map((s) => (
        <div key={s.id} className="shipment" data-testid="inbound-shipment" data-shipment={s.id}>
          <h3>
            From {from(s)}, sent {moment(Date.parse(s.shippedAt))}
          </h3>
          <ShipmentContents s={s} />
          <button type="button" onClick={() => void receive(s)} disabled={busy !== null}>
            Receive all as announced
          </button>
          <form
            onSubmit={(e: FormEvent<HTMLFormElement>) => {
              e.preventDefault();
              void receive(s, field(e.currentTarget, 'arrived'));
            }}
          >
            <label>
              What arrived (scan each case label or loose pack, one a line)
              <textarea name="arrived" rows={3} spellCheck={false} />
            </label>
            <button type="submit" className="secondary" disabled={busy !== null}>
              Check and receive what was scanned
            </button>
          </form>
        </div>
      ))}
      {past.length > 0 ? (
        <details>
          <summary>Received lately ({past.length})</summary>
          <ul>
            {past.map((s) => (
              <li key={s.id}>
                From {from(s)}: {s.units.length} units, {s.status}
                {s.receivedAt ? ` ${moment(Date.parse(s.receivedAt))}` : ''}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}

function ShipmentContents({ s }: { s: ShipmentSummary }) {
  const inCases = new Set(s.cases.flatMap((c) => c.units.map((u) => `${u.gtin}/${u.serial}`)));
  const loose = s.units.filter((u) => !inCases.has(`${u.gtin}/${u.serial}`));
  const lots = [...new Set(s.units.map((u) => `${u.gtin} lot ${u.lot}`))];
  return (
    <dl className="facts">
      <dt>Units</dt>
      <dd>
        {s.units.length} ({lots.join('; ')})
      </dd>
      <dt>Cases</dt>
      <dd>
        {s.cases.length === 0
          ? 'none'
          : s.cases.map((c, i) => (
              <span key={c.sscc}>
                {i > 0 ? ', ' : ''}
                <code>{c.sscc}</code> ({c.units.length})
              </span>
            ))}
      </dd>
      {loose.length > 0 ? (
        <>
          <dt>Loose</dt>
          <dd>{loose.map((u) => u.serial).join(', ')}</dd>
        </>
      ) : null}
    </dl>
  );
}

/** A refused receipt's findings: what is wrong, with what, and what to do. Nothing was recorded. */
function Findings({ list }: { list: ReceiptFinding[] }) {
  return (
    <div className="note note-error" role="alert" data-testid="receipt-findings">
      <strong>
        Receipt refused: {list.length} finding{list.length === 1 ? '' : 's'}.
      </strong>{' '}
      Nothing was recorded; the shipment stays open. Check what arrived, then receive again or contact the
      sender.
      <ul>
        {list.map((f) => (
          <li key={`${f.code}:${f.item}`} data-code={f.code}>
            <strong>{f.title}</strong>: <code>{f.item}</code>
            {f.text ? ` — ${f.text}` : ''}
            {[
              ['missing', f.missing],
              ['not expected', f.unexpected],
              ['scanned twice', f.duplicates],
            ].map(([what, units]) =>
              (units as string[]).length > 0 ? (
                <div key={what as string} className="small">
                  {what as string}: {(units as string[]).join(', ')}
                </div>
              ) : null,
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
