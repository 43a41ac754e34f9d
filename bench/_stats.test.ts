/** The benches' order statistics: an even count's median is the mean of its middle two. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, quantile } from './_stats.js';

test('median: the middle of an odd count, the mean of the middle two of an even one, order-free', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([151.4, 124.1]), 137.75);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

test('quantile: nearest rank from below, the largest at the top', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(quantile(xs, 0.5), 51);
  assert.equal(quantile(xs, 0.99), 100);
  assert.equal(quantile(xs, 1), 100);
  assert.equal(quantile(xs, 0), 1);
});
