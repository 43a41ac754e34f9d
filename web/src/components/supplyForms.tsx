/** Small pieces the supply panels share: a form field's value, a run-with-busy-and-error hook, an input problem. */
import { type ReactNode, useCallback, useEffect, useState } from 'react';
import type { Chain } from '../lib/chain.js';

/** The trimmed value of a named field of a form. */
export const field = (form: HTMLFormElement, name: string): string =>
  ((form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '').trim();

/** Run `f` with a busy line and an error (passed on to `onExpired`, which ends an expired session). */
export function useAction(onExpired: (err: unknown) => void) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(
    async (what: string, f: () => Promise<void>) => {
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
    },
    [onExpired],
  );
  return { busy, error, setError, run };
}

/** An input problem found in the browser: nothing was sent. */
export function Problem({ text }: { text: string | null | undefined }): ReactNode {
  if (!text) return null;
  return (
    <div className="note note-error" role="alert">
      <strong>{text}.</strong> Nothing was sent.
    </div>
  );
}

/** Member names by lower-case chain address, read once from the Registry (empty until then, or without a chain). */
export function useMemberNames(chain: Chain | null): ReadonlyMap<string, string> {
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => {
    chain?.members().then(
      (ms) => setNames(new Map(ms.map((m) => [m.address.toLowerCase(), m.name]))),
      () => setNames(new Map()), // names are a nicety: addresses are shown instead
    );
  }, [chain]);
  return names;
}

/** The GTIN input of a supply form (named `gtin`). */
export function GtinField() {
  return (
    <label>
      GTIN
      <input name="gtin" inputMode="numeric" autoComplete="off" required maxLength={14} />
    </label>
  );
}

/** The lot input of a supply form (named `lot`). */
export function LotField() {
  return (
    <label>
      Lot
      <input name="lot" autoComplete="off" required maxLength={20} />
    </label>
  );
}
