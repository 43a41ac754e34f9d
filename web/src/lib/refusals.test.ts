import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { maskToCategories } from '../../../src/chain/scopes.js';
import { categoriesOfType } from '../../../src/records/recordCategory.js';
import { categoryWords, listWords, memberLines, type Refusal } from './refusals.js';

const all = (t: string) => maskToCategories(categoriesOfType(t));
const TYPES = ['Observation', 'Condition', 'MedicationRequest', 'AllergyIntolerance', 'Immunization'];
const refusal = (member: string, resourceType: string, reason: string, categories: string[]): Refusal => ({
  address: `0x${member.length.toString(16).padStart(40, '0')}`,
  member,
  resourceType,
  categories,
  reason,
});

describe('the “Not shared with you” summary', () => {
  test('one line per member, not one per resource type and category', () => {
    const rs = [
      ...TYPES.map((t) => refusal('Central Lab', t, 'no-consent', all(t))),
      ...TYPES.map((t) => refusal('City Hospital', t, 'no-consent', all(t))),
    ];
    assert.deepEqual(
      memberLines(rs).map((l) => l.text),
      [
        'Central Lab did not share any records with you: the patient has not consented to sharing them with you.',
        'City Hospital did not share any records with you: the patient has not consented to sharing them with you.',
      ],
    );
  });

  test('a partial refusal names the categories in plain words, once each, in the contract’s order', () => {
    // The patient shared labs only: every other category of every type is withheld.
    const rs = TYPES.map((t) =>
      refusal(
        'Central Lab',
        t,
        'withheld',
        all(t).filter((c) => c !== 'labs'),
      ),
    );
    assert.deepEqual(
      memberLines(rs).map((l) => l.text),
      [
        'Central Lab did not share general, medications, imaging, mental health, sexual and reproductive health, substance use or genetics records with you: the patient’s consent does not cover them.',
      ],
    );
  });

  test('a refusal for another reason says that reason, not consent', () => {
    const [line] = memberLines([
      refusal('Central Lab', 'Observation', 'break-glass-limit', all('Observation')),
    ]);
    assert.match(line?.text ?? '', /^Central Lab did not share any records with you: .*break-glass limit\.$/);
    assert.doesNotMatch(line?.text ?? '', /consent/);
  });

  test('plain words for every category and lists', () => {
    assert.equal(categoryWords('sexual-reproductive-health'), 'sexual and reproductive health');
    assert.equal(categoryWords('mental-health'), 'mental health');
    assert.equal(listWords(['a']), 'a');
    assert.equal(listWords(['a', 'b']), 'a and b');
    assert.equal(listWords(['a', 'b', 'c'], 'or'), 'a, b or c');
  });
});
