/**
 * The staff views' shared frame: the sign-in screen (with why the last session ended), the note
 * for a user whose role is not the view's, and the bar saying who is signed in with Sign out.
 * `StaffGate` puts the three together for a view that needs nothing before sign-in.
 */
import { type ReactNode, useCallback, useState } from 'react';
import { ApiError } from '../lib/api.js';
import type { StaffSession } from '../lib/staff.js';
import { ErrorNote, Note } from './common.js';
import { StaffSignIn } from './StaffSignIn.js';

/** The sign-in form, below the error that ended the last session (if any). */
export function SignInScreen({
  title,
  error,
  onSignedIn,
}: {
  title: string;
  error: unknown;
  onSignedIn: (s: StaffSession) => void;
}) {
  return (
    <>
      <ErrorNote error={error} />
      <StaffSignIn title={title} onSignedIn={onSignedIn} />
    </>
  );
}

/** A signed-in user whose role this view does not serve: say so, and offer to sign in again. */
export function WrongRole({
  session,
  purpose,
  signInAs,
  onSignOut,
}: {
  session: StaffSession;
  /** "this view is for pharmacists" */
  purpose: string;
  /** "Sign in as a pharmacist" */
  signInAs: string;
  onSignOut: () => void;
}) {
  return (
    <Note tone="warn">
      {session.username} has the {session.role} role; {purpose}.{' '}
      <button type="button" className="link" onClick={onSignOut}>
        {signInAs}
      </button>
    </Note>
  );
}

/** Who is signed in, any extra controls, and Sign out. */
export function SignedInBar({
  children,
  extra,
  onSignOut,
}: {
  children: ReactNode;
  extra?: ReactNode;
  onSignOut: () => void;
}) {
  return (
    <div className="row-between who">
      <p>{children}</p>
      <span>
        {extra}
        {extra ? ' ' : null}
        <button type="button" className="link" onClick={onSignOut}>
          Sign out
        </button>
      </span>
    </div>
  );
}

/** What a gated view's body gets: the session, and what to call with any failure (ends an expired session). */
export interface Gated {
  session: StaffSession;
  onExpired: (err: unknown) => void;
}

/**
 * Sign-in, role check and signed-in bar for a staff view whose body needs a session: the body is
 * rendered only for a user with one of `roles`; a 401 passed to `onExpired` ends the session and
 * says why above the sign-in.
 */
export function StaffGate({
  title,
  roles,
  purpose,
  signInAs,
  who,
  children,
}: {
  title: string;
  roles: readonly string[];
  purpose: string;
  signInAs: string;
  who: (s: StaffSession) => ReactNode;
  children: (g: Gated) => ReactNode;
}) {
  const [session, setSession] = useState<StaffSession | null>(null);
  const [ended, setEnded] = useState<unknown>(null);
  const onExpired = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.kind === 'expired') {
      setEnded(err);
      setSession(null);
    }
  }, []);
  const signOut = () => setSession(null);
  if (!session)
    return (
      <SignInScreen
        title={title}
        error={ended}
        onSignedIn={(s) => {
          setEnded(null);
          setSession(s);
        }}
      />
    );
  if (!roles.includes(session.role))
    return <WrongRole session={session} purpose={purpose} signInAs={signInAs} onSignOut={signOut} />;
  return (
    <div>
      <SignedInBar onSignOut={signOut}>{who(session)}</SignedInBar>
      {children({ session, onExpired })}
    </div>
  );
}
