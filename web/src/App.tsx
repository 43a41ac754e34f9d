/** The portal shell: which member this is, and the patient, clinician and administrator views. */
import { useEffect, useState } from 'react';
import { Busy, ErrorNote } from './components/common.js';
import { type Chain, loadConfig, type PortalConfig } from './lib/chain.js';
import { AdminView } from './views/AdminView.js';
import { ClinicianView } from './views/ClinicianView.js';
import { PatientView } from './views/PatientView.js';

type View = 'patient' | 'clinician' | 'admin';
const VIEWS: [View, string][] = [
  ['patient', 'Patient'],
  ['clinician', 'Clinician'],
  ['admin', 'Administrator'],
];
const viewOfHash = (): View => {
  const h = window.location.hash.replace('#/', '').replace('#', '');
  return h === 'clinician' || h === 'admin' ? h : 'patient';
};

export function App() {
  const [view, setView] = useState<View>(viewOfHash());
  const [setup, setSetup] = useState<{ config: PortalConfig; chain: Chain | null } | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const on = () => setView(viewOfHash());
    window.addEventListener('hashchange', on);
    loadConfig().then(setSetup, setError);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span>
            medchain <span className="member-name">· {setup?.config.member.name ?? '…'}</span>
          </span>
        </div>
        <nav aria-label="Views">
          {VIEWS.map(([v, label]) => (
            <a
              key={v}
              href={`#/${v}`}
              aria-current={view === v ? 'page' : undefined}
              className={view === v ? 'active' : ''}
            >
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorNote error={error} onRetry={() => window.location.reload()} />
        {!setup && !error ? <Busy>Connecting to this member node…</Busy> : null}
        {setup ? (
          <>
            <div hidden={view !== 'patient'}>
              <PatientView chain={setup.chain} />
            </div>
            <div hidden={view !== 'clinician'}>
              <ClinicianView config={setup.config} chain={setup.chain} />
            </div>
            <div hidden={view !== 'admin'}>
              <AdminView config={setup.config} chain={setup.chain} />
            </div>
          </>
        ) : null}
      </main>
      <footer className="foot muted small">
        Records are encrypted at each member; consent and log anchors live on chain. Every access is logged.
      </footer>
    </>
  );
}
