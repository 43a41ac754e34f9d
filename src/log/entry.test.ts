import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { getAddress, type Hex } from 'viem';
import {
  decodeEntry,
  encodeEntry,
  LOG_ACTIONS,
  LOG_PURPOSES,
  type LogEntry,
  type LogTarget,
} from './entry.js';

const addr = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => getAddress(`0x${Buffer.from(b).toString('hex')}`));
const hash = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex);
const token = (max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9:._@-]{1,${max}}$`));

const entryArb: fc.Arbitrary<LogEntry> = fc.record(
  {
    index: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    time: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    member: addr,
    actor: token(64),
    patient: fc.option(addr, { nil: null }),
    action: fc.constantFrom(...LOG_ACTIONS),
    target: fc.option(
      fc.record(
        {
          resourceType: fc.stringMatching(/^[A-Za-z]{0,30}$/),
          id: fc.stringMatching(/^[A-Za-z0-9\-.]{0,64}$/),
          version: fc.integer({ min: 0, max: 0xffffffff }),
          ciphertextHash: fc.option(hash, { nil: null }),
        },
        { noNullPrototype: true },
      ),
      { nil: null },
    ),
    purpose: fc.constantFrom(...LOG_PURPOSES),
    outcome: fc.constantFrom('permit' as const, 'deny' as const),
    reason: fc.stringMatching(/^[a-z0-9-]{1,64}$/),
    queryHash: fc.option(hash, { nil: null }),
  },
  { noNullPrototype: true },
);

const sample: LogEntry = {
  index: 7,
  time: 1_764_000_000_000,
  member: getAddress('0x4d1ad100619f59d961c0cfd53d3cacf34b1892cd'),
  actor: '3f1c2e9a-0d55-4a8e-9d4e-0c2b7e0a9b11',
  patient: getAddress('0x080965e646b518a3ede437d12a425639b5c5befc'),
  action: 'read',
  target: { resourceType: 'Observation', id: 'abc', version: 2, ciphertextHash: `0x${'ab'.repeat(32)}` },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'ok',
  queryHash: null,
};

describe('log entry encoding', () => {
  test('round trip for random entries; the encoding is injective', () => {
    fc.assert(
      fc.property(entryArb, (e) => {
        assert.deepEqual(decodeEntry(encodeEntry(e)), e);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(entryArb, entryArb, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        assert.notDeepEqual(Buffer.from(encodeEntry(a)), Buffer.from(encodeEntry(b)));
      }),
    );
  });

  test('decoding is strict: truncation, trailing bytes, unknown codes and bad flags are refused', () => {
    const bytes = encodeEntry(sample);
    for (let n = 0; n < bytes.length; n++)
      assert.throws(() => decodeEntry(bytes.subarray(0, n)), /log entry/);
    assert.throws(() => decodeEntry(Uint8Array.from([...bytes, 0])), /trailing bytes/);
    const v = Uint8Array.from(bytes);
    v[0] = 2;
    assert.throws(() => decodeEntry(v), /unknown format version/);
    // Corrupt each byte: either it decodes to a different entry or it is refused; never the same.
    for (let i = 0; i < bytes.length; i++) {
      const c = Uint8Array.from(bytes);
      c[i] = (c[i] as number) ^ 0x41;
      try {
        assert.notDeepEqual(decodeEntry(c), sample);
      } catch (e) {
        assert.match(String(e), /log entry/);
      }
    }
  });

  test('names and free text cannot be put in an entry', () => {
    assert.throws(() => encodeEntry({ ...sample, actor: 'Jane Smith' }), /actor must be a pseudonymous id/);
    assert.throws(
      () => encodeEntry({ ...sample, reason: 'Patient Jane Smith asked' }),
      /reason must be a code/,
    );
    assert.throws(
      () => encodeEntry({ ...sample, target: { ...sample.target, id: 'Jane Smith' } as never }),
      /target.id/,
    );
    assert.throws(() => encodeEntry({ ...sample, patient: 'Jane' as never }), /patient must be an address/);
  });

  test('free-form fields are checked exactly as their regular expressions say', () => {
    // Strings near and across each class: letters, digits, the punctuation allowed somewhere,
    // characters allowed nowhere (space, newline, non-ASCII, a code point past 127 whose low bits
    // are an allowed one), empty and up to 70 characters long.
    const chars = fc.constantFrom(
      ...'aZz09:._@-/ \n\u00e9\u00c1\u0141\u3042\u{1F600}'.split(''),
      'A',
      'q',
      '5',
      '\u00ad',
    );
    const str = fc.array(chars, { maxLength: 70 }).map((cs) => cs.join(''));
    const fields: [string, RegExp, (v: string) => LogEntry][] = [
      ['actor', /^[A-Za-z0-9:._@-]{1,64}$/, (v) => ({ ...sample, actor: v })],
      ['reason', /^[a-z0-9-]{1,64}$/, (v) => ({ ...sample, reason: v })],
      [
        'target.id',
        /^[A-Za-z0-9\-.]{0,64}$/,
        (v) => ({ ...sample, target: { ...(sample.target as LogTarget), id: v } }),
      ],
      [
        'target.resourceType',
        /^[A-Za-z]{0,64}$/,
        (v) => ({ ...sample, target: { ...(sample.target as LogTarget), resourceType: v } }),
      ],
    ];
    for (const [name, re, put] of fields) {
      // At the length limit and past it, and empty.
      for (const v of ['a'.repeat(64), 'a'.repeat(65), ''])
        assert.equal(
          (() => {
            try {
              encodeEntry(put(v));
              return true;
            } catch {
              return false;
            }
          })(),
          re.test(v),
          `${name} of ${v.length}`,
        );
      fc.assert(
        fc.property(str, (v) => {
          let accepted = true;
          try {
            encodeEntry(put(v));
          } catch {
            accepted = false;
          }
          assert.equal(accepted, re.test(v), `${name} ${JSON.stringify(v)}`);
        }),
        { numRuns: 2000 },
      );
    }
    assert.throws(() => encodeEntry({ ...sample, actor: 7 as never }), /actor must be a pseudonymous id/);
  });

  test('hashes must be 0x and 64 lowercase hex digits', () => {
    const good = `0x${'0123456789abcdef'.repeat(4)}`;
    assert.doesNotThrow(() => encodeEntry({ ...sample, queryHash: good as never }));
    for (const bad of [
      good.toUpperCase(),
      `0x${'AB'.repeat(32)}`,
      `0x${'ab'.repeat(31)}`,
      `0x${'ab'.repeat(33)}`,
      `0x${'ab'.repeat(31)}ag`,
      `0x${'ab'.repeat(31)}a/`,
      `0x${'ab'.repeat(31)}a:`,
      `0x${'ab'.repeat(31)}a\``,
      `ab${'ab'.repeat(32)}`,
      `0X${'ab'.repeat(32)}`,
      '',
    ]) {
      assert.throws(
        () => encodeEntry({ ...sample, queryHash: bad as never }),
        /queryHash must be 32 bytes/,
        bad,
      );
      assert.throws(
        () => encodeEntry({ ...sample, target: { ...sample.target, ciphertextHash: bad } as never }),
        /target.ciphertextHash must be 32 bytes/,
        bad,
      );
    }
  });

  test('known answer: the bytes of the sample entry (docs/log-format.md) do not change', () => {
    assert.equal(
      Buffer.from(encodeEntry(sample)).toString('hex'),
      '0100000000000000070000019ab697e8004d1ad100619f59d961c0cfd53d3cacf34b1892cd2433663163326539612d306435352d346138652d396434652d30633262376530613962313101080965e646b518a3ede437d12a425639b5c5befc01010b4f62736572766174696f6e036162630000000201abababababababababababababababababababababababababababababababab0101026f6b00',
    );
  });

  test('lowercase addresses on request: the same checks, the same entry otherwise', () => {
    const bytes = encodeEntry(sample);
    const lower = decodeEntry(bytes, { lowercaseAddresses: true });
    assert.deepEqual(lower, {
      ...sample,
      member: sample.member.toLowerCase(),
      patient: sample.patient?.toLowerCase(),
    });
    assert.deepEqual(Buffer.from(encodeEntry(lower)), Buffer.from(bytes));
    assert.throws(() => decodeEntry(bytes.subarray(0, 40), { lowercaseAddresses: true }), /truncated/);
  });

  test('addresses must be lowercase or correctly checksummed (EIP-55), as viem has it', () => {
    const mixed = sample.member.replace('D', 'd');
    assert.throws(() => encodeEntry({ ...sample, member: mixed as Hex }), /member must be an address/);
    assert.throws(
      () => encodeEntry({ ...sample, member: sample.member.toUpperCase().replace('0X', '0x') as Hex }),
      /member must be an address/,
    );
    fc.assert(
      fc.property(addr, (a) => {
        assert.equal(
          decodeEntry(encodeEntry({ ...sample, patient: a.toLowerCase() as Hex })).patient,
          getAddress(a),
        );
      }),
    );
  });
});
