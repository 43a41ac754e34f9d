import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import { categoriesToMask } from '../chain/scopes.js';
import type { SearchQuery } from '../fhir/search.js';

// The store answers a search with one page query and counts the matches with a second only when
// the page does not tell the total (a full page, or an empty page past the start): every page and
// total must be those of the full ordered match list, under any category restriction.
let t: TestNode;
const HELD = 7;
const SENSITIVE = 3;
before(async () => {
  t = await startTestNode({ roles: ['clinician'] });
  const p = await t.node.records.create({ resourceType: 'Patient', name: [{ family: 'Paging' }] });
  for (let i = 0; i < HELD; i++) {
    await t.node.records.create({
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
      subject: { reference: `Patient/${p.id}` },
      ...(i < SENSITIVE
        ? {
            meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] },
          }
        : {}),
    });
  }
});
after(() => t.close());

const query = (count: number, offset: number): SearchQuery => ({
  resourceType: 'Observation',
  clauses: [],
  count,
  offset,
  countCapped: false,
});

describe('record search pages and totals', () => {
  for (const [name, allowed, matching] of [
    ['every category', undefined, HELD],
    ['labs only (the HIV-labelled are hidden)', categoriesToMask(['general', 'labs']), HELD - SENSITIVE],
  ] as const) {
    test(`${name}: each (count, offset) gives the slice of the full ordering and the true total`, () => {
      const all = t.node.records.searchStored(query(100, 0), allowed).rows.map((r) => r.id);
      assert.equal(all.length, matching);
      for (let count = 0; count <= HELD + 2; count++) {
        for (let offset = 0; offset <= HELD + 2; offset++) {
          const { rows, total } = t.node.records.searchStored(query(count, offset), allowed);
          const at = `count ${count}, offset ${offset}`;
          assert.equal(total, matching, at);
          assert.deepEqual(
            rows.map((r) => r.id),
            all.slice(offset, offset + count),
            at,
          );
        }
      }
    });
  }

  test('a page size that is not a whole number is refused before any SQL is built', () => {
    for (const count of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => t.node.records.searchStored(query(count, 0)), /internal: search count/);
  });
});
