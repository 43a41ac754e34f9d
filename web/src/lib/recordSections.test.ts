import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CATEGORIES } from '../../../src/chain/scopes.js';
import { emptyText, type Gaps, NO_GAPS, SECTIONS, sectionNotice } from './recordSections.js';
import type { Refusal } from './refusals.js';

const sections = Object.values(SECTIONS);
const TYPES = ['Observation', 'Condition', 'MedicationRequest', 'AllergyIntolerance', 'Immunization'];
const REASONS = ['no-consent', 'withheld', 'purpose-role', 'break-glass-limit', 'not-a-member', 'unknown'];
const MEMBERS = ['Central Lab', 'City Hospital', 'Main Street Pharmacy', 'Northside Insurance'];
const NONE_RECORDED = /\bNo\b.*\brecorded\b/;

const refusal = (member: string, resourceType: string, reason: string, categories: string[]): Refusal => ({
  address: `0x${(MEMBERS.indexOf(member) + 1).toString(16).padStart(40, '0')}`,
  member,
  resourceType,
  categories,
  reason,
});
const gaps = (refusals: Refusal[], incomplete: string[] = []): Gaps => ({ refusals, incomplete });

describe('what a record section says about what is not in it', () => {
  test('with nothing withheld and every member answering, an empty section says “No … recorded.”', () => {
    assert.deepEqual(
      sections.map((s) => emptyText(s, NO_GAPS)),
      [
        'No vital signs recorded.',
        'No lab results recorded.',
        'No medications recorded.',
        'No conditions recorded.',
        'No allergies recorded.',
        'No immunizations recorded.',
      ],
    );
  });

  test('members that withheld a section are named, with what to do, never “No … recorded”', () => {
    const rs = [
      refusal('Central Lab', 'AllergyIntolerance', 'no-consent', ['general', 'mental-health']),
      refusal('City Hospital', 'AllergyIntolerance', 'no-consent', []),
    ];
    assert.equal(
      emptyText(SECTIONS.allergies, gaps(rs)),
      'Central Lab and City Hospital did not share allergy records with you. Ask the patient for consent, or break the glass in an emergency.',
    );
    assert.equal(emptyText(SECTIONS.conditions, gaps(rs)), 'No conditions recorded.');
  });

  test('a partial refusal names the categories in plain words', () => {
    const rs = [
      refusal('Central Lab', 'Condition', 'withheld', ['mental-health', 'sexual-reproductive-health']),
      refusal('City Hospital', 'Condition', 'withheld', ['sexual-reproductive-health', 'mental-health']),
      refusal('Main Street Pharmacy', 'Condition', 'no-consent', SECTIONS.conditions.categories.slice()),
    ];
    assert.equal(
      emptyText(SECTIONS.conditions, gaps(rs)),
      'Main Street Pharmacy did not share condition records with you. Central Lab and City Hospital did not share condition records with you in these categories: mental health, sexual and reproductive health. Ask the patient for consent, or break the glass in an emergency.',
    );
  });

  test('withholding every category a section can carry reads as a whole refusal', () => {
    // Labs granted: a Condition can carry none of them, so none of it is shared.
    const text = emptyText(
      SECTIONS.conditions,
      gaps([refusal('Central Lab', 'Condition', 'withheld', SECTIONS.conditions.categories.slice())]),
    );
    assert.match(text, /^Central Lab did not share condition records with you\. Ask the patient/);
  });

  test('vital signs are not affected by withheld labs or imaging; the lab table is', () => {
    const g = gaps([refusal('Central Lab', 'Observation', 'withheld', ['labs', 'imaging'])]);
    assert.equal(emptyText(SECTIONS.vitals, g), 'No vital signs recorded.');
    assert.equal(
      emptyText(SECTIONS.labs, g),
      'Central Lab did not share lab results with you in these categories: labs, imaging. Ask the patient for consent, or break the glass in an emergency.',
    );
    const sensitive = gaps([refusal('Central Lab', 'Observation', 'withheld', ['genetics'])]);
    assert.match(
      emptyText(SECTIONS.vitals, sensitive),
      /^Central Lab did not share vital signs with you in this category: genetics\./,
    );
  });

  test('another reason points to why instead of asking for consent', () => {
    const n = sectionNotice(
      SECTIONS.medications,
      gaps([refusal('Central Lab', 'MedicationRequest', 'break-glass-limit', ['medications'])]),
    );
    assert.equal(n.askConsent, false);
    assert.equal(n.seeWhy, true);
  });

  test('a member that did not answer leaves the section saying so, not “No … recorded”', () => {
    const text = emptyText(SECTIONS.immunizations, gaps([], ['Immunization']));
    assert.equal(text, 'Some members did not answer; what they hold may be missing.');
  });

  test('property: “No … recorded” exactly when no member withheld anything the section can carry', () => {
    const arb = fc.record({
      refusals: fc.array(
        fc.record({
          member: fc.constantFrom(...MEMBERS),
          type: fc.constantFrom(...TYPES),
          reason: fc.constantFrom(...REASONS),
          categories: fc.subarray([...CATEGORIES]),
        }),
        { maxLength: 8 },
      ),
      incomplete: fc.subarray(TYPES),
    });
    fc.assert(
      fc.property(arb, fc.constantFrom(...sections), (g, section) => {
        const rs = g.refusals.map((r) => refusal(r.member, r.type, r.reason, r.categories));
        const text = emptyText(section, gaps(rs, g.incomplete));
        // Independent oracle: the refusals of the section's type that touch a category it shows.
        const touching = rs.filter(
          (r) =>
            r.resourceType === section.resourceType &&
            (r.categories.length === 0 || r.categories.some((c) => section.categories.includes(c as never))),
        );
        if (touching.length === 0 && !g.incomplete.includes(section.resourceType))
          assert.equal(text, section.empty);
        else assert.doesNotMatch(text, NONE_RECORDED);
        for (const r of touching) assert.ok(text.includes(r.member), `${r.member} not named in: ${text}`);
        for (const m of MEMBERS)
          if (!touching.some((r) => r.member === m)) assert.ok(!text.includes(m), `${m} named in: ${text}`);
      }),
      { numRuns: 500 },
    );
  });
});
