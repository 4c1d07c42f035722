import { startPlayback, type MpvStartOptions, type Playback } from './mpv-controller.js';

/**
 * Starts players for a queue with one kept ready: mpv takes 60-500 ms to start (more on a
 * busy machine, bench scenario 8), so the next track's player is started while this one
 * plays, and `play`/`next` find it waiting on its stdin. A spare that has died meanwhile is
 * replaced, never handed out. `close()` stops the spare (the shell calls it on exit).
 */
export class PlayerLauncher {
  private spare: Promise<Playback> | undefined;
  private closed = false;

  constructor(
    private readonly argv: readonly string[],
    private readonly options: MpvStartOptions = {},
    /** Keep a spare at all: off for a player whose start has side effects. */
    private readonly keepSpare = true,
  ) {}

  /**
   * A started player for the next track; a new spare is started behind it, unless
   * `spareLater` (the caller then calls prepare() once the track's first bytes are in:
   * spawning a process blocks the event loop for milliseconds, bench 9f).
   */
  async take(spareLater = false): Promise<Playback> {
    if (this.closed) throw new Error('the player launcher is closed');
    const ready = this.spare;
    this.spare = undefined;
    let playback: Playback | undefined;
    if (ready) {
      try {
        const candidate = await ready;
        if (!candidate.player.hasExited) playback = candidate;
      } catch {
        // The spare failed to start; start one now and let that report its own error.
      }
    }
    playback ??= await startPlayback([...this.argv], this.options);
    if (!spareLater) this.prepare();
    return playback;
  }

  /** Starts a spare now if there is none (e.g. when the shell starts, before the first `play`). */
  prepare(): void {
    if (!this.keepSpare || this.closed || this.spare) return;
    const spare = startPlayback([...this.argv], this.options);
    // A spare that cannot start is only reported when it would have been used.
    spare.catch(() => {});
    this.spare = spare;
  }

  /** Stops the spare; resolves once it has exited. */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = undefined;
    if (!spare) return;
    try {
      const p = await spare;
      p.stop();
      await p.ended;
    } catch {
      // never started: nothing to stop
    }
  }
}
