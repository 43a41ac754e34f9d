import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../errors.js';
import { type DeploymentManifest, parseManifest, readManifest, writeManifest } from './manifest.js';

const good: DeploymentManifest = {
  version: 1,
  chainId: 31337,
  deploymentBlock: 1,
  quorumPercent: 51,
  contracts: {
    Registry: '0x17f6b8c7f4452dd0bbac79be0b0df2fef09d40bb',
    Consent: '0x8afc776d1e7b7633c10c633b8ad24193efd03dd4',
    AuditAnchor: '0x4ffb67202317a69c392310c24a84f680874527f7',
  },
};

describe('deployment manifest', () => {
  test('round-trips through a file', () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'manifest-')), 'd.json');
    assert.equal(readManifest(f), undefined);
    writeManifest(f, good);
    assert.deepEqual(readManifest(f), good);
    writeFileSync(f, '{oops');
    assert.throws(() => readManifest(f), /not valid JSON/);
    assert.ok(readFileSync(f, 'utf8'));
  });

  test('a manifest from before DrugLedger stays valid, and one naming it keeps it', () => {
    assert.equal(parseManifest(good).contracts.DrugLedger, undefined);
    const withLedger = {
      ...good,
      contracts: { ...good.contracts, DrugLedger: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
    };
    assert.equal(parseManifest(withLedger).contracts.DrugLedger, withLedger.contracts.DrugLedger);
  });

  test('bad manifests are refused with a message naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /not a JSON object/],
      [[], /unsupported version/],
      [{ ...good, version: 2 }, /unsupported version 2/],
      [{ ...good, chainId: -1 }, /chainId/],
      [{ ...good, chainId: '1' }, /chainId/],
      [{ ...good, deploymentBlock: 1.5 }, /deploymentBlock/],
      [{ ...good, contracts: undefined }, /contracts missing/],
      [
        { ...good, contracts: { ...good.contracts, Consent: '0x1234' } },
        /contracts\.Consent is not an address/,
      ],
      [{ ...good, contracts: { ...good.contracts, AuditAnchor: undefined } }, /contracts\.AuditAnchor/],
      [{ ...good, contracts: { ...good.contracts, DrugLedger: 'ledger' } }, /contracts\.DrugLedger/],
    ];
    for (const [value, msg] of cases) {
      assert.throws(
        () => parseManifest(value),
        (e: Error) => e instanceof InvalidInputError && msg.test(e.message),
      );
    }
  });
});
