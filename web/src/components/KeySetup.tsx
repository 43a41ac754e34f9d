/** The patient's key in this browser: unlock a stored one, create one, or import one. */
import { type FormEvent, useEffect, useState } from 'react';
import type { Address } from 'viem';
import {
  createKey,
  openKeyFile,
  rawKey,
  storedKeys,
  storeKey,
  type UnlockedKey,
  unlockKey,
} from '../lib/keyVault.js';
import { Busy, ErrorNote, short } from './common.js';

export function KeySetup({ onUnlocked }: { onUnlocked: (k: UnlockedKey) => void }) {
  const [keys, setKeys] = useState<{ address: Address }[] | null>(null);
  const [mode, setMode] = useState<'unlock' | 'create' | 'import'>('unlock');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [chosen, setChosen] = useState<Address | ''>('');

  useEffect(() => {
    storedKeys()
      .then((k) => {
        setKeys(k);
        setChosen(k[0]?.address ?? '');
        if (k.length === 0) setMode('import');
      })
      .catch((e) => setError(e));
  }, []);

  const run = async (what: string, f: () => Promise<UnlockedKey>) => {
    setError(null);
    setBusy(what);
    try {
      onUnlocked(await f());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const field = (form: HTMLFormElement, name: string) =>
    (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '';

  function unlock(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const pass = field(e.currentTarget, 'passphrase');
    if (!chosen) return setError(new Error('Choose a key.'));
    void run('Unlocking your key…', () => unlockKey(chosen, pass));
  }

  function create(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const a = field(e.currentTarget, 'new-passphrase');
    const b = field(e.currentTarget, 'confirm-passphrase');
    if (a !== b) return setError(new Error('The two passphrases differ.'));
    void run('Creating your key…', () => createKey(a));
  }

  function importKey(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const pass = field(form, 'import-passphrase');
    const file = (form.elements.namedItem('keyfile') as HTMLInputElement).files?.[0];
    const raw = field(form, 'raw-key');
    void run('Opening the key file (this takes a moment)…', async () => {
      if (file) return storeKey(await openKeyFile(await file.text(), pass), pass);
      if (raw) return storeKey(rawKey(raw), pass);
      throw new Error('Choose your key file, or paste your private key.');
    });
  }

  return (
    <section className="card narrow" aria-labelledby="key-title">
      <h2 id="key-title">Your key</h2>
      <p className="muted">
        Your key proves who you are and signs your consent. It is kept in this browser, encrypted under your
        passphrase, and never leaves it.
      </p>
      <div className="tabs" role="tablist" aria-label="Key">
        {(['unlock', 'create', 'import'] as const).map((m) => (
          <button
            key={m}
            type="button"
            role="tab"
            aria-selected={mode === m}
            className={mode === m ? 'active' : ''}
            onClick={() => setMode(m)}
            disabled={m === 'unlock' && (keys?.length ?? 0) === 0}
          >
            {m === 'unlock' ? 'Unlock' : m === 'create' ? 'Create a new key' : 'Import a key'}
          </button>
        ))}
      </div>
      {mode === 'unlock' && keys && keys.length > 0 ? (
        <form onSubmit={unlock}>
          <label>
            Key
            <select value={chosen} onChange={(e) => setChosen(e.target.value as Address)}>
              {keys.map((k) => (
                <option key={k.address} value={k.address}>
                  {short(k.address)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Passphrase
            <input type="password" name="passphrase" autoComplete="current-password" required minLength={8} />
          </label>
          <button type="submit" disabled={busy !== null}>
            Unlock
          </button>
        </form>
      ) : null}
      {mode === 'create' ? (
        <form onSubmit={create}>
          <label>
            New passphrase (at least 8 characters)
            <input type="password" name="new-passphrase" autoComplete="new-password" required minLength={8} />
          </label>
          <label>
            The same passphrase again
            <input
              type="password"
              name="confirm-passphrase"
              autoComplete="new-password"
              required
              minLength={8}
            />
          </label>
          <button type="submit" disabled={busy !== null}>
            Create my key
          </button>
        </form>
      ) : null}
      {mode === 'import' ? (
        <form onSubmit={importKey}>
          <label>
            Key file (from <code>medchain patient new</code>)
            <input type="file" name="keyfile" accept=".json,application/json" />
          </label>
          <label>
            …or your private key
            <input type="password" name="raw-key" autoComplete="off" placeholder="0x…" />
          </label>
          <label>
            Passphrase
            <input
              type="password"
              name="import-passphrase"
              autoComplete="current-password"
              required
              minLength={8}
              aria-describedby="import-hint"
            />
          </label>
          <p id="import-hint" className="muted small">
            The passphrase of the key file. It also protects the key in this browser.
          </p>
          <button type="submit" disabled={busy !== null}>
            Import
          </button>
        </form>
      ) : null}
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
    </section>
  );
}
