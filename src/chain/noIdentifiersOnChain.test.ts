import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Abi, AbiParameter } from 'viem';
import { auditAnchorAbi, consentAbi, drugLedgerAbi } from './generated/index.js';

/**
 * "No identifier on chain" as a structural invariant: nothing a patient-facing contract accepts or
 * emits can carry free text or arbitrary bytes. Patients appear only as addresses; everything else
 * is a number, a bit mask, a hash or a time. (Registry strings are organization names and node
 * URLs, which are public by design.) Adding a `string` or `bytes` field to Consent, AuditAnchor
 * or DrugLedger makes this test fail. DrugLedger names units and lots only by keyed commitments
 * (bytes32) and products by GTIN (a public product code, not a person's identifier).
 */
const ALLOWED = /^(address|bool|bytes32|uint\d+|tuple)$/;
/** The only dynamic-bytes inputs allowed: the patient's ECDSA signature over EIP-712 data. */
const ALLOWED_BYTES_INPUTS = new Set(['grantWithSig.signature', 'revokeWithSig.signature']);
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

describe('no identifier on chain', () => {
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
