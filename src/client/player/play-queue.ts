import { AudioStreamError } from '../../protocol/index.js';

/**
 * The play queue, with no player in it: what plays now, what comes next, and how `next`,
 * `prev`, repeat and shuffle move through it. The shell keeps one and starts the player
 * for whatever `current` is after each move.
 */

/** As many files as a server may list (LIST_TOO_LONG's bound): a queue of everything fits. */
export const MAX_QUEUE_LENGTH = 1_000_000;

/** `off`: stop after the last; `all`: start over; `one`: the current track again. */
export type RepeatMode = 'off' | 'all' | 'one';

export class PlayQueue<T> {
  private items: T[] = [];
  private at = -1;
  /** The order before shuffle, so that turning shuffle off restores it. */
  private unshuffled: T[] | undefined;
  repeat: RepeatMode = 'off';

  /** Everything queued, in playing order. */
  get entries(): readonly T[] {
    return this.items;
  }

  get length(): number {
    return this.items.length;
  }

  /** The index of what plays now in `entries`, or -1 (empty queue, or played to the end). */
  get position(): number {
    return this.at;
  }

  get current(): T | undefined {
    return this.at >= 0 ? this.items[this.at] : undefined;
  }

  get shuffled(): boolean {
    return this.unshuffled !== undefined;
  }

  /** `play ...`: the queue becomes `items`, playing from `start`. */
  replace(items: readonly T[], start = 0): T | undefined {
    checkLength(items.length);
    this.items = [...items];
    this.unshuffled = undefined;
    this.at = items.length === 0 ? -1 : clampIndex(start, items.length);
    return this.current;
  }

  /** `add ...`: at the end. On an empty or finished queue the first added becomes current. */
  append(items: readonly T[]): T | undefined {
    checkLength(this.items.length + items.length);
    const wasIdle = this.at < 0;
    const firstNew = this.items.length;
    this.items.push(...items);
    this.unshuffled?.push(...items);
    if (wasIdle && items.length > 0) this.at = firstNew;
    return this.current;
  }

  /**
   * The track after this one, following `repeat`: undefined past the end with repeat off
   * (the queue is then finished: current is undefined, and `prev` returns to the last).
   * `fromUser`: the user asked for `next`, so `one` moves on like `all` instead of repeating.
   */
  next(fromUser = false): T | undefined {
    if (this.items.length === 0) return undefined;
    if (this.at < 0) return undefined;
    if (this.repeat === 'one' && !fromUser) return this.current;
    if (this.at + 1 < this.items.length) this.at++;
    else this.at = this.repeat === 'off' ? -1 : 0;
    return this.current;
  }

  /** The track before this one; at the first, the first again (or the last with repeat all). */
  prev(): T | undefined {
    if (this.items.length === 0) return undefined;
    if (this.at < 0) this.at = this.items.length - 1;
    else if (this.at > 0) this.at--;
    else if (this.repeat === 'all') this.at = this.items.length - 1;
    return this.current;
  }

  /** Jumps to `entries[index]`. */
  jump(index: number): T {
    if (!Number.isInteger(index) || index < 0 || index >= this.items.length) {
      throw new AudioStreamError('USAGE', this.items.length === 0 ? 'the queue is empty' : `the queue has entries 1 to ${this.items.length}`);
    }
    this.at = index;
    return this.items[index]!;
  }

  /**
   * Shuffles what is queued; the track playing now stays current and moves to the front,
   * so shuffling never interrupts it. `random` returns [0, 1) (Math.random by default;
   * tests pass a seeded one).
   */
  shuffle(random: () => number = Math.random): void {
    if (!this.unshuffled) this.unshuffled = [...this.items];
    const current = this.current;
    const rest = this.items.filter((_, i) => i !== this.at);
    for (let i = rest.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rest[i], rest[j]] = [rest[j]!, rest[i]!];
    }
    this.items = this.at >= 0 ? [current as T, ...rest] : rest;
    if (this.at >= 0) this.at = 0;
  }

  /** Back to the order before shuffle, still on the same track. */
  unshuffle(): void {
    if (!this.unshuffled) return;
    const current = this.at >= 0 ? this.at : undefined;
    const playing = current !== undefined ? this.items[current] : undefined;
    this.items = this.unshuffled;
    this.unshuffled = undefined;
    if (current !== undefined) this.at = this.items.indexOf(playing as T);
  }

  /** `stop` and forget: nothing queued. */
  clear(): void {
    this.items = [];
    this.unshuffled = undefined;
    this.at = -1;
  }
}

function checkLength(n: number): void {
  if (n > MAX_QUEUE_LENGTH) throw new AudioStreamError('USAGE', `the queue holds at most ${MAX_QUEUE_LENGTH.toLocaleString('en-US')} files`);
}

function clampIndex(i: number, length: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= length) throw new AudioStreamError('USAGE', `the queue has entries 1 to ${length}`);
  return i;
}
