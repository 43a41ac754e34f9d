/** Sign-in of this member's staff (username and password). */
import { type FormEvent, useState } from 'react';
import { type StaffSession, staffSignIn } from '../lib/staff.js';
import { Busy, ErrorNote } from './common.js';

export function StaffSignIn({ title, onSignedIn }: { title: string; onSignedIn: (s: StaffSession) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = e.currentTarget.elements;
    const username = (f.namedItem('username') as HTMLInputElement).value;
    const password = (f.namedItem('password') as HTMLInputElement).value;
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await staffSignIn(username, password));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="card narrow" onSubmit={submit} aria-labelledby="staff-title">
      <h2 id="staff-title">{title}</h2>
      <label>
        User name
        <input name="username" autoComplete="username" required maxLength={64} />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {busy ? <Busy>Signing in…</Busy> : null}
      <ErrorNote error={error} />
    </form>
  );
}
