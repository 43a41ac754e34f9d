import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimiter } from './rateLimiter.js';
import { type AuthFailureCounts, UnauthenticatedCounter } from './unauthenticatedCounter.js';

describe('RateLimiter', () => {
  test('limit per key per window, Retry-After to the window end, bounded memory', () => {
    let now = 0;
    const limit = new RateLimiter(3, 60_000, () => now, 10);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => limit.take('a')),
      [0, 0, 0, 60, 60],
    );
    assert.equal(limit.take('b'), 0, 'another key is not affected');
    now = 59_500;
    assert.equal(limit.take('a'), 1);
    now = 60_000;
    assert.equal(limit.take('a'), 0, 'a new window');
    for (let i = 0; i < 100; i++) limit.hit(`k${i}`);
    assert.ok(limit.size <= 10, `holds ${limit.size}`);
  });
});

describe('UnauthenticatedCounter', () => {
  test('after `limit` failures a minute a client must wait; others are not affected', () => {
    let now = 1_000_000;
    const c = new UnauthenticatedCounter({ limit: 20, now: () => now });
    for (let i = 0; i < 19; i++) c.fail('10.0.0.1');
    assert.equal(c.retryAfter('10.0.0.1'), 0);
    c.fail('10.0.0.1');
    assert.equal(c.retryAfter('10.0.0.1'), 60);
    assert.equal(c.retryAfter('10.0.0.2'), 0);
    now += 30_000;
    assert.equal(c.retryAfter('10.0.0.1'), 30);
    now += 30_000;
    assert.equal(c.retryAfter('10.0.0.1'), 0);
  });

  test('summaries: at most one per interval, only when there is something new, kept when the write fails', async () => {
    let now = 0;
    const c = new UnauthenticatedCounter({ summaryIntervalMs: 60_000, now: () => now });
    const written: AuthFailureCounts[] = [];
    const write = async (counts: AuthFailureCounts) => {
      written.push(counts);
    };
    assert.equal(await c.summarize(write), false, 'nothing to say');
    for (let i = 0; i < 150; i++) c.fail(`10.0.0.${i % 3}`);
    c.refused('10.0.0.1');
    assert.equal(await c.summarize(write), true);
    c.fail('10.0.0.1');
    now = 59_999;
    assert.equal(await c.summarize(write), false, 'within the interval');
    now = 60_000;
    const failing = async () => {
      throw new Error('log unavailable');
    };
    assert.equal(await c.summarize(failing), false);
    now = 120_000;
    c.fail('10.0.0.1');
    assert.equal(await c.summarize(write), true);
    c.fail('10.0.0.1');
    assert.equal(await c.summarize(write, true), true, 'forced (at shutdown)');
    assert.deepEqual(written, [
      { failures: 150, refused: 1 },
      { failures: 2, refused: 0 },
      { failures: 1, refused: 0 },
    ]);
  });

  test('the admin snapshot: totals, what is not yet in the log, and the noisiest clients', async () => {
    let now = 5000;
    const c = new UnauthenticatedCounter({ limit: 4, now: () => now });
    for (let i = 0; i < 4; i++) c.fail('10.0.0.1');
    c.fail('10.0.0.2');
    c.refused('10.0.0.1');
    await c.summarize(async () => {});
    c.fail('10.0.0.2');
    now += 1000;
    const s = c.snapshot();
    assert.deepEqual(s, {
      limit: 4,
      windowSeconds: 60,
      since: 5000,
      total: { failures: 6, refused: 1 },
      unsummarized: { failures: 1, refused: 0 },
      lastSummaryAt: 5000,
      clients: [
        { client: '10.0.0.1', failures: 4, retryAfter: 59 },
        { client: '10.0.0.2', failures: 2, retryAfter: 0 },
      ],
    });
  });
});
