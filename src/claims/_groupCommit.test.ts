/** Group commit: a lone item goes after the window; items arriving while a group is in flight gather. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GroupCommit } from './_groupCommit.js';

/** A sender whose sends settle only when the test releases them. */
function recorder() {
  const sent: { key: string; items: number[]; at: number }[] = [];
  const release: (() => void)[] = [];
  const send = (key: string, items: number[]) =>
    new Promise<void>((resolve) => {
      sent.push({ key, items, at: performance.now() });
      release.push(resolve);
    });
  return { sent, release, send };
}

test('a lone item is sent once the window passes, not before', async () => {
  const r = recorder();
  const g = new GroupCommit(r.send, { windowMs: 30, maxItems: 100 });
  const t0 = performance.now();
  g.add('a', 1);
  await sleep(5);
  assert.equal(r.sent.length, 0, 'still in its window');
  await sleep(60);
  assert.deepEqual(
    r.sent.map((s) => s.items),
    [[1]],
  );
  assert.ok((r.sent[0]?.at ?? 0) - t0 >= 25, 'waited about the window');
});

test('items that arrive while a group is in flight go together as soon as it settles', async () => {
  const r = recorder();
  const g = new GroupCommit(r.send, { windowMs: 1, maxItems: 100 });
  g.add('a', 1);
  await sleep(20);
  assert.equal(r.sent.length, 1);
  for (let i = 2; i <= 5; i++) g.add('a', i);
  await sleep(30);
  assert.equal(r.sent.length, 1, 'nothing more is sent while the first group is in flight');
  r.release[0]?.();
  await sleep(5);
  assert.deepEqual(
    r.sent.map((s) => s.items),
    [[1], [2, 3, 4, 5]],
  );
});

test('a full group goes at once; keys are independent', async () => {
  const r = recorder();
  const g = new GroupCommit(r.send, { windowMs: 10_000, maxItems: 2 });
  g.add('a', 1);
  g.add('b', 7);
  g.add('a', 2);
  assert.deepEqual(
    r.sent.map((s) => [s.key, s.items]),
    [['a', [1, 2]]],
  );
  g.add('b', 8);
  assert.deepEqual(
    r.sent.map((s) => [s.key, s.items]),
    [
      ['a', [1, 2]],
      ['b', [7, 8]],
    ],
  );
});

test('a rejected send still lets the next group go', async () => {
  const sent: number[][] = [];
  let fail = true;
  const g = new GroupCommit(
    async (_k: string, items: number[]) => {
      sent.push(items);
      if (fail) {
        fail = false;
        throw new Error('refused');
      }
    },
    { windowMs: 1, maxItems: 100 },
  );
  g.add('a', 1);
  await sleep(10);
  g.add('a', 2);
  await sleep(10);
  assert.deepEqual(sent, [[1], [2]]);
});

test('a group of a known size goes the moment it is complete, however long its items take to come', async () => {
  const r = recorder();
  const g = new GroupCommit(r.send, { windowMs: 40, maxItems: 100, maxWaitMs: 10_000 });
  g.add('root', 1, 3);
  await sleep(25);
  g.add('root', 2, 3);
  await sleep(25);
  assert.equal(r.sent.length, 0, 'no gap of windowMs yet, and not complete');
  g.add('root', 3, 3);
  assert.deepEqual(
    r.sent.map((s) => s.items),
    [[1, 2, 3]],
    'sent at once when complete',
  );
});

test('a group of a known size that stays incomplete goes after windowMs with no new item', async () => {
  const r = recorder();
  const g = new GroupCommit(r.send, { windowMs: 20, maxItems: 100, maxWaitMs: 10_000 });
  g.add('root', 1, 5);
  g.add('root', 2, 5);
  await sleep(5);
  assert.equal(r.sent.length, 0);
  const deadline = Date.now() + 10_000;
  while (r.sent.length === 0 && Date.now() < deadline) await sleep(5);
  assert.deepEqual(
    r.sent.map((s) => s.items),
    [[1, 2]],
    'waited 10 s for the idle window to send the incomplete group',
  );
});

test('a group of a known size waits at most maxWaitMs in all, even while items keep coming', async () => {
  const r = recorder();
  const g = new GroupCommit(r.send, { windowMs: 30, maxItems: 100, maxWaitMs: 60 });
  const t0 = performance.now();
  let i = 0;
  const deadline = Date.now() + 10_000;
  while (r.sent.length === 0 && Date.now() < deadline) {
    g.add('root', i++, 1_000);
    await sleep(10);
  }
  assert.equal(r.sent.length, 1, 'waited 10 s for maxWaitMs to send the group');
  assert.ok((r.sent[0]?.at ?? 0) - t0 < 1_000, 'sent by maxWaitMs, not by the window');
});

test('a group of a known size is not held back by a group of its key in flight', async () => {
  const r = recorder();
  const g = new GroupCommit(r.send, { windowMs: 10_000, maxItems: 100 });
  g.add('root', 1, 1);
  g.add('root', 2, 1);
  assert.deepEqual(
    r.sent.map((s) => s.items),
    [[1], [2]],
  );
});
