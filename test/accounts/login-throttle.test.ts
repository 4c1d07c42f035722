/** The shared login throttle, on a made-up clock: exponential, bounded, per address and per name. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LoginThrottle, addressKey } from '../../src/accounts/index.js';

describe('LoginThrottle', () => {
  test('each failure doubles the wait, up to the bound; a quiet spell forgets', () => {
    let now = 0;
    const t = new LoginThrottle({ baseDelayMs: 100, maxDelayMs: 1000, forgetAfterMs: 60_000, now: () => now });
    assert.equal(t.delayFor('10.0.0.1', 'ann'), 0);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      t.recordFailure('10.0.0.1', 'ann');
      seen.push(t.delayFor('10.0.0.1', 'ann'));
    }
    assert.deepEqual(seen, [100, 200, 400, 800, 1000, 1000]);
    now += 60_001;
    assert.equal(t.delayFor('10.0.0.1', 'ann'), 0);
  });

  test('per address and per name: another address guessing the same name waits too', () => {
    const t = new LoginThrottle({ baseDelayMs: 100, maxDelayMs: 10_000 });
    for (let i = 0; i < 3; i++) t.recordFailure('10.0.0.1', 'ann');
    assert.equal(t.delayFor('10.0.0.2', 'ann'), 400, 'the name is throttled from anywhere');
    assert.equal(t.delayFor('10.0.0.1', 'bob'), 400, 'the address is throttled for any name');
    assert.equal(t.delayFor('10.0.0.2', 'bob'), 0);
    t.recordSuccess('10.0.0.1', 'ann');
    assert.equal(t.delayFor('10.0.0.2', 'ann'), 0, 'a right password clears the name');
    assert.equal(t.delayFor('10.0.0.1', 'carol'), 400, 'but not the address');
  });

  test('parallel attempts queue up one delay apart instead of all waiting the same delay', () => {
    let now = 0;
    const t = new LoginThrottle({ baseDelayMs: 100, maxDelayMs: 10_000, now: () => now });
    assert.equal(t.reserve('10.0.0.1', 'ann'), 0, 'no failures: no wait');
    assert.equal(t.reserve('10.0.0.1', 'ann'), 0);
    t.recordFailure('10.0.0.1', 'ann');
    t.recordFailure('10.0.0.1', 'ann'); // 200 ms apart from now on
    assert.deepEqual([1, 2, 3, 4].map(() => t.reserve('10.0.0.9', 'ann')), [200, 400, 600, 800], 'the same name from elsewhere queues too');
    now += 1000;
    assert.equal(t.reserve('10.0.0.1', 'bob'), 200, 'the queue has drained: one delay again');
  });

  test('unknown and known names are counted alike, and memory is bounded', () => {
    const t = new LoginThrottle({ baseDelayMs: 100, maxTracked: 100 });
    for (let i = 0; i < 1000; i++) t.recordFailure(`10.0.${i >> 8}.${i & 255}`, `user${i}`);
    assert.equal(t.delayFor('10.0.0.0', 'user0'), 0, 'the oldest entries were dropped');
    assert.equal(t.delayFor('10.0.3.231', 'user999'), 100);
  });

  test('IPv6 addresses count per /64; IPv4-mapped ones as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });
});
