/**
 * Ship to another member (`POST /supply/ship`, this member's administrators): the receiver from
 * the Registry on chain, and what goes, scanned one a line (case SSCCs and loose unit codes). The
 * answer says what moved on chain and whether the receiver took the shipment notice.
 */
import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { type Chain, chainError, type Member } from '../lib/chain.js';
import {
  readItemLines,
  resendShipment,
  type ShipResult,
  type SupplyCaller,
  shipUnits,
} from '../lib/supply.js';
import { Busy, ErrorNote, Note } from './common.js';
import { field, Problem, useAction } from './supplyForms.js';

export function ShipPanel({
  caller,
  chain,
  self,
  title = 'Ship to a member',
  hint,
  onExpired,
}: {
  caller: SupplyCaller;
  chain: Chain | null;
  /** This member's chain address (not offered as a receiver). */
  self: string;
  title?: string;
  hint?: ReactNode;
  onExpired: (err: unknown) => void;
}) {
  const [members, setMembers] = useState<Member[] | null>(null);
  const [result, setResult] = useState<ShipResult | null>(null);
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
    const items = readItemLines(field(f, 'items'));
    const wrong = !to ? 'Choose the member to ship to' : items.ok ? null : items.message;
    setProblem(wrong);
    setResult(null);
    if (wrong || !items.ok) return;
    await run('Shipping: moving custody on chain…', async () =>
      setResult(
        await shipUnits(caller, {
          to,
          ...(items.units.length ? { units: items.units } : {}),
          ...(items.cases.length ? { cases: items.cases } : {}),
        }),
      ),
    );
  }

  async function resend(shipped: ShipResult) {
    await run('Sending the shipment notice again…', async () => {
      const r = await resendShipment(caller, shipped.shipment);
      setResult({ ...shipped, delivered: r.delivered, ...(r.message ? { message: r.message } : {}) });
    });
  }

  return (
    <section className="card wide" aria-labelledby="ship-title">
      <h2 id="ship-title">{title}</h2>
      {hint ? <p className="muted small">{hint}</p> : null}
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
        <label>
          Cases and units (one scanned code a line: a case’s 18-digit SSCC or a pack’s code)
          <textarea name="items" rows={4} spellCheck={false} />
        </label>
        <button type="submit" disabled={busy !== null}>
          Ship
        </button>
      </form>
      <Problem text={problem} />
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
      {result ? (
        <Note tone={result.delivered ? 'ok' : 'warn'}>
          <strong>
            Shipped {result.units} unit{result.units === 1 ? '' : 's'}
            {result.cases.length
              ? ` in ${result.cases.length} case${result.cases.length === 1 ? '' : 's'}`
              : ''}{' '}
            to {result.to.name}.
          </strong>{' '}
          Custody moved on chain ({result.txHashes.length} transaction
          {result.txHashes.length === 1 ? '' : 's'}); shipment <code>{result.shipment}</code>.{' '}
          {result.delivered
            ? `${result.to.name} has the shipment notice and can receive it.`
            : `${result.to.name} did not accept the shipment notice${result.message ? ` (${result.message})` : ''}; send it again once they are back.`}
          {result.delivered ? null : (
            <button
              type="button"
              className="secondary"
              disabled={busy !== null}
              onClick={() => void resend(result)}
            >
              Send the notice again
            </button>
          )}
        </Note>
      ) : null}
    </section>
  );
}
