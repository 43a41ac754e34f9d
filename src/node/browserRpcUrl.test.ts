import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { browserRpcUrl } from './memberNode.js';

describe('the chain URL the portal gives browsers', () => {
  test('--public-rpc-url wins; otherwise the node’s own /rpc proxy, never the upstream RPC URL', () => {
    assert.equal(
      browserRpcUrl({ rpcUrl: 'http://10.0.0.5:8545', publicRpcUrl: 'https://rpc.example.org' }),
      'https://rpc.example.org',
    );
    for (const rpcUrl of [
      'http://127.0.0.1:8545',
      'http://localhost:8545/',
      'http://10.0.0.5:8545',
      'https://mainnet.infura.io/v3/SECRETKEY',
      'http://user:pass@127.0.0.1:8545',
    ])
      assert.equal(browserRpcUrl({ rpcUrl }), '/rpc', rpcUrl);
    assert.equal(browserRpcUrl({}), '/rpc');
  });
});
