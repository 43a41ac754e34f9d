/**
 * Test support for the claims rules: a claim builder, and a provider log holding the creation of
 * Encounters with real RFC 9162 inclusion proofs, so evidence is checked as it will be in service.
 */
import { type Address, getAddress } from 'viem';
import type { ClaimInput, ClaimLine, EncounterEvidence } from '../../src/claims/model.js';
import { encodeEntry, type LogEntry } from '../../src/log/entry.js';
import { leafHash, MerkleTree } from '../../src/log/merkle.js';

export const PATIENT: Address = getAddress('0x1111111111111111111111111111111111111111');
export const PROVIDER: Address = getAddress('0x2222222222222222222222222222222222222222');
export const PAYER: Address = getAddress('0x3333333333333333333333333333333333333333');
export const OTHER_PROVIDER: Address = getAddress('0x4444444444444444444444444444444444444444');
export const CLAIM_CREATED = Date.parse('2026-03-10T12:00:00Z');

/** A line with sensible defaults (Z1020, 1 unit at $100.00 on 2026-03-02, Encounter enc-1). */
export function line(sequence: number, over: Partial<ClaimLine> = {}): ClaimLine {
  const quantity = over.quantity ?? 1;
  const unitPrice = over.unitPrice ?? 10_000;
  return {
    sequence,
    code: 'Z1020',
    modifiers: [],
    quantity,
    unitPrice,
    net: unitPrice * quantity,
    servicedDate: '2026-03-02',
    diagnosisSequence: [1],
    encounters: ['enc-1'],
    ...over,
  };
}

export function claim(lines: ClaimLine[], over: Partial<ClaimInput> = {}): ClaimInput {
  return {
    id: 'claim-1',
    type: 'professional',
    patient: PATIENT,
    provider: PROVIDER,
    payer: PAYER,
    created: CLAIM_CREATED,
    total: lines.reduce((n, l) => n + l.net, 0),
    diagnoses: [{ sequence: 1, code: 'R51.9' }],
    lines,
    ...over,
  };
}

/** Entries of a provider log: filler reads, then the creation of each named Encounter. */
export function providerLog(
  encounters: readonly string[],
  opts: { member?: Address; patient?: Address; anchoredAt?: number } = {},
): { tree: MerkleTree; entries: Uint8Array[]; evidence: Map<string, EncounterEvidence> } {
  const tree = new MerkleTree();
  const entries: Uint8Array[] = [];
  const base: Omit<LogEntry, 'index' | 'action' | 'target'> = {
    time: CLAIM_CREATED - 86_400_000,
    member: opts.member ?? PROVIDER,
    actor: 'user-1',
    patient: opts.patient ?? PATIENT,
    purpose: 'treatment',
    outcome: 'permit',
    reason: 'ok',
    queryHash: null,
  };
  const push = (e: LogEntry) => {
    const bytes = encodeEntry(e);
    entries.push(bytes);
    tree.append(leafHash(bytes));
  };
  for (let i = 0; i < 3; i++) push({ ...base, index: entries.length, action: 'search', target: null });
  const at = new Map<string, number>();
  for (const id of encounters) {
    at.set(id, entries.length);
    push({
      ...base,
      index: entries.length,
      action: 'create',
      target: { resourceType: 'Encounter', id, version: 1, ciphertextHash: `0x${'ab'.repeat(32)}` },
    });
  }
  push({ ...base, index: entries.length, action: 'read', target: null });
  const head = {
    treeSize: tree.size,
    rootHash: tree.root(),
    anchoredAt: opts.anchoredAt ?? CLAIM_CREATED - 60_000,
  };
  const evidence = new Map<string, EncounterEvidence>();
  for (const [id, index] of at) {
    evidence.set(id, {
      encounterId: id,
      exists: true,
      entry: entries[index] as Uint8Array,
      proof: tree.inclusionProof(index),
      anchoredHead: head,
    });
  }
  return { tree, entries, evidence };
}

/** A valid FHIR R4 professional Claim for two lines (Z1001 and Z1003 with 59) at PROVIDER to PAYER. */
export function fhirClaim(): import('@medplum/fhirtypes').Claim {
  const proc = (code: string) => ({ coding: [{ system: 'urn:medchain:procedure', code }] });
  return {
    resourceType: 'Claim',
    id: 'claim-1',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { identifier: { system: 'urn:medchain:patient', value: PATIENT } },
    created: '2026-03-10T12:00:00Z',
    provider: { identifier: { system: 'urn:medchain:member', value: PROVIDER } },
    insurer: { identifier: { system: 'urn:medchain:member', value: PAYER } },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-1' } }],
    diagnosis: [
      {
        sequence: 1,
        diagnosisCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'R51.9' }],
        },
      },
    ],
    item: [
      {
        sequence: 1,
        productOrService: proc('Z1001'),
        servicedDate: '2026-03-02',
        quantity: { value: 1 },
        unitPrice: { value: 100, currency: 'USD' },
        net: { value: 100, currency: 'USD' },
        diagnosisSequence: [1],
        encounter: [{ reference: 'Encounter/enc-1' }],
      },
      {
        sequence: 2,
        productOrService: proc('Z1003'),
        modifier: [{ coding: [{ code: '59' }] }],
        servicedDate: '2026-03-02',
        quantity: { value: 2 },
        unitPrice: { value: 12.5, currency: 'USD' },
        net: { value: 25, currency: 'USD' },
        diagnosisSequence: [1],
        encounter: [{ reference: 'Encounter/enc-1' }],
      },
    ],
    total: { value: 125, currency: 'USD' },
  };
}
