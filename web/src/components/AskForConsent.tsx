/** A clinician asks the patient for more: a portal link that fills in the patient's consent form. */
import { useState } from 'react';
import type { Address } from 'viem';
import { CATEGORIES, PURPOSES } from '../../../src/chain/scopes.js';
import { requestLink } from '../lib/consentRequest.js';

export function AskForConsent({
  member,
  granted,
  id,
}: {
  member: { address: Address; name: string };
  granted: string[];
  /** The element id, so a record section's "Ask the patient for consent" can open it. */
  id?: string;
}) {
  const [cats, setCats] = useState<string[]>(
    ['general', 'labs', 'medications'].filter((c) => !granted.includes(c)).slice(0, 2),
  );
  const [purpose, setPurpose] = useState<string>('treatment');
  const [copied, setCopied] = useState(false);
  const link =
    cats.length > 0
      ? requestLink(window.location.origin, {
          grantee: member.address,
          categories: cats,
          purposes: [purpose],
        })
      : '';
  const toggle = (c: string) => {
    setCopied(false);
    setCats(cats.includes(c) ? cats.filter((x) => x !== c) : [...cats, c]);
  };
  return (
    <details className="ask" id={id}>
      <summary>Ask the patient for more</summary>
      <p className="small muted">
        Give the patient this link (printed, by mail or as a QR code). It opens their portal with the request
        filled in; they review it and sign it with their own key.
      </p>
      <fieldset>
        <legend>Records to ask for</legend>
        {CATEGORIES.map((c) => (
          <label key={c} className="check">
            <input type="checkbox" checked={cats.includes(c)} onChange={() => toggle(c)} /> {c}
            {granted.includes(c) ? <span className="tag">already shared</span> : null}
          </label>
        ))}
      </fieldset>
      <label>
        Purpose
        <select
          value={purpose}
          onChange={(e) => {
            setCopied(false);
            setPurpose(e.target.value);
          }}
        >
          {PURPOSES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label>
        Link for the patient
        <input readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
      </label>
      <button
        type="button"
        className="secondary"
        disabled={!link}
        onClick={() =>
          navigator.clipboard?.writeText(link).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy link'}
      </button>
    </details>
  );
}
