/**
 * Test support for the X12 835 remittance: the run's payer and payee, and a helper that
 * adjudicates claims with the real rule engine so runs hold real adjudications.
 */
import { adjudicate } from '../../src/claims/adjudicate.js';
import type { EditTables } from '../../src/claims/editTables.js';
import type { Adjudication, AdjudicationContext, ClaimInput } from '../../src/claims/model.js';
import type {
  PaymentRun,
  RemittanceClaim,
  RemittancePayee,
  RemittancePayer,
} from '../../src/claims/x12/remittance835.js';
import { PAYER, PROVIDER, providerLog } from './claims.js';

export const RUN_PAYER: RemittancePayer = {
  chainAddress: PAYER,
  name: 'ACME HEALTH INSURANCE',
  interchangeId: 'ACMEHEALTH',
  companyId: '1999999999',
  address: { line: '1 MAIN ST', city: 'SPRINGFIELD', state: 'IL', postalCode: '62701' },
  contact: { qualifier: 'EM', value: 'edi@acme.example' },
};

export const RUN_PAYEE: RemittancePayee = {
  chainAddress: PROVIDER,
  name: 'GENERAL HOSPITAL',
  interchangeId: 'GENHOSP',
  id: { qualifier: 'FI', value: '999999999' },
  address: { line: '2 ELM ST', city: 'SPRINGFIELD', state: 'IL', postalCode: '62702' },
};

/** The default context: coverage in force, no history, evidence for enc-1 and enc-2. */
export function adjudicationContext(over: Partial<AdjudicationContext> = {}): AdjudicationContext {
  return {
    coverage: { status: 'active', start: '2026-01-01', end: '2026-12-31', payer: PAYER },
    history: [],
    evidence: providerLog(['enc-1', 'enc-2']).evidence,
    crossPayerDuplicates: new Set(),
    ...over,
  };
}

/** Adjudicate `claim` and wrap it for a run; throws if coverage rejected it. */
export function adjudicated(
  claim: ClaimInput,
  tables: EditTables,
  ctx: AdjudicationContext = adjudicationContext(),
  over: Partial<RemittanceClaim> = {},
): RemittanceClaim {
  const d = adjudicate(claim, ctx, tables);
  if (d.kind !== 'adjudicated') throw new Error(`claim ${claim.id} was rejected: ${d.text}`);
  return { claim, adjudication: d as Adjudication, payerClaimId: `ACME-${claim.id}`, ...over };
}

/** A run for `claims` with fixed envelope values. */
export function paymentRun(claims: RemittanceClaim[], over: Partial<PaymentRun> = {}): PaymentRun {
  return {
    controlNumber: 42,
    producedAt: Date.parse('2026-04-01T10:30:00Z'),
    paymentDate: '2026-04-02',
    traceNumber: 'TRACE0001',
    payer: RUN_PAYER,
    payee: RUN_PAYEE,
    claims,
    ...over,
  };
}
