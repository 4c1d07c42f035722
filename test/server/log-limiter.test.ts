import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineBudget, RateLimitedLogger } from '../../src/server/index.js';
import { CapturingLogger } from '../support/server-harness.js';

test('LineBudget: a burst at once, then lines at the rate, never more than the burst saved up', () => {
  let now = 0;
  const budget = new LineBudget({ perSecond: 2, burst: 3 }, () => now);
  assert.deepEqual([1, 2, 3, 4].map(() => budget.take()), [true, true, true, false]);
  now = 499;
  assert.equal(budget.take(), false, 'not yet a whole line earned');
  now = 500;
  assert.equal(budget.take(), true);
  now = 60_000; // a long quiet spell saves up the burst, no more
  assert.deepEqual([1, 2, 3, 4].map(() => budget.take()), [true, true, true, false]);
});

test('RateLimitedLogger: lines past the budget are dropped and counted on the next line written, per level', () => {
  let now = 0;
  const inner = new CapturingLogger();
  const log = new RateLimitedLogger(inner, { perSecond: 1, burst: 2 }, () => now);
  log.info('a');
  log.warn('b');
  for (let i = 0; i < 5; i++) log.info('dropped');
  now = 1_000;
  log.warn('c');
  log.info('d');
  assert.deepEqual(inner.lines, [
    { level: 'info', message: 'a' },
    { level: 'warn', message: 'b' },
    { level: 'warn', message: 'c (5 earlier log lines not written: rate limit)' },
  ]);
  assert.equal(log.takeDropped(), 1, 'd was dropped and is still owed');
  assert.equal(log.takeDropped(), 0);
});
