import type { Track } from './api.js';

export type RepeatMode = 'off' | 'all' | 'one';

/**
 * The play queue, the one place the player's state lives: the tracks, which one is current,
 * shuffle and repeat. The audio element is driven from it (player.ts), never the reverse.
 */
export class PlayQueue {
  tracks: Track[] = [];
  /** Position in `order` of the current track, or -1. */
  private position = -1;
  /** Indexes into `tracks` in play order (shuffled or not). */
  private order: number[] = [];
  shuffle = false;
  repeat: RepeatMode = 'off';
  private readonly listeners: (() => void)[] = [];

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  get current(): Track | undefined {
    const i = this.order[this.position];
    return i === undefined ? undefined : this.tracks[i];
  }

  /** Replaces the queue with `tracks` and makes `start` current. */
  play(tracks: Track[], start: number): void {
    this.tracks = tracks.slice();
    this.order = tracks.map((_, i) => i);
    if (this.shuffle) this.shuffleOrder(start);
    this.position = this.order.indexOf(start);
    this.changed();
  }

  /** Moves on; false at the end of the queue with repeat off. */
  next(fromEnded = false): boolean {
    if (this.order.length === 0) return false;
    if (fromEnded && this.repeat === 'one') {
      this.changed();
      return true;
    }
    if (this.position + 1 < this.order.length) this.position++;
    else if (this.repeat !== 'off') this.position = 0;
    else return false;
    this.changed();
    return true;
  }

  previous(): boolean {
    if (this.order.length === 0) return false;
    if (this.position > 0) this.position--;
    else if (this.repeat !== 'off') this.position = this.order.length - 1;
    else return false;
    this.changed();
    return true;
  }

  /** Jumps to `tracks[index]`. */
  select(index: number): void {
    const at = this.order.indexOf(index);
    if (at !== -1) this.position = at;
    this.changed();
  }

  toggleShuffle(): void {
    this.shuffle = !this.shuffle;
    const current = this.order[this.position];
    if (this.shuffle) this.shuffleOrder(current ?? 0);
    else this.order = this.tracks.map((_, i) => i);
    this.position = current === undefined ? -1 : this.order.indexOf(current);
    this.changed();
  }

  cycleRepeat(): void {
    this.repeat = this.repeat === 'off' ? 'all' : this.repeat === 'all' ? 'one' : 'off';
    this.changed();
  }

  /** The current track first, the rest in random order (Fisher-Yates). */
  private shuffleOrder(first: number): void {
    const rest = this.tracks.map((_, i) => i).filter((i) => i !== first);
    for (let i = rest.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [rest[i], rest[j]] = [rest[j]!, rest[i]!];
    }
    this.order = this.tracks.length > 0 ? [first, ...rest] : [];
  }
}
