import { promises as fsp } from 'node:fs';
import type { Player } from './player.js';

const READ_CHUNK = 256 * 1024;

/**
 * Feeds a player from a file that is still being written (`stream+`). The download writes
 * the file at full speed; this reader follows behind at the player's pace, so the player
 * never slows the download and memory holds one chunk at a time, whatever the file size.
 */
export class FilePlaybackFeeder {
  private readonly path: string;
  private readonly player: Player;
  private available = 0;
  private complete = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Bytes handed to the player so far. */
  fed = 0;

  constructor(path: string, player: Player) {
    this.path = path;
    this.player = player;
  }

  /** The writer has flushed this many bytes to the file: they may now be read. */
  advance(flushedBytes: number): void {
    this.available = flushedBytes;
    this.poke();
  }

  /** The file is complete: feed the rest, then end the player's input. */
  finish(): void {
    this.complete = true;
    this.poke();
  }

  /** Stop feeding (cancel or failed download); the caller decides what the player does. */
  stop(): void {
    this.stopped = true;
    this.poke();
  }

  /** Resolves when everything is fed, the player has gone, or `stop()` was called. */
  async run(): Promise<void> {
    const file = await fsp.open(this.path, 'r');
    try {
      for (;;) {
        if (this.stopped || this.player.hasExited) return;
        if (this.fed < this.available) {
          // A fresh buffer each time: the pipe keeps a reference until the player reads it.
          const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, this.available - this.fed));
          const { bytesRead } = await file.read(chunk, 0, chunk.length, this.fed);
          if (bytesRead === 0) throw new Error(`the partial file ${this.path} is shorter than what was written to it`);
          this.fed += bytesRead;
          if (!(await this.player.write(chunk.subarray(0, bytesRead)))) return;
        } else if (this.complete) {
          this.player.endInput();
          return;
        } else {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      }
    } finally {
      await file.close();
    }
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
