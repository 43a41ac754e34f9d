/** The claim submission wire: a good message round-trips; every bad or extra field is a 400 naming it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fhirClaim } from '../../test/support/claims.js';
import { InvalidInputError } from '../errors.js';
import { parseClaimSubmission } from './claimSubmissionWire.js';

const H = (b: string) => `0x${b.repeat(32)}`;
const good = () => ({
  claim: fhirClaim() as unknown as Record<string, unknown>,
  evidence: [
    {
      encounterId: 'enc-1',
      entryIndex: 3,
      entry: Buffer.from('entry').toString('base64'),
      path: [H('aa')],
      treeSize: 5,
    },
  ],
  batch: { root: H('01'), claimId: H('02'), salt: H('03'), proof: [H('04'), H('05')] },
  lineKey: { enc: H('06'), sealed: `0x${'07'.repeat(48)}` },
});

describe('claim submission wire', () => {
  test('a good submission parses to the same values', () => {
    const g = good();
    assert.deepEqual(parseClaimSubmission(JSON.parse(JSON.stringify(g))), g);
  });

  test('bad input: wrong types, missing or extra fields, oversized lists', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the table mutates arbitrary fields
    const cases: [string, (b: any) => unknown, RegExp][] = [
      ['not an object', () => [], /send \{claim, evidence, batch, lineKey\}/],
      ['extra top-level field', (b) => ({ ...b, patientName: 'x' }), /"patientName" is not part/],
      ['claim missing', (b) => ({ evidence: b.evidence, batch: b.batch }), /claim is missing/],
      ['claim not a Claim', (b) => ({ ...b, claim: { resourceType: 'Patient' } }), /must be a FHIR Claim/],
      ['evidence not a list', (b) => ({ ...b, evidence: {} }), /evidence must be a list/],
      ['too much evidence', (b) => ({ ...b, evidence: Array(51).fill(b.evidence[0]) }), /at most 50/],
      [
        'extra evidence field',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], code: 'Z1001' }] }),
        /"code" is not part/,
      ],
      [
        'evidence field missing',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], treeSize: undefined }] }),
        /treeSize/,
      ],
      [
        'bad encounter id',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], encounterId: 'a/b' }] }),
        /encounterId must be a FHIR id/,
      ],
      ['encounter twice', (b) => ({ ...b, evidence: [b.evidence[0], b.evidence[0]] }), /listed twice/],
      [
        'entry not base64',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], entry: '%%%' }] }),
        /entry must be/,
      ],
      [
        'negative index',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], entryIndex: -1 }] }),
        /entryIndex must be an integer/,
      ],
      ['index at size', (b) => ({ ...b, evidence: [{ ...b.evidence[0], entryIndex: 5 }] }), /below treeSize/],
      [
        'size zero',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], entryIndex: 0, treeSize: 0 }] }),
        /treeSize must be/,
      ],
      [
        'path node short',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], path: ['0x12'] }] }),
        /path\[0\] must be 32 bytes/,
      ],
      [
        'path too long',
        (b) => ({ ...b, evidence: [{ ...b.evidence[0], path: Array(65).fill(H('aa')) }] }),
        /at most 64/,
      ],
      ['batch missing', (b) => ({ claim: b.claim, evidence: b.evidence }), /batch is missing/],
      [
        'extra batch field',
        (b) => ({ ...b, batch: { ...b.batch, patient: H('09') } }),
        /"patient" is not part/,
      ],
      [
        'root upper-case',
        (b) => ({ ...b, batch: { ...b.batch, root: H('AB') } }),
        /batch\.root must be 32 bytes/,
      ],
      ['salt missing', (b) => ({ ...b, batch: { ...b.batch, salt: undefined } }), /salt/],
      ['proof not a list', (b) => ({ ...b, batch: { ...b.batch, proof: H('04') } }), /proof must be a list/],
      ['line key missing', (b) => ({ ...b, lineKey: undefined }), /lineKey is missing/],
      ['line key not an object', (b) => ({ ...b, lineKey: 'k' }), /lineKey must be an object/],
      [
        'extra line key field',
        (b) => ({ ...b, lineKey: { ...b.lineKey, key: H('08') } }),
        /"key" is not part/,
      ],
      [
        'line key enc short',
        (b) => ({ ...b, lineKey: { ...b.lineKey, enc: '0x12' } }),
        /lineKey\.enc must be/,
      ],
      [
        'sealed key of 32 bytes',
        (b) => ({ ...b, lineKey: { ...b.lineKey, sealed: H('07') } }),
        /lineKey\.sealed must be 48 bytes/,
      ],
      [
        'sealed key upper-case',
        (b) => ({ ...b, lineKey: { ...b.lineKey, sealed: `0x${'AB'.repeat(48)}` } }),
        /lineKey\.sealed must be 48 bytes/,
      ],
    ];
    for (const [name, mutate, msg] of cases) {
      const body = JSON.parse(JSON.stringify(mutate(good())));
      assert.throws(
        () => parseClaimSubmission(body),
        (e: Error) => e instanceof InvalidInputError && msg.test(e.message),
        name,
      );
    }
  });
});
