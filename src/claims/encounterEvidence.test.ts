/** Evidence of service: the proven case, and the "corrupt it and it must fail" table. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLAIM_CREATED, OTHER_PROVIDER, PATIENT, PROVIDER, providerLog } from '../../test/support/claims.js';
import { evidenceProblem } from './encounterEvidence.js';
import type { EncounterEvidence } from './model.js';

const claim = { patient: PATIENT, provider: PROVIDER, created: CLAIM_CREATED };
const { evidence, entries } = providerLog(['enc-1', 'enc-2']);
const good = evidence.get('enc-1') as Required<EncounterEvidence>;
const flip = (b: Uint8Array, at: number) => {
  const c = Uint8Array.from(b);
  c[at] = (c[at] as number) ^ 1;
  return c;
};

describe('evidence of service', () => {
  test('a proven creation of the Encounter vouches for it', () => {
    assert.equal(evidenceProblem(claim, 'enc-1', good), undefined);
  });

  const corrupt: [string, EncounterEvidence | undefined, string, RegExp][] = [
    ['no evidence', undefined, 'enc-1', /no evidence/],
    ['evidence for another Encounter id', good, 'enc-2', /no evidence/],
    ['the Encounter does not exist', { ...good, exists: false }, 'enc-1', /has no Encounter/],
    ['no proof', { ...good, proof: undefined } as EncounterEvidence, 'enc-1', /not proven/],
    ['no anchored head', { ...good, anchoredHead: undefined } as EncounterEvidence, 'enc-1', /not proven/],
    ['entry bytes truncated', { ...good, entry: good.entry.subarray(0, 20) }, 'enc-1', /does not decode/],
    [
      'a bit of the root flipped',
      { ...good, anchoredHead: { ...good.anchoredHead, rootHash: flip(good.anchoredHead.rootHash, 0) } },
      'enc-1',
      /not included/,
    ],
    [
      'a bit of a proof node flipped',
      { ...good, proof: good.proof.map((p, i) => (i === 0 ? flip(p, 31) : p)) },
      'enc-1',
      /not included/,
    ],
    ['a proof node dropped', { ...good, proof: good.proof.slice(1) }, 'enc-1', /not included/],
    [
      'a proof node added',
      { ...good, proof: [...good.proof, good.proof[0] as Uint8Array] },
      'enc-1',
      /not included/,
    ],
    [
      // (Some other sizes give the same audit path: the size is bound by the anchor, read from chain.)
      'tree size - 3 (the entry is no longer in the tree)',
      { ...good, anchoredHead: { ...good.anchoredHead, treeSize: good.anchoredHead.treeSize - 3 } },
      'enc-1',
      /not included/,
    ],
    [
      'another entry in its place (a search, not a creation)',
      { ...good, entry: entries[0] as Uint8Array },
      'enc-1',
      /not a creation/,
    ],
    [
      'the creation of another Encounter',
      { ...good, entry: (evidence.get('enc-2') as Required<EncounterEvidence>).entry },
      'enc-1',
      /another record/,
    ],
    [
      'anchored after the claim',
      { ...good, anchoredHead: { ...good.anchoredHead, anchoredAt: CLAIM_CREATED + 1 } },
      'enc-1',
      /after the claim/,
    ],
  ];
  for (const [name, ev, id, problem] of corrupt) {
    test(`fails: ${name}`, () => assert.match(evidenceProblem(claim, id, ev) ?? 'VOUCHED', problem));
  }

  test('fails: logged by another member', () => {
    const other = providerLog(['enc-1'], { member: OTHER_PROVIDER }).evidence.get('enc-1');
    assert.match(evidenceProblem(claim, 'enc-1', other) ?? 'VOUCHED', /another member/);
  });
  test('fails: about another patient', () => {
    const other = providerLog(['enc-1'], { patient: OTHER_PROVIDER }).evidence.get('enc-1');
    assert.match(evidenceProblem(claim, 'enc-1', other) ?? 'VOUCHED', /another patient/);
  });
});
