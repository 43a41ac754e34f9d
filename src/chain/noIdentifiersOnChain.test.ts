import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Abi, AbiParameter } from 'viem';
import { auditAnchorAbi, claimsAbi, consentAbi, drugLedgerAbi } from './generated/index.js';

/**
 * "No identifier on chain" as a structural invariant: nothing a patient-facing contract accepts or
 * emits can carry free text or arbitrary bytes. Patients appear only as addresses; everything else
 * is a number, a bit mask, a hash or a time. (Registry strings are organization names and node
 * URLs, which are public by design.) Adding a `string` or `bytes` field to Consent, AuditAnchor,
 * DrugLedger or Claims makes this test fail. DrugLedger names units and lots only by keyed
 * commitments (bytes32) and products by GTIN (a public product code, not a person's identifier).
 * Claims is held to more: the patient, procedure codes, modifiers, diagnoses and dates of service
 * appear there only as 32-byte commitments (keyed or salted), never as an address, number or text,
 * so any field named after them must be a bytes32.
 */
const ALLOWED = /^(address|bool|bytes32|uint\d+|tuple)$/;
/** The only dynamic-bytes inputs allowed: the patient's ECDSA signature over EIP-712 data. */
const ALLOWED_BYTES_INPUTS = new Set([
  'grantWithSig.signature',
  'revokeWithSig.signature',
  'dispute.signature',
]);
/**
 * Inherited from OpenZeppelin EIP712 (ERC-5267): the constant domain name/version of the contract
 * itself, fixed at deployment, never patient data.
 */
const EIP712_METADATA = new Set([
  'StringTooLong.str',
  'eip712Domain().fields',
  'eip712Domain().name',
  'eip712Domain().version',
]);

function offending(abi: Abi): string[] {
  const bad: string[] = [];
  const walk = (where: string, params: readonly AbiParameter[]) => {
    for (const p of params) {
      const name = `${where}.${p.name ?? '?'}`;
      const base = p.type.replace(/\[\d*\]$/, '');
      if ('components' in p && p.components) walk(name, p.components);
      if (!ALLOWED.test(base) && !ALLOWED_BYTES_INPUTS.has(name) && !EIP712_METADATA.has(name))
        bad.push(`${name}: ${p.type}`);
    }
  };
  for (const item of abi) {
    if (item.type === 'function' || item.type === 'event' || item.type === 'error') {
      walk(item.name, item.inputs);
    }
    if (item.type === 'function') walk(`${item.name}()`, item.outputs);
  }
  return bad;
}

/** Fields of Claims named after clinical or identifying data that are not bytes32 commitments. */
const IDENTIFYING_NAME =
  /patient|code|modifier|diagnos|servicedDate|serviceDate|dateOfService|encounter|npi|birth/i;
function clearClinical(abi: Abi): string[] {
  const bad: string[] = [];
  const walk = (where: string, params: readonly AbiParameter[]) => {
    for (const p of params) {
      const name = `${where}.${p.name ?? '?'}`;
      if ('components' in p && p.components) walk(name, p.components);
      else if (IDENTIFYING_NAME.test(p.name ?? '') && p.type.replace(/\[\d*\]$/, '') !== 'bytes32')
        bad.push(`${name}: ${p.type}`);
    }
  };
  for (const item of abi) {
    if (item.type === 'function' || item.type === 'event' || item.type === 'error')
      walk(item.name, item.inputs);
    if (item.type === 'function') walk(`${item.name}()`, item.outputs);
  }
  return bad;
}

describe('no identifier on chain', () => {
  test('Claims accepts, stores and emits only addresses of members, numbers, masks and hashes', () => {
    assert.deepEqual(offending(claimsAbi), []);
  });
  test('Claims carries the patient, codes and dates of service only as bytes32 commitments', () => {
    assert.deepEqual(clearClinical(claimsAbi), []);
    const names = JSON.stringify(claimsAbi);
    assert.match(names, /"patientCommitment"/);
    assert.match(names, /"linesHash"/);
  });
  test('the Claims check itself catches a patient address or a code in the clear', () => {
    const tampered = [
      ...claimsAbi,
      {
        type: 'event',
        name: 'Leak',
        inputs: [
          { name: 'patient', type: 'address', indexed: false },
          { name: 'procedureCode', type: 'uint32', indexed: false },
          { name: 'servicedDate', type: 'uint64', indexed: false },
        ],
        anonymous: false,
      },
    ] as Abi;
    assert.deepEqual(clearClinical(tampered), [
      'Leak.patient: address',
      'Leak.procedureCode: uint32',
      'Leak.servicedDate: uint64',
    ]);
  });
  test('Consent accepts, stores and emits only addresses, numbers, masks and hashes', () => {
    assert.deepEqual(offending(consentAbi), []);
  });
  test('AuditAnchor accepts, stores and emits only addresses, numbers and hashes', () => {
    assert.deepEqual(offending(auditAnchorAbi), []);
  });
  test('DrugLedger accepts, stores and emits no serial or lot in the clear: only commitments, GTINs and addresses', () => {
    assert.deepEqual(offending(drugLedgerAbi), []);
    // Every place a unit or a lot appears is a 32-byte commitment.
    const params = drugLedgerAbi.flatMap((item) =>
      'inputs' in item ? [...item.inputs, ...('outputs' in item ? item.outputs : [])] : [],
    ) as AbiParameter[];
    const flat = params.flatMap((p) => ('components' in p && p.components ? [p, ...p.components] : [p]));
    const named = flat.filter((p) => /^(unit|lot|id)$/.test(p.name ?? ''));
    assert.ok(named.length > 0);
    for (const p of named) assert.equal(p.type, 'bytes32', `${p.name} must be a commitment`);
  });
  test('the check itself catches a free-text field', () => {
    const tampered = [
      ...consentAbi,
      {
        type: 'event',
        name: 'Leak',
        inputs: [{ name: 'patientName', type: 'string', indexed: false }],
        anonymous: false,
      },
    ] as Abi;
    assert.deepEqual(offending(tampered), ['Leak.patientName: string']);
  });
});
