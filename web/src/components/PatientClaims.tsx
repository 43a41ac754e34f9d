/**
 * The patient's claims: every claim billed in their name (their ExplanationOfBenefit records at
 * the insurer), each with its state on chain, whether the chain vouches for the visit (the
 * evidence-of-service finding), and a Dispute action ("I was not seen that day") that signs the
 * EIP-712 Dispute here with the patient's key; this member relays it; the view then waits for the
 * chain to say Disputed.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ClaimState } from '../../../src/chain/claimStates.js';
import type { Chain, Member } from '../lib/chain.js';
import { chainError } from '../lib/chain.js';
import {
  claimRecord,
  disputable,
  dollars,
  type PatientClaim,
  patientClaimsOf,
  relayDispute,
  STATE_TEXT,
  signedDispute,
} from '../lib/claims.js';
import type { UnlockedKey } from '../lib/keyVault.js';
import type { HeldRecord } from '../lib/records.js';
import { Busy, ErrorNote, Note, short } from './common.js';

/** How long a dispute signature stays good (seconds past the chain's clock). */
const SIGNATURE_LIFETIME_S = 15 * 60;
/** How long the view waits for the relayed dispute to be mined before it says it is still pending. */
const MINED_WITHIN_MS = 180_000;

type DisputeStep = { kind: 'signing' } | { kind: 'pending'; key: string } | { kind: 'stuck'; key: string };

const EVIDENCE: Record<PatientClaim['evidence'], { text: string; tag: string; about: string }> = {
  vouched: {
    text: 'Visit on record',
    tag: 'tag-ok',
    about: 'The provider’s log, anchored on chain before the claim, records the visit this claim bills for.',
  },
  'no-evidence': {
    text: 'No evidence of this visit',
    tag: 'tag-failed',
    about: 'The insurer found no record of this visit in the provider’s anchored log, and held the claim.',
  },
  'not-checked': {
    text: 'Not checked',
    tag: 'tag-pending',
    about: 'The claim was refused before it was checked (coverage), so the visit was not looked up.',
  },
};

export function PatientClaims({
  chain,
  members,
  records,
  keyPair,
}: {
  chain: Chain;
  members: readonly Member[];
  records: readonly HeldRecord[];
  keyPair: UnlockedKey;
}) {
  const claims = patientClaimsOf(records);
  const [states, setStates] = useState<Record<string, ClaimState | undefined>>({});
  const [steps, setSteps] = useState<Record<string, DisputeStep | undefined>>({});
  const [error, setError] = useState<unknown>(null);
  const nameOf = (a: string | undefined) =>
    members.find((m) => a && m.address.toLowerCase() === a.toLowerCase())?.name ?? (a ? short(a) : 'unknown');
  const ids = claims.flatMap((c) => (c.dispute ? [c.dispute.claimId] : [])).join(',');

  const readStates = useCallback(async () => {
    const got: Record<string, ClaimState | undefined> = {};
    for (const id of ids ? ids.split(',') : [])
      got[id] = (await claimRecord(chain, id as `0x${string}`))?.state;
    setStates(got);
  }, [chain, ids]);

  useEffect(() => {
    readStates().catch((err) => setError(chainError(err)));
  }, [readStates]);

  async function dispute(c: PatientClaim) {
    const facts = c.dispute;
    if (!facts) return;
    setError(null);
    setSteps((s) => ({ ...s, [facts.claimId]: { kind: 'signing' } }));
    try {
      const record = await claimRecord(chain, facts.claimId);
      if (!record) throw new Error('this claim is not on chain yet; try again in a minute');
      const deadline = BigInt((await chain.now()) + SIGNATURE_LIFETIME_S);
      const body = await signedDispute(keyPair.account, chain.config, facts, record.disputes, deadline);
      const { key } = await relayDispute(body);
      setSteps((s) => ({ ...s, [facts.claimId]: { kind: 'pending', key } }));
      const until = Date.now() + MINED_WITHIN_MS;
      for (;;) {
        const now = await claimRecord(chain, facts.claimId);
        if (now?.state === 'disputed') {
          setStates((s) => ({ ...s, [facts.claimId]: 'disputed' }));
          setSteps((s) => ({ ...s, [facts.claimId]: undefined }));
          return;
        }
        if (Date.now() > until) {
          setSteps((s) => ({ ...s, [facts.claimId]: { kind: 'stuck', key } }));
          return;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    } catch (err) {
      setSteps((s) => ({ ...s, [facts.claimId]: undefined }));
      setError(err);
    }
  }

  return (
    <section aria-labelledby="claims-title">
      <h2 id="claims-title">Claims billed in your name</h2>
      <p className="muted small">
        From your Explanation of Benefit at each insurer. “Visit on record” means the insurer found the
        provider’s record of that visit in the provider’s access log, proven against a log head anchored on
        chain before the claim was made; it does not say what was done during the visit. If you were not seen
        that day, dispute the claim: your browser signs the dispute with your key and the chain holds the
        claim until the insurer reviews it.
      </p>
      <ErrorNote error={error} onRetry={() => void readStates().catch((e) => setError(chainError(e)))} />
      {claims.length === 0 ? <p>No claims are billed in your name.</p> : null}
      <ul className="claims" aria-label="Your claims">
        {claims.map((c) => {
          const id = c.dispute?.claimId;
          const state = id ? states[id] : undefined;
          const step = id ? steps[id] : undefined;
          const ev = EVIDENCE[c.evidence];
          return (
            <li key={`${c.heldBy}/${c.id}`} className="card" data-testid="patient-claim" data-claim-id={id}>
              <div className="row-between">
                <h3>
                  {c.servicedDate ?? 'No date'} · {nameOf(c.provider)}
                </h3>
                <span className={`tag ${ev.tag}`} title={ev.about}>
                  {ev.text}
                </span>
              </div>
              <p className="small muted">{ev.about}</p>
              <p>
                Billed <strong>{dollars(c.billedCents)}</strong> · approved to pay{' '}
                <strong>{dollars(c.paidCents)}</strong> · status{' '}
                <strong data-testid="claim-state">
                  {state ? STATE_TEXT[state] : (c.disposition ?? c.outcome)}
                </strong>{' '}
                · insurer {c.heldBy}
              </p>
              <div className="scroll">
                <table>
                  <caption className="sr-only">Items of the claim of {c.servicedDate}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Service</th>
                      <th scope="col">Date</th>
                      <th scope="col">Billed</th>
                      <th scope="col">Approved</th>
                      <th scope="col">Decision</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.lines.map((l) => (
                      <tr key={l.sequence}>
                        <td>
                          <code>{l.code}</code>
                        </td>
                        <td>{l.servicedDate}</td>
                        <td className="num">{dollars(l.submittedCents)}</td>
                        <td className="num">{dollars(l.benefitCents)}</td>
                        <td>
                          {l.status}
                          {l.reasons.map((r) => (
                            <div key={r.carc} className="small">
                              CARC {r.carc}: {r.text}
                            </div>
                          ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {step?.kind === 'signing' ? <Busy>Signing and sending your dispute…</Busy> : null}
              {step?.kind === 'pending' ? (
                <Busy>Dispute sent; waiting for the chain to record it…</Busy>
              ) : null}
              {step?.kind === 'stuck' ? (
                <Note tone="warn">
                  Your dispute was sent (<code>{step.key}</code>) but is not on chain yet. Check again later.
                </Note>
              ) : null}
              {state === 'disputed' ? (
                <Note tone="ok">Disputed: payment is held until the insurer reviews the claim.</Note>
              ) : null}
              {c.dispute && disputable(state) && !step ? (
                <button type="button" className="secondary" onClick={() => void dispute(c)}>
                  Dispute: I was not seen that day
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
