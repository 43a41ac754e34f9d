import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { categoryBit } from '../chain/scopes.js';
import { categoriesOfType, categoryMask, recordCategory } from './recordCategory.js';

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

describe('category mask', () => {
  const bits = (...cs: Parameters<typeof categoryBit>[0][]) => cs.reduce((m, c) => m | categoryBit(c), 0);
  test('the base category and EVERY sensitive label count', () => {
    const labs = { resourceType: 'Observation', category: [{ coding: [{ code: 'laboratory' }] }] };
    assert.equal(categoryMask(labs as never), bits('labs'));
    assert.equal(
      categoryMask({
        resourceType: 'Condition',
        meta: { security: [{ code: 'PSY' }, { code: 'HIV' }, { code: 'N' }] },
      } as never),
      bits('general', 'mental-health', 'sexual-reproductive-health'),
    );
    assert.equal(
      categoryMask({ ...labs, meta: { security: [{ code: 'gdis' }, { code: 'ETH' }] } } as never),
      bits('labs', 'genetics', 'substance-use'),
    );
  });
  test('the categories of a type cover every mask a record of that type can have', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('Observation', 'DiagnosticReport', 'MedicationRequest', 'Condition', 'Patient'),
        fc.constantFrom('laboratory', 'imaging', 'vital-signs', 'lab', 'rad'),
        fc.subarray(['PSY', 'PSYTHPN', 'SEX', 'HIV', 'STD', 'ETH', 'SUD', 'ETHUD', 'GDIS', 'N', 'R']),
        (resourceType, cat, labels) => {
          const mask = categoryMask({
            resourceType,
            category: [{ coding: [{ code: cat }] }],
            meta: { security: labels.map((code) => ({ code })) },
          } as never);
          return mask !== 0 && (mask & ~categoriesOfType(resourceType)) === 0;
        },
      ),
    );
  });
});
