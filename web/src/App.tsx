/**
 * The portal shell: which member this is, and the patient, clinician, claims, pharmacy,
 * manufacturer and administrator views.
 */
import { lazy, Suspense, useEffect, useState } from 'react';
import { Busy, ErrorNote } from './components/common.js';
import { type Chain, loadConfig, type PortalConfig } from './lib/chain.js';
import { AdminView } from './views/AdminView.js';
import { ClinicianView } from './views/ClinicianView.js';
import { PatientView } from './views/PatientView.js';

// The supply chain views are their own chunk: most members never open them, and the main chunk
// stays within the build's size limit.
const PharmacyView = lazy(() => import('./views/PharmacyView.js').then((m) => ({ default: m.PharmacyView })));
const ClaimsView = lazy(() => import('./views/ClaimsView.js').then((m) => ({ default: m.ClaimsView })));
const ManufacturerView = lazy(() =>
  import('./views/ManufacturerView.js').then((m) => ({ default: m.ManufacturerView })),
);

type View = 'patient' | 'clinician' | 'claims' | 'pharmacy' | 'manufacturer' | 'admin';
const VIEWS: [View, string][] = [
  ['patient', 'Patient'],
  ['clinician', 'Clinician'],
  ['claims', 'Claims'],
  ['pharmacy', 'Pharmacy'],
  ['manufacturer', 'Manufacturer'],
  ['admin', 'Administrator'],
];
const viewOfHash = (): View => {
  const h = window.location.hash.replace('#/', '').replace('#', '');
  return VIEWS.find(([v]) => v === h)?.[0] ?? 'patient';
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
            <div hidden={view !== 'claims'}>
              <Suspense fallback={<Busy>Loading the claims view…</Busy>}>
                <ClaimsView config={setup.config} chain={setup.chain} />
              </Suspense>
            </div>
            <div hidden={view !== 'pharmacy'}>
              <Suspense fallback={<Busy>Loading the pharmacy view…</Busy>}>
                <PharmacyView config={setup.config} chain={setup.chain} />
              </Suspense>
            </div>
            <div hidden={view !== 'manufacturer'}>
              <Suspense fallback={<Busy>Loading the manufacturer view…</Busy>}>
                <ManufacturerView config={setup.config} chain={setup.chain} />
              </Suspense>
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
