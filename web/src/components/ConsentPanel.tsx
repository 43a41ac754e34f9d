/**
 * The patient's consent: what each member may see, for which purpose, until when; a form to grant
 * and a button to revoke. The EIP-712 message is signed here in the browser; a member relays it;
 * the list is re-read from the chain, so a change shows once it is on chain.
 */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import {
  type GrantRequest,
  type RevokeRequest,
  signGrant,
  signRevoke,
} from '../../../src/chain/consentSignatures.js';
import {
  CATEGORIES,
  categoriesToMask,
  PURPOSES,
  purposesToMask,
  SENSITIVE_CATEGORIES,
} from '../../../src/chain/scopes.js';
import { call } from '../lib/api.js';
import { type Chain, chainError, type GrantView, type Member } from '../lib/chain.js';
import type { ConsentRequest } from '../lib/consentRequest.js';
import type { UnlockedKey } from '../lib/keyVault.js';
import { Busy, day, ErrorNote, Note, short } from './common.js';

const LABELS: Record<string, string> = {
  general: 'General (visits, conditions, allergies, immunizations)',
  labs: 'Lab results',
  medications: 'Medications',
  imaging: 'Imaging',
  'mental-health': 'Mental health',
  'sexual-reproductive-health': 'Sexual and reproductive health',
  'substance-use': 'Substance use',
  genetics: 'Genetics',
};

const inAYear = () => new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);

export function ConsentPanel({
  chain,
  members,
  keyPair,
  request,
}: {
  chain: Chain;
  members: Member[];
  keyPair: UnlockedKey;
  /** A member's request (from a link it gave the patient): fills in the form, nothing more. */
  request?: ConsentRequest | undefined;
}) {
  const [grants, setGrants] = useState<GrantView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const active = members.filter((m) => m.active);
  const asker = request ? active.find((m) => m.address === request.grantee) : undefined;
  const [grantee, setGrantee] = useState(asker?.address ?? active[0]?.address ?? '');
  const [cats, setCats] = useState<string[]>(asker && request ? request.categories : ['labs']);
  const [purposes, setPurposes] = useState<string[]>(asker && request ? request.purposes : ['treatment']);
  const [until, setUntil] = useState(inAYear());
  // A grant replaces the member's current one: start from what it already has, so adding never takes away.
  const existing = grants?.find(
    (g) => g.member.address === grantee && (g.state === 'in force' || g.state === 'not yet valid'),
  );
  useEffect(() => {
    if (!existing) return;
    setCats((c) => [...new Set([...existing.categories, ...c])]);
    setPurposes((p) => [...new Set([...existing.purposes, ...p])]);
  }, [existing]);

  const load = useCallback(async () => {
    try {
      setGrants(await chain.grants(keyPair.address, members));
    } catch (err) {
      setError(chainError(err));
    }
  }, [chain, keyPair, members]);
  useEffect(() => {
    void load();
  }, [load]);

  const manifest = { chainId: chain.config.chainId, contracts: chain.config.contracts };

  /** Run one signed change: progress while it runs, then what happened or the error. */
  async function act(first: string, f: () => Promise<string>) {
    setError(null);
    setDone(null);
    setBusy(first);
    try {
      setDone(await f());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  const relay = async (body: unknown) =>
    call<{ txHash: string; blockNumber: number }>(window.location.origin, '/consent/relay', {
      method: 'POST',
      body,
      who: 'This member',
      timeoutMs: 60_000,
    });

  async function grant(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setDone(null);
    const member = active.find((m) => m.address === grantee);
    const untilMs = Date.parse(`${until}T00:00:00Z`);
    const now = BigInt(await chain.now().catch(() => Math.floor(Date.now() / 1000)));
    if (!member) return setError(new Error('Choose the member to share with.'));
    if (cats.length === 0) return setError(new Error('Choose at least one kind of record.'));
    if (purposes.length === 0) return setError(new Error('Choose at least one purpose.'));
    // (An unparsable date is NaN; BigInt(NaN) would throw.)
    const expiry = Number.isNaN(untilMs) ? 0n : BigInt(Math.floor(untilMs / 1000));
    if (expiry <= now) return setError(new Error('The end date must be in the future.'));
    await act('Signing the consent in this browser…', async () => {
      const request: GrantRequest = {
        patient: keyPair.address,
        grantee: member.address,
        // Read now, from the Registry itself: the grant names the member's current admission.
        granteeAdmission: await chain.admissionOf(member.address),
        categories: categoriesToMask(cats),
        purposes: purposesToMask(purposes),
        validFrom: now - 60n,
        expiry,
        nonce: await chain.nonce(keyPair.address),
        deadline: now + 3600n,
      };
      const signature = await signGrant(keyPair.account, manifest, request);
      setBusy('Sending the signed consent to the chain…');
      const r = await relay({ kind: 'grant', request, signature });
      setBusy('Reading it back from the chain…');
      await load();
      return `${member.name} may now see ${cats.join(', ')} for ${purposes.join(', ')} until ${until}. On chain in block ${r.blockNumber} (transaction ${short(r.txHash)}).`;
    });
  }

  async function revoke(member: Member) {
    await act(`Signing the withdrawal of ${member.name}'s access…`, async () => {
      const now = BigInt(await chain.now());
      const request: RevokeRequest = {
        patient: keyPair.address,
        grantee: member.address,
        nonce: await chain.nonce(keyPair.address),
        deadline: now + 3600n,
      };
      const signature = await signRevoke(keyPair.account, manifest, request);
      setBusy('Sending the withdrawal to the chain…');
      const r = await relay({ kind: 'revoke', request, signature });
      await load();
      return `${member.name} can no longer see your records. On chain in block ${r.blockNumber} (transaction ${short(r.txHash)}).`;
    });
  }

  const toggle = (list: string[], set: (v: string[]) => void, v: string) =>
    set(list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

  return (
    <div className="consent">
      <section className="card wide" aria-labelledby="consent-now">
        <h3 id="consent-now">Who can see what (read from the chain)</h3>
        {grants === null ? (
          <Busy>Reading your consent from the chain…</Busy>
        ) : grants.length === 0 ? (
          <p className="muted">
            You have not shared records with any member. Each member sees only what it holds itself.
          </p>
        ) : (
          <div className="scroll">
            <table className="grants">
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Records</th>
                  <th scope="col">Purpose</th>
                  <th scope="col">From</th>
                  <th scope="col">Until</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span className="sr-only">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {grants.map((g) => (
                  <tr key={g.member.address} data-member={g.member.name}>
                    <td>{g.member.name}</td>
                    <td>{g.categories.join(', ')}</td>
                    <td>{g.purposes.join(', ')}</td>
                    <td>{day(g.validFrom * 1000)}</td>
                    <td>{day(g.expiry * 1000)}</td>
                    <td>
                      <span className={`tag state-${g.state.replace(/ /g, '-')}`}>{g.state}</span>
                    </td>
                    <td>
                      <button
                        type="button"
                        className="danger"
                        disabled={busy !== null}
                        onClick={() => revoke(g.member)}
                      >
                        Revoke {g.member.name}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <form className="card wide grant-form" onSubmit={grant} aria-labelledby="grant-title">
        <h3 id="grant-title">Share records with a member</h3>
        {asker && request ? (
          <Note>
            {asker.name} asks you to share {request.categories.join(', ')} for {request.purposes.join(', ')}.
            The form below is filled in with that; change anything you like. Nothing is shared until you sign.
          </Note>
        ) : null}
        <label htmlFor="grantee">Member</label>
        <select id="grantee" value={grantee} onChange={(e) => setGrantee(e.target.value)} name="grantee">
          {active.map((m) => (
            <option key={m.address} value={m.address}>
              {m.name} ({m.roles.join(', ').toLowerCase()})
            </option>
          ))}
        </select>
        {existing ? (
          <Note>
            {existing.member.name} already has {existing.categories.join(', ')} for{' '}
            {existing.purposes.join(', ')} until {day(existing.expiry * 1000)}. Signing replaces that grant:
            what is ticked below is what {existing.member.name} will have.
          </Note>
        ) : null}
        <fieldset>
          <legend>Records</legend>
          {CATEGORIES.map((c) => (
            <label key={c} className="check">
              <input
                type="checkbox"
                name="category"
                value={c}
                checked={cats.includes(c)}
                onChange={() => toggle(cats, setCats, c)}
              />
              {LABELS[c] ?? c}
              {SENSITIVE_CATEGORIES.includes(c) ? (
                <span className="tag tag-sensitive">sensitive: shared only when ticked</span>
              ) : null}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Purpose</legend>
          {PURPOSES.map((p) => (
            <label key={p} className="check">
              <input
                type="checkbox"
                name="purpose"
                value={p}
                checked={purposes.includes(p)}
                onChange={() => toggle(purposes, setPurposes, p)}
              />
              {p}
            </label>
          ))}
        </fieldset>
        <label>
          Until (not including)
          <input type="date" name="until" value={until} required onChange={(e) => setUntil(e.target.value)} />
        </label>
        <p className="muted small">
          Your browser signs this consent with your key (EIP-712); {window.location.host} sends it to the
          chain. You can withdraw it at any time.
        </p>
        <button type="submit" disabled={busy !== null}>
          Sign and share
        </button>
      </form>
      {busy ? <Busy>{busy}</Busy> : null}
      {done ? <Note tone="ok">{done}</Note> : null}
      <ErrorNote error={error} />
    </div>
  );
}
