import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LoginThrottle, PAIR_POLICY, waitAfter } from './loginThrottle.js';

/** A throttle on a clock the test moves. */
function throttleAt(start = 1_000_000, opts: ConstructorParameters<typeof LoginThrottle>[0] = {}) {
  const clock = { t: start };
  const throttle = new LoginThrottle({ ...opts, now: () => clock.t });
  /** One failed attempt (admitted, then wrong credentials); the wait in seconds when refused. */
  const fail = (account: string, client: string): number => {
    const a = throttle.admit(account, client);
    return a.admitted ? 0 : a.retryAfter;
  };
  const succeed = (account: string, client: string): boolean => {
    const a = throttle.admit(account, client);
    if (a.admitted) a.succeeded();
    return a.admitted;
  };
  return { clock, throttle, fail, succeed };
}

describe('sign-in throttle', () => {
  test('5 failures, then waits of 1 s, 2 s, 4 s ... while failures go on, capped at 15 min', () => {
    const { clock, fail } = throttleAt();
    for (let i = 0; i < 5; i++)
      assert.equal(fail('user:nurse', '10.0.0.1'), 0, `failure ${i + 1} is admitted`);
    const waits: number[] = [];
    for (let i = 0; i < 14; i++) {
      const wait = fail('user:nurse', '10.0.0.1');
      assert.ok(wait > 0, 'refused while waiting');
      waits.push(wait);
      clock.t += wait * 1000 - 1;
      assert.ok(fail('user:nurse', '10.0.0.1') > 0, 'still refused 1 ms before the wait ends');
      clock.t += 1;
      assert.equal(fail('user:nurse', '10.0.0.1'), 0, 'admitted when the wait is over (and it fails again)');
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]);
  });

  test('the wait is the same under the retry as the Retry-After says, and shrinks as time passes', () => {
    const { clock, fail } = throttleAt();
    for (let i = 0; i < 8; i++) fail('user:a', '10.0.0.1');
    // 5 free, then 1 s, 2 s, 4 s: but without waiting, the 6th-8th attempts were refused, not counted.
    assert.equal(fail('user:a', '10.0.0.1'), 1);
    clock.t += 400;
    assert.equal(fail('user:a', '10.0.0.1'), 1, 'rounded up to whole seconds');
  });

  test('strangers failing on an account from other addresses do not lock its owner out', () => {
    const { fail, succeed } = throttleAt();
    assert.equal(succeed('user:victim', '192.168.1.5'), true, 'the owner signed in here before');
    // 60 strangers, each until throttled: far more failures than the account's allowance of 100.
    let failures = 0;
    for (let s = 0; s < 60; s++) {
      let admitted = 0;
      while (fail('user:victim', `10.0.${s}.1`) === 0) admitted++;
      assert.ok(admitted <= 5, 'each stranger is throttled after at most 5 failures at its address');
      failures += admitted;
    }
    assert.ok(failures >= 100, `${failures} failures on the account`);
    assert.equal(succeed('user:victim', '192.168.1.5'), true, 'the owner still signs in from their address');
    // A new address is slowed by the account-wide allowance, with a wait, never a hard lock.
    const wait = fail('user:victim', '172.16.0.9');
    assert.ok(wait > 0 && wait <= PAIR_POLICY.maxWaitMs / 1000, `waits ${wait} s`);
  });

  test('a success clears only its (account, address) key', () => {
    const { fail, succeed } = throttleAt();
    // An attacker at 10.0.0.66 fails on two accounts, then signs in to its own account.
    for (let i = 0; i < 4; i++) fail('user:victim', '10.0.0.66');
    for (let i = 0; i < 15; i++) fail(`user:u${i}`, '10.0.0.66');
    assert.equal(succeed('user:attacker', '10.0.0.66'), true);
    assert.equal(fail('user:victim', '10.0.0.66'), 0, "the victim's 5th failure here");
    assert.ok(fail('user:victim', '10.0.0.66') > 0, 'the success did not reset the count on the victim');
    // 4 + 15 + 1 = 20 failures from this address: its own allowance is spent, whatever the account.
    assert.ok(fail('user:someone-new', '10.0.0.66') > 0, 'the success did not reset the address either');
    // Elsewhere nothing changed.
    assert.equal(fail('user:victim', '10.0.0.77'), 0);
    // The owner's failures before a success are cleared by it.
    for (let i = 0; i < 4; i++) fail('user:owner', '10.0.0.9');
    assert.equal(succeed('user:owner', '10.0.0.9'), true);
    for (let i = 0; i < 5; i++) assert.equal(fail('user:owner', '10.0.0.9'), 0, 'a fresh allowance');
  });

  test('successes do not use up an address: many users behind one address sign in all day', () => {
    const { clock, fail, succeed } = throttleAt();
    for (let i = 0; i < 500; i++) {
      assert.equal(succeed(`user:u${i % 50}`, '10.1.1.1'), true, `sign-in ${i}`);
      clock.t += 1000;
    }
    assert.equal(fail('user:u1', '10.1.1.1'), 0);
  });

  test('attempts are counted before the outcome is known: parallel guesses cannot slip past', () => {
    const { throttle } = throttleAt();
    const pending = Array.from({ length: 20 }, () => throttle.admit('user:nurse', '10.0.0.1'));
    assert.equal(pending.filter((a) => a.admitted).length, 5);
  });

  test('the first refusal after a failure is marked, repeats are not', () => {
    const { clock, throttle, fail } = throttleAt();
    for (let i = 0; i < 5; i++) fail('user:a', '10.0.0.1');
    const first = throttle.admit('user:a', '10.0.0.1');
    const second = throttle.admit('user:a', '10.0.0.1');
    assert.deepEqual([first.admitted, second.admitted], [false, false]);
    assert.equal(!first.admitted && first.firstRefusal, true);
    assert.equal(!second.admitted && second.firstRefusal, false);
    clock.t += 1000;
    fail('user:a', '10.0.0.1');
    const third = throttle.admit('user:a', '10.0.0.1');
    assert.equal(!third.admitted && third.firstRefusal, true, 'after another failure');
  });

  test('failures are forgotten after a quiet hour; memory stays bounded', () => {
    const { clock, throttle, fail } = throttleAt(0, { maxKeys: 100 });
    for (let i = 0; i < 5; i++) fail('user:a', '10.0.0.1');
    assert.ok(fail('user:a', '10.0.0.1') > 0);
    clock.t += 3_600_001;
    assert.equal(fail('user:a', '10.0.0.1'), 0, 'forgotten');
    for (let i = 0; i < 1000; i++) fail(`user:n${i}`, `10.2.${i >> 8}.${i & 255}`);
    assert.ok(throttle.size <= 101, `holds ${throttle.size} keys`);
  });

  test('waitAfter: none within the allowance, then doubling to the cap', () => {
    const p = { free: 3, firstWaitMs: 10, maxWaitMs: 50, forgetMs: 1000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 1000].map((n) => waitAfter(n, p)),
      [0, 0, 0, 10, 20, 40, 50, 50],
    );
  });
});
