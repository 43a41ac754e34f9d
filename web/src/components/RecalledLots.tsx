/**
 * The recalled lots this member holds (`GET /supply/recalls`): a recall is on chain the moment the
 * manufacturer sends it, so the list is read there, with the packs of each lot still in this
 * member's custody, to set aside and return. Refresh reads it again.
 */
import { useCallback, useEffect, useState } from 'react';
import { listRecalledLots, type RecalledLot, type SupplyCaller } from '../lib/supply.js';
import { gs1DateText } from '../lib/supplyScan.js';
import { Busy, ErrorNote } from './common.js';
import { useAction } from './supplyForms.js';

export function RecalledLots({
  caller,
  onExpired,
}: {
  caller: SupplyCaller;
  onExpired: (e: unknown) => void;
}) {
  const [lots, setLots] = useState<RecalledLot[] | null>(null);
  const { busy, error, run } = useAction(onExpired);
  const { token, who } = caller;
  const refresh = useCallback(
    () => run('Reading recalls on chain…', async () => setLots(await listRecalledLots({ token, who }))),
    [run, token, who],
  );
  useEffect(() => {
    void refresh();
  }, [refresh]);

  return (
    <section className="card wide" aria-labelledby="recalls-title">
      <div className="row-between">
        <h2 id="recalls-title">Recalled lots in stock</h2>
        <button type="button" className="secondary" onClick={() => void refresh()} disabled={busy !== null}>
          Refresh
        </button>
      </div>
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
      {lots === null ? null : lots.length === 0 ? (
        <p className="muted" data-testid="recalls-none">
          No recalled lot in stock here.
        </p>
      ) : (
        <>
          <div className="note note-error" role="alert" data-testid="recalls-held">
            <strong>
              {lots.length} recalled lot{lots.length === 1 ? '' : 's'} in stock: set the packs aside, do not
              dispense them, and return them to the supplier.
            </strong>
          </div>
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">GTIN</th>
                  <th scope="col">Lot</th>
                  <th scope="col">Expiry</th>
                  <th scope="col">Packs held</th>
                </tr>
              </thead>
              <tbody>
                {lots.map((l) => (
                  <tr key={`${l.gtin}/${l.lot}`} data-testid="recalled-lot">
                    <td>
                      <code>{l.gtin}</code>
                    </td>
                    <td>{l.lot}</td>
                    <td>{gs1DateText(l.expiry)}</td>
                    <td>{l.units.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
