import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../errors.js';
import {
  CATEGORIES,
  categoriesToMask,
  categoryBit,
  MEMBER_ROLES,
  maskToCategories,
  maskToPurposes,
  maskToRoles,
  PURPOSES,
  purposesToMask,
  rolesToMask,
} from './scopes.js';

describe('scopes', () => {
  test('bits match the contract constants', () => {
    assert.equal(categoryBit('general'), 1);
    assert.equal(categoryBit('genetics'), 128);
    assert.equal(rolesToMask(['HOSPITAL', 'REGULATOR']), 1 | 128);
    assert.equal(purposesToMask(['treatment', 'research']), 1 | 8);
  });

  test('names round-trip through masks', () => {
    fc.assert(
      fc.property(fc.subarray([...CATEGORIES], { minLength: 1 }), (names) => {
        assert.deepEqual(maskToCategories(categoriesToMask(names)), names);
      }),
    );
    fc.assert(
      fc.property(fc.subarray([...PURPOSES], { minLength: 1 }), (names) => {
        assert.deepEqual(maskToPurposes(purposesToMask(names)), names);
      }),
    );
    fc.assert(
      fc.property(fc.subarray([...MEMBER_ROLES], { minLength: 1 }), (names) => {
        assert.deepEqual(maskToRoles(rolesToMask(names)), names);
      }),
    );
  });

  test('unknown and empty names are refused with the list of valid ones', () => {
    assert.throws(
      () => categoriesToMask(['lab']),
      (e: InvalidInputError) => /unknown category "lab".*labs/.test(e.message),
    );
    assert.throws(() => purposesToMask(['emergency']), InvalidInputError);
    assert.throws(() => rolesToMask([]), /at least one role/);
  });
});
