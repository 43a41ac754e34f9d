/**
 * The patient: their key, their records from every member, the claims billed in their name, their
 * consent, and who accessed what.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { mergeIpsDocuments } from '../../../src/fhir/ips/mergeIps.js';
import { AccessPanel } from '../components/AccessPanel.js';
import { ConsentPanel } from '../components/ConsentPanel.js';
import { Busy, ErrorNote, Note, short } from '../components/common.js';
import { KeySetup } from '../components/KeySetup.js';
import { PatientHeader } from '../components/PatientHeader.js';
import { Timeline } from '../components/Timeline.js';
import type { Chain, Member } from '../lib/chain.js';
import { chainError } from '../lib/chain.js';
import { parseRequest } from '../lib/consentRequest.js';
import type { UnlockedKey } from '../lib/keyVault.js';
import { PatientSessions } from '../lib/patientSession.js';
import { type Gaps, NO_GAPS, SECTIONS } from '../lib/recordSections.js';
import { arrangeRecords, type HeldRecord, patientSummary } from '../lib/records.js';

type Tab = 'records' | 'claims' | 'consent' | 'access';

// The claims tab is its own chunk (with the Claims ABI), so the main chunk does not grow.
const PatientClaims = lazy(() =>
  import('../components/PatientClaims.js').then((m) => ({ default: m.PatientClaims })),
);

interface MemberRecords {
  member: Member;
  count?: number;
  error?: unknown;
}

export function PatientView({ chain }: { chain: Chain | null }) {
  const [key, setKey] = useState<UnlockedKey | null>(null);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [records, setRecords] = useState<HeldRecord[]>([]);
  const [status, setStatus] = useState<MemberRecords[]>([]);
  const [loading, setLoading] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [request] = useState(() => parseRequest(window.location.hash));
  const [tab, setTab] = useState<Tab>(request ? 'consent' : 'records');
  const sessions = useMemo(() => (key ? new PatientSessions(key) : null), [key]);

  const load = useCallback(async () => {
    if (!chain || !sessions) return;
    setError(null);
    setLoading('Reading the members from the chain…');
    let ms: Member[];
    try {
      ms = await chain.members();
    } catch (err) {
      setLoading(null);
      setError(chainError(err));
      return;
    }
    setMembers(ms);
    const active = ms.filter((m) => m.active);
    setLoading(`Signing in and fetching your records from ${active.length} members…`);
    const results = await Promise.all(
      active.map(async (member): Promise<{ s: MemberRecords; held: HeldRecord[] }> => {
        try {
          const b = await sessions.call<Bundle>(member, `/patients/${sessions.key.address}/records`);
          const held = (b.entry ?? [])
            .filter((e) => e.search?.mode !== 'outcome' && e.resource)
            .map((e) => ({ resource: e.resource as Resource, member: member.name }));
          return { s: { member, count: held.length }, held };
        } catch (err) {
          return { s: { member, error: err }, held: [] };
        }
      }),
    );
    setStatus(results.map((r) => r.s));
    setRecords(results.flatMap((r) => r.held));
    setLoading(null);
  }, [chain, sessions]);

  useEffect(() => {
    void load();
  }, [load]);

  // The International Patient Summary of every member's records: each member's own summary
  // (GET /patients/<address>/summary, validated there), merged here and saved as a file.
  const downloadSummary = useCallback(async () => {
    if (!chain || !sessions) return;
    setError(null);
    setLoading('Fetching your International Patient Summary from every member…');
    try {
      const active = (await chain.members()).filter((m) => m.active);
      const got = await Promise.all(
        active.map(async (member) => {
          try {
            return { doc: await sessions.call<Bundle>(member, `/patients/${sessions.key.address}/summary`) };
          } catch (err) {
            return { missing: `${member.name}: ${(err as Error).message}` };
          }
        }),
      );
      const docs = got.flatMap((g) => (g.doc ? [g.doc] : []));
      if (docs.length === 0)
        throw new Error('no member could give your summary (does one hold your name and birth date?)');
      const merged = mergeIpsDocuments(
        docs,
        got.flatMap((g) => (g.missing ? [g.missing] : [])),
        new Date(),
        () => crypto.randomUUID(),
      );
      const url = URL.createObjectURL(
        new Blob([JSON.stringify(merged, null, 2)], { type: 'application/fhir+json' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = `patient-summary-${sessions.key.address}.json`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(null);
    }
  }, [chain, sessions]);

  if (!chain)
    return (
      <Note tone="warn">
        This member node is not connected to the chain, so the patient portal is not available here.
      </Note>
    );
  if (!key) return <KeySetup onUnlocked={setKey} />;

  const timeline = arrangeRecords(records);
  // Each member holds the patient's own Patient record: their name and details, as the members have them.
  const me = patientSummary(records);
  // The patient sees all of their own records; only a member that did not answer leaves a gap.
  const gaps: Gaps = status.some((s) => s.error)
    ? { refusals: [], incomplete: Object.values(SECTIONS).map((s) => s.resourceType) }
    : NO_GAPS;
  return (
    <div>
      <div className="row-between who">
        <p>
          Signed in with your key <code title={key.address}>{short(key.address)}</code>
        </p>
        <button type="button" className="link" onClick={() => setKey(null)}>
          Lock
        </button>
      </div>
      {status.length > 0 ? (
        <PatientHeader
          patient={me}
          address={key.address}
          missing="No member holds your name (no Patient record of you yet)"
        />
      ) : null}
      <details className="small">
        <summary>Your public keys (to give to a new provider)</summary>
        <p>
          Chain address: <code>{key.address}</code>
        </p>
        <p>
          Encryption key: <code>{key.encryptionPublicKey}</code>
        </p>
      </details>
      <div className="tabs" role="tablist" aria-label="Patient">
        {(
          [
            ['records', 'My records'],
            ['claims', 'My claims'],
            ['consent', 'Consent'],
            ['access', 'Who accessed my records'],
          ] as const
        ).map(([t, label]) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            className={tab === t ? 'active' : ''}
            onClick={() => setTab(t)}
          >
            {label}
          </button>
        ))}
      </div>
      <ErrorNote error={error} onRetry={() => void load()} />
      {tab === 'records' ? (
        <>
          <div className="row-between">
            {loading ? <Busy>{loading}</Busy> : <span />}
            <span>
              <button
                type="button"
                className="secondary"
                onClick={() => void downloadSummary()}
                disabled={loading !== null}
              >
                Download my summary (IPS)
              </button>{' '}
              <button
                type="button"
                className="secondary"
                onClick={() => void load()}
                disabled={loading !== null}
              >
                Refresh
              </button>
            </span>
          </div>
          <ul className="members-status" aria-label="Records per member">
            {status.map((s) => (
              <li key={s.member.address} className={s.error ? 'bad' : 'good'}>
                {s.error ? (
                  (s.error as Error).message
                ) : (
                  <>
                    <strong>{s.member.name}</strong>: {s.count} records
                  </>
                )}
              </li>
            ))}
          </ul>
          {status.some((s) => s.error) ? (
            <Note tone="warn">
              Some members did not answer; their records are missing below. Try again later.
            </Note>
          ) : null}
          {!loading ? <Timeline data={timeline} gaps={gaps} /> : null}
        </>
      ) : null}
      {tab === 'claims' && members ? (
        loading ? (
          <Busy>{loading}</Busy>
        ) : (
          <Suspense fallback={<Busy>Loading your claims…</Busy>}>
            <PatientClaims chain={chain} members={members} records={records} keyPair={key} />
          </Suspense>
        )
      ) : null}
      {tab === 'consent' && members && sessions ? (
        <ConsentPanel chain={chain} members={members} keyPair={key} request={request} />
      ) : null}
      {tab === 'access' && members && sessions ? (
        <AccessPanel chain={chain} members={members} sessions={sessions} />
      ) : null}
    </div>
  );
}
