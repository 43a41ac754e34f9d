import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveRpcUrl } from './chain.js';

describe('the chain URL from /portal/config', () => {
  test('a path is on the node the portal was loaded from; an absolute URL is kept', () => {
    assert.equal(resolveRpcUrl('/rpc', 'http://127.0.0.1:4100'), 'http://127.0.0.1:4100/rpc');
    assert.equal(resolveRpcUrl('/rpc', 'https://hospital.example'), 'https://hospital.example/rpc');
    assert.equal(
      resolveRpcUrl('https://rpc.example.org/', 'https://hospital.example'),
      'https://rpc.example.org/',
    );
  });
});
