/**
 * Pharmacy and distribution: a pharmacist scans or pastes a pack (GS1 element string or Digital
 * Link, read in the browser with the node's own parser), verifies it at the GTIN's manufacturer
 * through this member's node, dispenses it (to a named patient, stored as their
 * MedicationDispense) only when the answer says saleable, quarantines a suspect pack, and takes
 * back a saleable return; pharmacists and administrators receive inbound shipments and see the
 * supply alerts with their deadlines; administrators ship on (or hand custody back for a return).
 */
import { type FormEvent, useState } from 'react';
import { Busy, ErrorNote, moment, Note } from '../components/common.js';
import { InboundShipments } from '../components/InboundShipments.js';
import { RecalledLots } from '../components/RecalledLots.js';
import { ShipPanel } from '../components/ShipPanel.js';
import { StaffGate } from '../components/StaffGate.js';
import { SupplyAlerts } from '../components/SupplyAlerts.js';
import { field, Problem, useAction, useMemberNames } from '../components/supplyForms.js';
import type { Chain, PortalConfig } from '../lib/chain.js';
import {
  dispensePack,
  incidentStep,
  type Pack,
  referenceError,
  returnPack,
  type SupplyCaller,
  type Verification,
  verdictOf,
  verifyPack,
} from '../lib/supply.js';
import { gs1DateText, readScan, type ScanReading } from '../lib/supplyScan.js';

export function PharmacyView({ config, chain }: { config: PortalConfig; chain: Chain | null }) {
  const here = config.member.name;
  const names = useMemberNames(chain);
  return (
    <StaffGate
      title={`Pharmacy and distribution sign-in at ${here}`}
      roles={['pharmacist', 'admin']}
      purpose="this view is for pharmacists and administrators"
      signInAs="Sign in as a pharmacist or administrator"
      who={(s) => (
        <>
          {s.role === 'admin' ? 'Administrator' : 'Pharmacist'} at <strong>{here}</strong> ({s.username})
        </>
      )}
    >
      {({ session, onExpired }) => {
        const caller: SupplyCaller = { token: session.token, who: here };
        return (
          <>
            {session.role === 'pharmacist' ? <ScanPanel caller={caller} onExpired={onExpired} /> : null}
            <InboundShipments caller={caller} names={names} onExpired={onExpired} />
            {session.role === 'admin' ? (
              <ShipPanel
                caller={caller}
                chain={chain}
                self={config.member.address}
                title="Ship on, or return to a supplier"
                hint={
                  <>
                    Ship received stock on to a pharmacy, or hand unsold packs back to the distributor you had
                    them from: a saleable return is accepted there only after custody is back with them on
                    chain, and their pharmacist then verifies it (<em>Receive as a saleable return</em>).
                  </>
                }
                onExpired={onExpired}
              />
            ) : (
              <p className="muted small">
                Shipping on, or handing packs back to your distributor for a return, is for this member’s
                administrators (sign in as one here).
              </p>
            )}
            <RecalledLots caller={caller} onExpired={onExpired} />
            <SupplyAlerts caller={caller} names={names} onExpired={onExpired} />
          </>
        );
      }}
    </StaffGate>
  );
}

type Step =
  | { kind: 'idle' }
  | { kind: 'verified'; pack: ScanReading & { ok: true }; answer: Verification }
  | { kind: 'dispensed'; txHash: string | null; record?: string; patient?: string }
  | { kind: 'returned'; id: string }
  | { kind: 'quarantined'; serials: string[]; txHash: string | null };

function ScanPanel({ caller, onExpired }: { caller: SupplyCaller; onExpired: (e: unknown) => void }) {
  const [text, setText] = useState('');
  const [reading, setReading] = useState<ScanReading | null>(null);
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const { busy, error, setError, run } = useAction(onExpired);

  const read = (t: string) => {
    setText(t);
    setReading(t.trim() ? readScan(t) : null);
    setStep({ kind: 'idle' });
    setError(null);
  };

  async function verify(e?: FormEvent) {
    e?.preventDefault();
    const r = readScan(text);
    setReading(r);
    if (!r.ok) return; // nothing is sent for a code that does not read
    const { lot, serial } = r.id as Pack;
    setStep({ kind: 'idle' });
    await run('Verifying with the manufacturer…', async () => {
      const answer = await verifyPack(caller, { ...r.id, lot, serial });
      setStep({ kind: 'verified', pack: r, answer });
    });
  }

  const full = (r: ScanReading | null): Pack | null =>
    r?.ok && r.id.expiry !== undefined ? (r.id as Pack) : null;

  async function dispense(to: { patient?: string; medicationRequest?: string }) {
    const p = full(reading);
    if (!p) return;
    await run('Dispensing: recording it on chain…', async () => {
      const r = await dispensePack(caller, p, to);
      setStep({
        kind: 'dispensed',
        txHash: r.txHash,
        ...(r.medicationDispense ? { record: r.medicationDispense } : {}),
        ...(to.patient ? { patient: to.patient } : {}),
      });
    });
  }

  async function takeBack() {
    const p = full(reading);
    if (!p) return;
    await run('Verifying the return…', async () => {
      const r = await returnPack(caller, p);
      setStep({ kind: 'returned', id: r.id });
    });
  }

  async function quarantine(reason: string) {
    const p = full(reading);
    if (!p) return;
    await run('Quarantining: marking the pack suspect on chain…', async () => {
      const r = await incidentStep(caller, 'quarantine', { gtin: p.gtin, serial: p.serial, reason });
      setStep({ kind: 'quarantined', serials: r.serials, txHash: r.txHash });
    });
  }

  return (
    <section className="card wide" aria-labelledby="scan-title">
      <h2 id="scan-title">Verify a pack</h2>
      <form onSubmit={(e) => void verify(e)}>
        <label>
          Code on the pack
          <input
            name="scan"
            value={text}
            onChange={(e) => read(e.currentTarget.value)}
            autoComplete="off"
            spellCheck={false}
            aria-describedby="scan-hint"
            aria-invalid={reading !== null && !reading.ok}
            aria-errormessage={reading && !reading.ok ? 'scan-error' : undefined}
          />
        </label>
        <p id="scan-hint" className="muted small">
          Scan the 2D code, or paste a GS1 element string (<code>01…17…10…&lt;GS&gt;21…</code>; type the
          separator as <code>&lt;GS&gt;</code> or <code>\x1d</code>) or a GS1 Digital Link (
          <code>https://…/01/…/10/…/21/…</code>).
        </p>
        {reading && !reading.ok ? (
          <div id="scan-error" className="note note-error" role="alert">
            <strong>{reading.message}</strong> Nothing was sent; check the code and scan again.
          </div>
        ) : null}
        {reading?.ok ? <PackFacts reading={reading} /> : null}
        <button type="submit" disabled={busy !== null || !reading?.ok}>
          Verify
        </button>
      </form>
      <ErrorNote error={error} />
      <div aria-live="polite">
        {busy ? <Busy>{busy}</Busy> : null}
        {step.kind === 'verified' ? (
          <VerdictBox
            answer={step.answer}
            canAct={full(step.pack) !== null}
            busy={busy !== null}
            onDispense={(to) => void dispense(to)}
            onReturn={() => void takeBack()}
            onQuarantine={(reason) => void quarantine(reason)}
          />
        ) : null}
        {step.kind === 'dispensed' ? (
          <Note tone="ok">
            <strong>Dispensed.</strong> The pack is recorded on chain as dispensed
            {step.txHash ? (
              <>
                {' '}
                (transaction <code>{step.txHash}</code>)
              </>
            ) : null}
            ; it cannot be dispensed again.
            {step.record ? (
              <>
                {' '}
                Stored as <code>{step.record}</code> for <code>{step.patient}</code>, with the verification:
                the patient sees it was verified authentic.
              </>
            ) : null}
          </Note>
        ) : null}
        {step.kind === 'returned' ? (
          <Note tone="ok">
            <strong>Return accepted.</strong> The pack verified as saleable and is back in saleable stock here
            (return <code>{step.id}</code>).
          </Note>
        ) : null}
        {step.kind === 'quarantined' ? (
          <Note tone="ok">
            <strong>Quarantined.</strong> Serial {step.serials.join(', ')} is marked Suspect on chain
            {step.txHash ? (
              <>
                {' '}
                (transaction <code>{step.txHash}</code>)
              </>
            ) : null}
            : it verifies as Suspect and cannot be dispensed until its manufacturer clears it. Keep it apart.
          </Note>
        ) : null}
      </div>
    </section>
  );
}

function PackFacts({ reading }: { reading: ScanReading & { ok: true } }) {
  const { id, form } = reading;
  return (
    <dl className="facts" data-testid="pack-facts" aria-label="What the code says">
      <dt>GTIN</dt>
      <dd>
        <code>{id.gtin}</code>
      </dd>
      <dt>Lot</dt>
      <dd>
        <code>{id.lot}</code>
      </dd>
      <dt>Serial</dt>
      <dd>
        <code>{id.serial}</code>
      </dd>
      <dt>Expiry</dt>
      <dd>{id.expiry ? `${gs1DateText(id.expiry)} (${id.expiry})` : 'not in the code'}</dd>
      <dt>Read as</dt>
      <dd>{form === 'digital-link' ? 'GS1 Digital Link' : 'GS1 element string'}</dd>
    </dl>
  );
}

function VerdictBox({
  answer,
  canAct,
  busy,
  onDispense,
  onReturn,
  onQuarantine,
}: {
  answer: Verification;
  canAct: boolean;
  busy: boolean;
  onDispense: (to: { patient?: string; medicationRequest?: string }) => void;
  onReturn: () => void;
  onQuarantine: (reason: string) => void;
}) {
  const v = verdictOf(answer);
  const [problem, setProblem] = useState<string | null>(null);
  const suspect = answer.data.additionalInfo === 'Suspect' || answer.data.additionalInfo === 'Illegitimate';

  function dispense(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const patient = field(e.currentTarget, 'patient');
    const medicationRequest = field(e.currentTarget, 'medicationRequest');
    const wrong =
      referenceError(patient, 'Patient') ??
      referenceError(medicationRequest, 'MedicationRequest') ??
      (medicationRequest && !patient ? 'Name the patient of the prescription' : undefined);
    setProblem(wrong ?? null);
    if (wrong) return;
    onDispense({ ...(patient ? { patient } : {}), ...(medicationRequest ? { medicationRequest } : {}) });
  }

  function quarantine(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const reason = field(e.currentTarget, 'reason');
    setProblem(reason ? null : 'Say why the pack is suspect');
    if (reason) onQuarantine(reason);
  }

  return (
    <div
      className={`verdict verdict-${v.tone}`}
      data-testid="verdict"
      data-verified={String(answer.data.verified)}
      data-saleable={String(answer.saleable)}
    >
      <p className="verdict-headline" role={v.tone === 'bad' ? 'alert' : 'status'}>
        <span aria-hidden="true">{v.tone === 'ok' ? '✔ ' : '✖ '}</span>
        {v.headline}
      </p>
      <dl className="facts">
        <dt>Verified</dt>
        <dd data-testid="verified">{answer.data.verified ? 'yes' : 'no'}</dd>
        {v.reason ? (
          <>
            <dt>GS1 reason</dt>
            <dd data-testid="reason">
              <code>{v.reason.code}</code>: {v.reason.words}
            </dd>
          </>
        ) : null}
        {v.info ? (
          <>
            <dt>Additional information</dt>
            <dd data-testid="additional-info">
              <span className="tag tag-failed">{v.info}</span>
            </dd>
          </>
        ) : null}
        {v.findings.length > 0 ? (
          <>
            <dt>Found</dt>
            <dd>{v.findings.join('; ')}</dd>
          </>
        ) : null}
        <dt>Answered by</dt>
        <dd>
          {answer.responder.name} (GLN {answer.responderGLN}),{' '}
          {moment(Date.parse(answer.verificationTimestamp))}
        </dd>
      </dl>
      {!canAct ? (
        <p className="muted">
          The code has no expiry: scan the pack’s 2D code to dispense, return or quarantine it.
        </p>
      ) : answer.saleable ? (
        <>
          <form onSubmit={dispense} className="inline-form" aria-label="Dispense">
            <label>
              Patient (optional)
              <input name="patient" autoComplete="off" placeholder="Patient/{id}" maxLength={80} />
            </label>
            <label>
              Prescription (optional)
              <input
                name="medicationRequest"
                autoComplete="off"
                placeholder="MedicationRequest/{id}"
                maxLength={90}
              />
            </label>
            <button type="submit" disabled={busy}>
              Dispense
            </button>
          </form>
          <p className="muted small">
            Naming the patient stores the dispense as their MedicationDispense with this verification: they
            see in their records that the medicine was verified authentic.
          </p>
          <p className="small">
            A pack another member sent back to you (they shipped it back, so custody is yours again on chain)?{' '}
            <button type="button" className="secondary" onClick={onReturn} disabled={busy}>
              Receive as a saleable return
            </button>{' '}
            It is verified again and goes back into saleable stock only if it still verifies as saleable.
          </p>
        </>
      ) : (
        <p>
          <strong>Dispensing is not offered.</strong> Set the pack aside and do not give it to a patient.
        </p>
      )}
      {canAct && !suspect && answer.data.verified ? (
        <form onSubmit={quarantine} className="inline-form" aria-label="Quarantine">
          <label>
            Why is it suspect?
            <input name="reason" autoComplete="off" maxLength={500} placeholder="e.g. damaged seal" />
          </label>
          <button type="submit" className="danger" disabled={busy}>
            Quarantine this pack
          </button>
        </form>
      ) : null}
      <Problem text={problem} />
    </div>
  );
}
