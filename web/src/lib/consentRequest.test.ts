import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CATEGORIES, PURPOSES } from '../../../src/chain/scopes.js';
import { parseRequest, requestLink } from './consentRequest.js';

const GRANTEE = '0x3B7abcFF9F997D28006007B384C1A9870c7D1033';

describe('consent request links', () => {
  test('a link round-trips to the same request', () => {
    fc.assert(
      fc.property(
        fc.subarray([...CATEGORIES], { minLength: 1 }),
        fc.subarray([...PURPOSES], { minLength: 1 }),
        (categories, purposes) => {
          const link = requestLink('http://127.0.0.1:4000/', { grantee: GRANTEE, categories, purposes });
          assert.ok(link.startsWith('http://127.0.0.1:4000/#/patient?'));
          assert.deepEqual(parseRequest(link.slice(link.indexOf('#'))), {
            grantee: GRANTEE,
            categories,
            purposes,
          });
        },
      ),
    );
  });

  test('anything else is no request: junk never throws, unknown names are dropped', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseRequest(s)));
    assert.equal(parseRequest('#/patient'), undefined);
    assert.equal(parseRequest('#/patient?request=0x12&categories=labs&purposes=treatment'), undefined);
    assert.equal(
      parseRequest(`#/patient?request=${GRANTEE}&categories=everything&purposes=treatment`),
      undefined,
    );
    assert.deepEqual(
      parseRequest(
        `#/patient?request=${GRANTEE.toLowerCase()}&categories=labs,bogus&purposes=treatment,spying`,
      ),
      { grantee: GRANTEE, categories: ['labs'], purposes: ['treatment'] },
    );
  });
});
