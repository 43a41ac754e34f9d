import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { NodeStartError } from '../errors.js';
import { outputTail, spawnNodeProcess } from './nodeProcess.js';

const root = mkdtempSync(path.join(tmpdir(), 'medchain-spawn-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('a member node process that does not start says why', () => {
  test('it exited: the error carries its own message', async () => {
    const dir = path.join(root, 'no-keys');
    await assert.rejects(
      spawnNodeProcess(dir, 'pass', { label: 'the node of Test Clinic' }),
      (err: unknown) => {
        assert.ok(err instanceof NodeStartError);
        assert.equal(err.code, 'node-start-failed');
        assert.match(err.message, /^the node of Test Clinic exited with code 1 before listening: /);
        assert.match(err.message, /medchain: no key file at .*keys\.json/, 'the reason the node printed');
        return true;
      },
    );
  });

  test('it did not say where it listens in time: the error says so, and what it printed', async () => {
    await assert.rejects(
      spawnNodeProcess(path.join(root, 'slow'), 'pass', { timeoutMs: 1 }),
      (err: unknown) => {
        assert.ok(err instanceof NodeStartError);
        assert.equal(err.code, 'node-start-timeout');
        assert.match(err.message, /did not say it was listening within 0 s; its output: /);
        return true;
      },
    );
  });

  test('outputTail: the last lines, or that there were none', () => {
    assert.equal(outputTail(' \n'), '(it printed nothing)');
    const many = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    assert.equal(outputTail(many).split('\n').length, 20);
    assert.match(outputTail(many), /line 29$/);
  });
});
