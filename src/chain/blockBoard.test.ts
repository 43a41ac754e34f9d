import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BlockBoard } from './blockBoard.js';

describe('BlockBoard', () => {
  test('a mark is answered only by a call sent after it, once that call answered', () => {
    const board = new BlockBoard();
    const early = board.stamp(); // sent before the request arrived
    const arrival = board.mark();
    board.publish(early, 10n);
    assert.equal(board.learnedSince(arrival), undefined, 'a call sent before the mark does not count');
    const after = board.stamp();
    assert.equal(board.learnedSince(arrival), undefined, 'not yet answered');
    board.publish(after, 11n);
    assert.equal(board.learnedSince(arrival), 11n);
    assert.equal(board.learnedSince(board.mark()), undefined, 'a later mark needs a later call');
  });

  test('the newest call sent wins, whatever order the answers come in', () => {
    const board = new BlockBoard();
    const arrival = board.mark();
    const first = board.stamp();
    const second = board.stamp();
    board.publish(second, 12n);
    board.publish(first, 11n);
    assert.equal(board.learnedSince(arrival), 12n);
  });
});
