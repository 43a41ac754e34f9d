/** Coverage facts from stored Coverages, and the on-chain record of each kind of decision. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Coverage } from '@medplum/fhirtypes';
import { claim, line, PAYER, PROVIDER, providerLog } from '../../test/support/claims.js';
import { seedCoverage } from '../node/seed/seedCoverage.js';
import { adjudicate } from './adjudicate.js';
import { chainDecision } from './chainDecision.js';
import { coverageFacts, coverageWith } from './coverageFacts.js';
import { loadEditTables } from './tableFiles.js';

const acme = { address: PAYER, name: 'Acme Health Insurance' };

test('a seeded Coverage reads as active with the payer from its start, open-ended', () => {
  assert.deepEqual(coverageFacts(seedCoverage('p', 'ACME-1', acme)), {
    status: 'active',
    payer: PAYER,
    start: '2020-01-01',
  });
});

test('period bounds are cut to dates; no member payor or an unknown status gives no facts', () => {
  const c: Coverage = {
    ...seedCoverage('p', 'ACME-1', acme),
    period: { start: '2024-01-01T00:00:00Z', end: '2025-12-31' },
  };
  assert.deepEqual(coverageFacts(c), {
    status: 'active',
    payer: PAYER,
    start: '2024-01-01',
    end: '2025-12-31',
  });
  assert.equal(coverageFacts({ ...c, payor: [{ display: 'Acme' }] }), undefined);
  assert.equal(
    coverageFacts({ ...c, payor: [{ identifier: { system: 'urn:medchain:member', value: '0x12' } }] }),
    undefined,
  );
  assert.equal(coverageFacts({ ...c, status: 'unknown' as 'active' }), undefined);
});

test('coverageWith picks the active coverage with this payer; another payer’s never counts', () => {
  const lapsed: Coverage = { ...seedCoverage('p', 'A', acme), status: 'cancelled' };
  const active = seedCoverage('p', 'B', acme);
  const other = seedCoverage('p', 'C', { address: PROVIDER, name: 'Other' });
  assert.equal(coverageWith([lapsed, active], PAYER)?.status, 'active');
  assert.equal(coverageWith([lapsed], PAYER)?.status, 'cancelled');
  assert.equal(coverageWith([other], PAYER), undefined);
});

test('on chain: approved with its benefit, denied and pended with flags, rejected denied with none', () => {
  const tables = loadEditTables();
  const facts = coverageFacts(seedCoverage('p', 'A', acme));
  const ctx = (over = {}) => ({
    coverage: facts,
    history: [],
    evidence: new Map(),
    crossPayerDuplicates: new Set<number>(),
    ...over,
  });
  const c = claim([line(1)]);
  const pended = chainDecision(adjudicate(c, ctx(), tables)); // no evidence of service
  assert.deepEqual(pended, { state: 'pended', to: 1, fraudFlags: 1 << 4, approved: 0n });
  const rejected = chainDecision(adjudicate(c, ctx({ coverage: undefined }), tables));
  assert.deepEqual(rejected, { state: 'denied', to: 3, fraudFlags: 0, approved: 0n });
  const approved = chainDecision(adjudicate(c, ctx({ evidence: providerLog(['enc-1']).evidence }), tables));
  assert.deepEqual(approved, { state: 'approved', to: 2, fraudFlags: 0, approved: 10_000n });
  const dup = claim([line(1), line(2)]); // line 2 an exact duplicate of line 1
  const denied = chainDecision(adjudicate(dup, ctx(), tables));
  assert.equal(denied.fraudFlags & 1, 1, 'duplicate flag');
});
