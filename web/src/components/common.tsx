/** Small shared pieces: an error with what to do next, a progress line, a date. */
import type { ReactNode } from 'react';
import { ApiError, nextStep } from '../lib/api.js';
import { formatDay, formatMoment } from '../lib/dates.js';

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const kind = error instanceof ApiError ? error.kind : 'error';
  return (
    <div className={`note note-error note-${kind}`} role="alert">
      <strong>{message}</strong>
      <span> {error instanceof ApiError || !(error instanceof Error) ? nextStep(error) : ''}</span>
      {onRetry ? (
        <button type="button" className="link" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Busy({ children, value, max }: { children: ReactNode; value?: number; max?: number }) {
  return (
    <div className="busy" role="status" aria-live="polite">
      <progress {...(value !== undefined && max ? { value, max } : {})} aria-label="progress" />
      <span>{children}</span>
    </div>
  );
}

export function Note({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'ok' | 'warn' }) {
  return (
    <div className={`note note-${tone}`} role={tone === 'warn' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A day ("1 Dec 2026") and a moment ("1 Dec 2026, 10:04"): the portal's one date format (lib/dates.ts). */
export const day = (t: number | null) => formatDay(t);
export const moment = (t: number) => formatMoment(t);
export const short = (a: string) => `${a.slice(0, 8)}…${a.slice(-6)}`;
