import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { browserRpcUrl } from './memberNode.js';

describe('the chain URL the portal gives browsers', () => {
  test('--public-rpc-url wins; a loopback URL without credentials is published; anything else is not', () => {
    assert.equal(
      browserRpcUrl({ rpcUrl: 'http://10.0.0.5:8545', publicRpcUrl: 'https://rpc.example.org' }),
      'https://rpc.example.org',
    );
    assert.equal(browserRpcUrl({ rpcUrl: 'http://127.0.0.1:8545' }), 'http://127.0.0.1:8545');
    assert.equal(browserRpcUrl({ rpcUrl: 'http://localhost:8545/' }), 'http://localhost:8545/');
    for (const rpcUrl of [
      'http://10.0.0.5:8545',
      'https://mainnet.infura.io/v3/SECRETKEY',
      'http://user:pass@127.0.0.1:8545',
      'http://127.0.0.1:8545/?apikey=SECRET',
      'not a url',
    ])
      assert.equal(browserRpcUrl({ rpcUrl }), undefined, rpcUrl);
    assert.equal(browserRpcUrl({}), undefined);
  });
});
