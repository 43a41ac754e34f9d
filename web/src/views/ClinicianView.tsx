/**
 * The clinician: find a patient by name and birth date across members (patient discovery: only
 * chain addresses and the members that may hold records come back), or by chain address, see what the patient's consent (on chain) allows this member,
 * read records across members, and break the glass in an emergency (with a reason, logged and
 * reported to the patient).
 */
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { getAddress, isAddress } from 'viem';
import { AskForConsent } from '../components/AskForConsent.js';
import { Busy, day, ErrorNote, Note, short } from '../components/common.js';
import { PatientHeader } from '../components/PatientHeader.js';
import { SignedInBar, SignInScreen } from '../components/StaffGate.js';
import { Timeline } from '../components/Timeline.js';
import type { Chain, GrantView, Member, PortalConfig } from '../lib/chain.js';
import { chainError } from '../lib/chain.js';
import { formatFhirDate } from '../lib/dates.js';
import { arrangeRecords, type PatientSummary } from '../lib/records.js';
import { memberLines } from '../lib/refusals.js';
import {
  type FoundPatient,
  findPatients,
  localPatients,
  type PatientChoice,
  patientDetails,
  type ReadResult,
  readPatient,
  type StaffSession,
} from '../lib/staff.js';

const ASK_ID = 'ask-consent';

/** Open the "ask the patient for more" form and bring it into view. */
function openAskForConsent() {
  const d = document.getElementById(ASK_ID);
  if (!(d instanceof HTMLDetailsElement)) return;
  d.open = true;
  d.scrollIntoView({ block: 'center' });
  d.querySelector('summary')?.focus();
}

export function ClinicianView({ config, chain }: { config: PortalConfig; chain: Chain | null }) {
  const [session, setSession] = useState<StaffSession | null>(null);
  const [patients, setPatients] = useState<PatientChoice[] | null>(null);
  const [found, setFound] = useState<{ found: FoundPatient[]; notes: string[] } | null>(null);
  const [address, setAddress] = useState<string>('');
  const [members, setMembers] = useState<Member[]>([]);
  const [grant, setGrant] = useState<GrantView | null | undefined>(undefined);
  const [result, setResult] = useState<ReadResult | null>(null);
  /** The patient's details from this member's Patient record (undefined: it holds none; null: not read yet). */
  const [who, setWho] = useState<PatientSummary | undefined | null>(null);
  const [breakGlass, setBreakGlass] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const here = config.member.name;
  const names = useMemo(() => new Map(members.map((m) => [m.address.toLowerCase(), m.name])), [members]);

  useEffect(() => {
    chain?.members().then(setMembers, (e) => setError(chainError(e)));
  }, [chain]);

  if (!session)
    return (
      <SignInScreen
        title={`Clinician sign-in at ${here}`}
        error={error}
        onSignedIn={(s) => {
          setError(null);
          setSession(s);
        }}
      />
    );

  const guard = async (what: string, f: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(err);
      if ((err as { kind?: string }).kind === 'expired') setSession(null);
    } finally {
      setBusy(null);
    }
  };

  const open = (raw: string, reason?: string) =>
    guard(
      reason ? 'Breaking the glass: reading every member’s records…' : 'Reading records from the members…',
      async () => {
        if (!isAddress(raw)) throw new Error('A patient address is 0x followed by 40 hex digits.');
        const a = getAddress(raw);
        setAddress(a);
        setResult(null);
        setWho(null);
        setBreakGlass(reason ?? null);
        const me = members.find((m) => m.address === config.member.address);
        if (chain && me) setGrant((await chain.grants(a, [me]))[0] ?? null);
        const [read, details] = await Promise.all([
          readPatient(session, a, names, here, reason),
          // A role that may not read Patient records (or any failure here) leaves the header short.
          patientDetails(session, a).catch(() => undefined),
        ]);
        setWho(details);
        setResult(read);
      },
    );

  function byAddress(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    void open((e.currentTarget.elements.namedItem('address') as HTMLInputElement).value.trim());
  }

  function search(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = e.currentTarget.elements;
    const value = (name: string) => (f.namedItem(name) as HTMLInputElement | HTMLSelectElement).value.trim();
    const q = {
      family: value('family'),
      given: value('given'),
      birthDate: value('birthDate'),
      gender: value('gender'),
    };
    if (!q.family || !q.given || !/^\d{4}-\d{2}-\d{2}$/.test(q.birthDate))
      return setError(new Error('Give the family name, the given name and the full birth date.'));
    const s = session;
    if (!s) return;
    void guard('Searching every member for the patient…', async () => {
      setFound(null);
      setFound(await findPatients(s, q));
    });
  }

  function glass(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = e.currentTarget.elements;
    const reason = (f.namedItem('reason') as HTMLTextAreaElement).value.trim();
    if (reason.length < 10) return setError(new Error('Say why, in at least 10 characters.'));
    // The reason travels in an HTTP header, which carries Latin-1 only.
    if (!/^[\x20-\x7e\u00a0-\u00ff]*$/.test(reason))
      return setError(
        new Error(
          'Write the reason with plain letters and punctuation (no curly quotes, emoji or line breaks).',
        ),
      );
    if (!(f.namedItem('understood') as HTMLInputElement).checked)
      return setError(new Error('Confirm that you understand the access is logged and reported.'));
    void open(address, reason);
  }

  const canBreakGlass = session.role === 'emergency-clinician';
  return (
    <div>
      <SignedInBar onSignOut={() => setSession(null)}>
        Signed in at {here} as <strong>{session.username}</strong> ({session.role})
      </SignedInBar>
      <form className="card wide find" onSubmit={search} aria-labelledby="find-title">
        <h2 id="find-title">Find a patient</h2>
        <p className="muted small">
          Every member is asked whether it may hold records of this person; only the patient’s chain address
          comes back, and each search is logged at every member.
        </p>
        <label>
          Family name
          <input name="family" required autoComplete="off" spellCheck={false} />
        </label>
        <label>
          Given name
          <input name="given" required autoComplete="off" spellCheck={false} />
        </label>
        <label>
          Birth date
          <input name="birthDate" type="date" required />
        </label>
        <label>
          Gender (optional)
          <select name="gender" defaultValue="">
            <option value="">not given</option>
            <option value="female">female</option>
            <option value="male">male</option>
            <option value="other">other</option>
          </select>
        </label>
        <button type="submit" disabled={busy !== null}>
          Search
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() =>
            void guard(`Listing patients at ${here}…`, async () => setPatients(await localPatients(session)))
          }
        >
          Patients at {here}
        </button>
      </form>
      <details className="card wide">
        <summary>Open by chain address (advanced)</summary>
        <form className="find" onSubmit={byAddress} aria-label="Open by chain address">
          <label>
            Patient chain address
            <input
              name="address"
              defaultValue={address}
              placeholder="0x…"
              required
              spellCheck={false}
              autoComplete="off"
            />
          </label>
          <button type="submit" disabled={busy !== null}>
            Open
          </button>
        </form>
      </details>
      {found ? (
        <section className="card wide" aria-label="Matching patients">
          <h3>Matching patients</h3>
          {found.found.length === 0 ? (
            <p>
              No member holds records of a patient with these details. Check the spelling and the birth date.
            </p>
          ) : (
            <ul className="patients">
              {found.found.map((p) => (
                <li key={p.address}>
                  <button type="button" className="link" onClick={() => void open(p.address)}>
                    Open patient {short(p.address)}
                  </button>{' '}
                  <span className="muted">records may be held at {p.holders.join(', ') || 'a member'}</span>
                </li>
              ))}
            </ul>
          )}
          {found.notes.length > 0 ? (
            <ul className="muted small">
              {found.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          ) : null}
        </section>
      ) : null}
      {patients ? (
        <section className="card wide" aria-label={`Patients at ${here}`}>
          <ul className="patients">
            {patients.map((p) => (
              <li key={p.id}>
                <button
                  type="button"
                  className="link"
                  disabled={!p.address}
                  onClick={() => p.address && void open(p.address)}
                >
                  {p.name}
                </button>{' '}
                <span className="muted">
                  born {formatFhirDate(p.birthDate)} · {p.address ? short(p.address) : 'no chain address'}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {busy ? <Busy>{busy}</Busy> : null}
      <ErrorNote error={error} />
      {address && who !== null ? (
        <PatientHeader patient={who} address={address} missing={`A patient ${here} has no record of`} />
      ) : null}
      {address && grant !== undefined ? (
        <section className="card wide" aria-labelledby="consent-title">
          <h3 id="consent-title">Consent on chain for {here}</h3>
          {grant && grant.state === 'in force' ? (
            <p>
              The patient lets {here} see <strong>{grant.categories.join(', ')}</strong> for{' '}
              <strong>{grant.purposes.join(', ')}</strong> until {day(grant.expiry * 1000)}.
            </p>
          ) : grant?.state === 'member re-admitted' ? (
            <p>
              The patient’s consent for {here} was given before {here} was last admitted to the consortium, so
              it is not in force; ask the patient to grant it again.
            </p>
          ) : grant ? (
            <p>
              The patient’s consent for {here} is {grant.state}.
            </p>
          ) : (
            <p>
              The patient has not shared records held by other members with {here}; you see only what {here}{' '}
              holds.
            </p>
          )}
          <AskForConsent
            id={ASK_ID}
            member={config.member}
            granted={grant && grant.state === 'in force' ? grant.categories : []}
          />
        </section>
      ) : null}
      {breakGlass ? (
        <Note tone="warn">
          Break-glass access: every record read now is logged with your reason and shown to the patient as
          emergency access.
        </Note>
      ) : null}
      {result ? (
        <>
          {result.refusals.length > 0 || result.notes.length > 0 ? (
            <section className="card wide refusals" aria-label="Not shared with you" role="alert">
              <h3>Not shared with you</h3>
              <ul>
                {memberLines(result.refusals).map((l) => (
                  <li key={l.address || l.text}>{l.text}</li>
                ))}
                {result.notes.map((n) => (
                  <li key={n}>{n}</li>
                ))}
              </ul>
            </section>
          ) : null}
          <Timeline
            data={arrangeRecords(result.records)}
            gaps={result}
            onAskConsent={address && grant !== undefined ? openAskForConsent : undefined}
          />
          {canBreakGlass && !breakGlass ? (
            <form className="card wide glass" onSubmit={glass} aria-labelledby="glass-title">
              <h3 id="glass-title">Emergency access (break-glass)</h3>
              <p>
                Only in an emergency, when the patient cannot consent. Every member logs this read with your
                reason, and the patient sees it highlighted in their access list.
              </p>
              <label>
                Reason (at least 10 characters)
                <textarea name="reason" required minLength={10} maxLength={500} rows={2} />
              </label>
              <label className="check">
                <input type="checkbox" name="understood" /> I understand this access is logged and reported to
                the patient.
              </label>
              <button type="submit" className="danger" disabled={busy !== null}>
                Break the glass
              </button>
            </form>
          ) : null}
          {!canBreakGlass && result.refusals.length > 0 ? (
            <p className="muted small">Emergency access (break-glass) needs the emergency-clinician role.</p>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
