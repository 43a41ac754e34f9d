import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { pickFreePort, portFileOf, portIsFree, savedPort, savePort } from './memberPort.js';

const root = mkdtempSync(path.join(tmpdir(), 'medchain-port-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe("a member's kept port", () => {
  test('none before the first start; saved owner-only; read back', () => {
    const dir = path.join(root, 'a');
    assert.equal(savedPort(dir), undefined);
    savePort(dir, 41234);
    assert.equal(savedPort(dir), 41234);
    assert.equal(statSync(portFileOf(dir)).mode & 0o777, 0o600);
  });

  test('a damaged port file is refused with what to do', () => {
    const dir = path.join(root, 'b');
    savePort(dir, 1);
    const cases: [string, RegExp][] = [
      ['not json', /port\.json is not valid JSON; delete it/],
      ['{"port": 0}', /port must be 1\.\.65535; delete the file/],
      ['{"port": 70000}', /port must be 1\.\.65535/],
      ['{"port": "8080"}', /port must be 1\.\.65535/],
      ['{}', /port must be 1\.\.65535/],
    ];
    for (const [text, msg] of cases) {
      writeFileSync(portFileOf(dir), text);
      assert.throws(() => savedPort(dir), msg, text);
    }
  });

  test('portIsFree: false while something listens there, true once it stops', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    assert.equal(await portIsFree('127.0.0.1', port), false);
    await new Promise<void>((r) => server.close(() => r()));
    assert.equal(await portIsFree('127.0.0.1', port), true);
  });

  test('pickFreePort: a port nothing listens on, that can then be listened on', async () => {
    const port = await pickFreePort('127.0.0.1');
    assert.ok(port > 0 && port < 65536);
    assert.equal(await portIsFree('127.0.0.1', port), true);
  });
});
