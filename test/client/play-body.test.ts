import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { playBody, type Player } from '../../src/client/index.js';

/**
 * A stand-in for Player: takes `accept` chunks, then refuses writes as a player whose
 * stdin is gone would, while its 'exit' event has not been seen yet (hasExited false).
 */
function playerGoneBeforeExitEvent(accept: number): { player: Player; taken: Buffer[]; ended: () => boolean } {
  const taken: Buffer[] = [];
  let ended = false;
  const fake = {
    hasExited: false,
    async write(chunk: Buffer): Promise<boolean> {
      if (taken.length >= accept) return false;
      taken.push(chunk);
      return true;
    },
    endInput(): void {
      ended = true;
    },
  };
  // Only the members playBody uses; the rest of Player (a child process) is not needed.
  return { player: fake as unknown as Player, taken, ended: () => ended };
}

describe('playBody', () => {
  test('a player whose input went away counts as quitting early even before its exit event arrives', async () => {
    // Regression: quitEarly required player.hasExited, so when the body finished before
    // the player's 'exit' event was handled, a player that quit after 100 kB of 6 MB was
    // reported as "played" (about one stream in four under load).
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(1000, i));
    const { player, taken, ended } = playerGoneBeforeExitEvent(2);
    const result = await playBody(Readable.from(chunks), player);
    assert.equal(result.quitEarly, true);
    assert.equal(result.fed, 2000);
    assert.equal(taken.length, 2);
    assert.equal(ended(), true, 'the input is ended either way');
  });

  test('a player that takes every byte did not quit early', async () => {
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(1000, i));
    const { player } = playerGoneBeforeExitEvent(Infinity);
    const seen: number[] = [];
    const result = await playBody(Readable.from(chunks), player, (n) => seen.push(n));
    assert.deepEqual(result, { fed: 10_000, quitEarly: false });
    assert.equal(seen.at(-1), 10_000, 'progress reports the bytes received');
  });

  test('an empty body is not an early quit', async () => {
    const { player } = playerGoneBeforeExitEvent(0);
    assert.deepEqual(await playBody(Readable.from([]), player), { fed: 0, quitEarly: false });
  });
});
