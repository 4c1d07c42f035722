import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_QUEUE_LENGTH, PlayQueue } from '../../src/client/player/play-queue.js';
import { isAudioStreamError } from '../../src/protocol/index.js';

/** A seeded [0, 1) generator, so a shuffle is the same every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('PlayQueue', () => {
  test('empty: nothing current, next and prev give nothing', () => {
    const q = new PlayQueue<string>();
    assert.equal(q.current, undefined);
    assert.equal(q.position, -1);
    assert.equal(q.next(), undefined);
    assert.equal(q.prev(), undefined);
  });

  test('replace starts at the first (or a given) entry; next walks to the end, then the queue is finished', () => {
    const q = new PlayQueue<string>();
    assert.equal(q.replace(['a', 'b', 'c']), 'a');
    assert.equal(q.position, 0);
    assert.equal(q.next(), 'b');
    assert.equal(q.next(), 'c');
    assert.equal(q.next(), undefined);
    assert.equal(q.position, -1);
    assert.equal(q.next(), undefined, 'stays finished');
    assert.equal(q.prev(), 'c', 'prev after the end returns to the last');
    assert.equal(q.replace(['x', 'y'], 1), 'y');
    assert.throws(() => q.replace(['x'], 3), (err: unknown) => isAudioStreamError(err, 'USAGE'));
  });

  test('prev stops at the first; with repeat all it wraps to the last', () => {
    const q = new PlayQueue<string>();
    q.replace(['a', 'b', 'c'], 1);
    assert.equal(q.prev(), 'a');
    assert.equal(q.prev(), 'a');
    q.repeat = 'all';
    assert.equal(q.prev(), 'c');
  });

  test('repeat all wraps next to the first; repeat one repeats unless the user asks for next', () => {
    const q = new PlayQueue<string>();
    q.replace(['a', 'b']);
    q.repeat = 'all';
    assert.deepEqual([q.next(), q.next(), q.next()], ['b', 'a', 'b']);
    q.repeat = 'one';
    assert.deepEqual([q.next(), q.next()], ['b', 'b'], 'the track ended: play it again');
    assert.equal(q.next(true), 'a', 'the user typed next: move on');
  });

  test('append adds at the end; on an empty or finished queue the first added becomes current', () => {
    const q = new PlayQueue<string>();
    assert.equal(q.append(['a']), 'a');
    assert.equal(q.append(['b', 'c']), 'a', 'appending keeps what plays');
    assert.deepEqual(q.entries, ['a', 'b', 'c']);
    q.next();
    q.next();
    q.next();
    assert.equal(q.current, undefined);
    assert.equal(q.append(['d']), 'd', 'a finished queue goes on with what was added');
    assert.equal(q.position, 3);
  });

  test('jump goes to an entry; out of range is a USAGE error naming the range', () => {
    const q = new PlayQueue<string>();
    q.replace(['a', 'b', 'c']);
    assert.equal(q.jump(2), 'c');
    assert.throws(() => q.jump(3), (err: unknown) => isAudioStreamError(err, 'USAGE') && /1 to 3/.test((err as Error).message));
    assert.throws(() => new PlayQueue().jump(0), (err: unknown) => isAudioStreamError(err, 'USAGE') && /empty/.test((err as Error).message));
  });

  test('shuffle keeps the playing track current and first, and loses nothing; unshuffle restores the order on the same track', () => {
    const q = new PlayQueue<number>();
    const items = Array.from({ length: 20 }, (_, i) => i);
    q.replace(items, 7);
    q.shuffle(seeded(42));
    assert.equal(q.current, 7);
    assert.equal(q.position, 0);
    assert.deepEqual([...q.entries].sort((a, b) => a - b), items);
    assert.notDeepEqual(q.entries, [7, ...items.filter((i) => i !== 7)], 'the order changed');
    assert.equal(q.shuffled, true);
    q.next();
    const playing = q.current;
    q.append([99]);
    q.unshuffle();
    assert.equal(q.shuffled, false);
    assert.deepEqual(q.entries, [...items, 99]);
    assert.equal(q.current, playing);
  });

  test('the same seed shuffles the same way', () => {
    const a = new PlayQueue<number>();
    const b = new PlayQueue<number>();
    a.replace([1, 2, 3, 4, 5, 6]);
    b.replace([1, 2, 3, 4, 5, 6]);
    a.shuffle(seeded(7));
    b.shuffle(seeded(7));
    assert.deepEqual(a.entries, b.entries);
  });

  test('the queue is bounded', () => {
    const q = new PlayQueue<number>();
    q.replace(new Array<number>(MAX_QUEUE_LENGTH).fill(0));
    assert.throws(() => q.append([1]), (err: unknown) => isAudioStreamError(err, 'USAGE') && /at most 1,000,000/.test((err as Error).message));
    assert.equal(q.length, MAX_QUEUE_LENGTH, 'a refused append added nothing');
  });

  test('any sequence of moves keeps the position inside the queue or at -1 (property)', () => {
    const op = fc.oneof(
      fc.constant('next' as const),
      fc.constant('nextUser' as const),
      fc.constant('prev' as const),
      fc.constant('shuffle' as const),
      fc.constant('unshuffle' as const),
      fc.integer({ min: 0, max: 3 }).map((n) => ({ append: n })),
      fc.constantFrom('off', 'all', 'one').map((r) => ({ repeat: r as 'off' | 'all' | 'one' })),
    );
    fc.assert(
      fc.property(fc.array(fc.nat(5)), fc.array(op, { maxLength: 40 }), (initial, ops) => {
        const q = new PlayQueue<number>();
        q.replace(initial);
        let count = initial.length;
        for (const o of ops) {
          if (o === 'next') q.next();
          else if (o === 'nextUser') q.next(true);
          else if (o === 'prev') q.prev();
          else if (o === 'shuffle') q.shuffle(seeded(1));
          else if (o === 'unshuffle') q.unshuffle();
          else if ('append' in o) {
            q.append(new Array<number>(o.append).fill(9));
            count += o.append;
          } else q.repeat = o.repeat;
          assert.equal(q.length, count);
          assert.ok(q.position === -1 || (q.position >= 0 && q.position < q.length));
          assert.equal(q.current, q.position >= 0 ? q.entries[q.position] : undefined);
        }
      }),
      { numRuns: 300 },
    );
  });
});
