import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordCategory } from './recordCategory.js';

describe('record category', () => {
  test('types and category codes', () => {
    assert.equal(recordCategory({ resourceType: 'MedicationRequest' } as never), 'medications');
    assert.equal(
      recordCategory({
        resourceType: 'Observation',
        category: [{ coding: [{ code: 'laboratory' }] }],
      } as never),
      'labs',
    );
    assert.equal(
      recordCategory({
        resourceType: 'Observation',
        category: [{ coding: [{ code: 'vital-signs' }] }],
      } as never),
      'general',
    );
    assert.equal(
      recordCategory({
        resourceType: 'DiagnosticReport',
        category: [{ coding: [{ code: 'RAD' }] }],
      } as never),
      'imaging',
    );
    assert.equal(recordCategory({ resourceType: 'Condition' } as never), 'general');
  });
  test('a sensitive security label wins over everything else', () => {
    const labs = { resourceType: 'Observation', category: [{ coding: [{ code: 'laboratory' }] }] };
    assert.equal(
      recordCategory({ ...labs, meta: { security: [{ code: 'HIV' }] } } as never),
      'sexual-reproductive-health',
    );
    assert.equal(
      recordCategory({ resourceType: 'Condition', meta: { security: [{ code: 'PSY' }] } } as never),
      'mental-health',
    );
    assert.equal(
      recordCategory({ resourceType: 'MedicationRequest', meta: { security: [{ code: 'ETH' }] } } as never),
      'substance-use',
    );
    assert.equal(
      recordCategory({ resourceType: 'Observation', meta: { security: [{ code: 'GDIS' }] } } as never),
      'genetics',
    );
    assert.equal(
      recordCategory({ resourceType: 'Observation', meta: { security: [{ code: 'N' }] } } as never),
      'general',
    );
  });
});
