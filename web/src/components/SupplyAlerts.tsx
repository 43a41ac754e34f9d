/**
 * This member's open supply alerts (`GET /supply/alerts`: illegitimate-product notices, DSCSA
 * §582(b)(4)(B)): what, from whom, the deadline, the time left, an alarm once overdue, and
 * Acknowledge (`POST /supply/alerts/{id}/ack`).
 */
import { useCallback, useEffect, useState } from 'react';
import {
  acknowledgeAlert,
  listAlerts,
  type SupplyAlert,
  type SupplyCaller,
  timeLeftText,
} from '../lib/supply.js';
import { Busy, ErrorNote, moment, short } from './common.js';
import { useAction } from './supplyForms.js';

export function SupplyAlerts({
  caller,
  names,
  onExpired,
}: {
  caller: SupplyCaller;
  /** Member names by lower-case chain address. */
  names: ReadonlyMap<string, string>;
  onExpired: (e: unknown) => void;
}) {
  const [alerts, setAlerts] = useState<SupplyAlert[] | null>(null);
  const [readAt, setReadAt] = useState(Date.now());
  const [acked, setAcked] = useState<string | null>(null);
  const { busy, error, run } = useAction(onExpired);
  const { token, who } = caller;

  const refresh = useCallback(
    () =>
      run('Reading alerts…', async () => {
        setAlerts(await listAlerts({ token, who }));
        setReadAt(Date.now());
      }),
    [run, token, who],
  );
  useEffect(() => {
    void refresh();
  }, [refresh]);

  async function ack(a: SupplyAlert) {
    await run('Acknowledging…', async () => {
      await acknowledgeAlert({ token, who }, a.id);
      setAcked(`${a.kind} notice for lot ${a.lot} of GTIN ${a.gtin}`);
      setAlerts(await listAlerts({ token, who }));
      setReadAt(Date.now());
    });
  }

  const overdue = (alerts ?? []).filter((a) => a.overdue).length;
  return (
    <section className="card wide" aria-labelledby="alerts-title">
      <div className="row-between">
        <h2 id="alerts-title">Alerts</h2>
        <button type="button" className="secondary" onClick={() => void refresh()} disabled={busy !== null}>
          Refresh
        </button>
      </div>
      <p className="muted small">
        Illegitimate-product notices from a manufacturer (or this member’s own determination): respond within
        24 hours (notify FDA, Form 3911, and your trading partners), then acknowledge. Recalled packs show{' '}
        <em>Recalled</em> when verified.
      </p>
      {overdue > 0 ? (
        <div className="note note-error" role="alert" data-testid="alerts-overdue">
          <strong>
            {overdue} alert{overdue === 1 ? '' : 's'} overdue.
          </strong>{' '}
          The 24-hour deadline has passed: act on it now and acknowledge.
        </div>
      ) : null}
      <ErrorNote error={error} onRetry={() => void refresh()} />
      {busy ? <Busy>{busy}</Busy> : null}
      {acked ? (
        <p role="status" className="muted">
          Acknowledged the {acked}.
        </p>
      ) : null}
      {alerts?.length === 0 ? <p>No open alerts.</p> : null}
      {alerts && alerts.length > 0 ? (
        <div className="scroll">
          <table className="alerts">
            <caption className="sr-only">Open alerts, soonest deadline first</caption>
            <thead>
              <tr>
                <th scope="col">Alert</th>
                <th scope="col">Product</th>
                <th scope="col">From</th>
                <th scope="col">Received</th>
                <th scope="col">Deadline</th>
                <th scope="col">Time left</th>
                <th scope="col">
                  <span className="sr-only">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => {
                const left = timeLeftText(a.deadline, readAt);
                const late = a.overdue || left.overdue;
                return (
                  <tr
                    key={a.id}
                    className={late ? 'overdue' : ''}
                    data-testid="alert-row"
                    data-overdue={String(late)}
                  >
                    <td>
                      {a.kind}
                      <div className="muted small">{a.reason}</div>
                    </td>
                    <td>
                      GTIN <code>{a.gtin}</code>, lot <code>{a.lot}</code>
                      <div className="muted small">
                        serial{a.serials.length === 1 ? '' : 's'} {a.serials.join(', ')}
                      </div>
                    </td>
                    <td>{names.get(a.from.toLowerCase()) ?? short(a.from)}</td>
                    <td>{moment(Date.parse(a.receivedAt))}</td>
                    <td data-testid="alert-deadline">{moment(Date.parse(a.deadline))}</td>
                    <td data-testid="alert-time-left">
                      {left.text}
                      {late ? <span className="tag tag-failed">overdue</span> : null}
                    </td>
                    <td>
                      <button
                        type="button"
                        onClick={() => void ack(a)}
                        disabled={busy !== null}
                        aria-label={`Acknowledge the ${a.kind} notice for lot ${a.lot} of GTIN ${a.gtin}`}
                      >
                        Acknowledge
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
