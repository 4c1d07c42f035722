import fs from 'node:fs';

/** Bytes written between two background flushes. */
export const WRITEBACK_INTERVAL = 32 * 1024 * 1024;

/**
 * Starts the disk writing the file while the transfer is still running, so the
 * fdatasync that makes a finished file durable waits for the last few megabytes only,
 * not for the whole file.
 *
 * Without it every byte sits in the page cache until the end, and that final flush of a
 * 1 GiB file took 250–280 ms here, idle time on top of the transfer. With a background
 * fdatasync every 32 MiB (one at a time, on libuv's thread pool, never waited for by the
 * writer) the final flush took 7–12 ms, and the kernel spent less system time managing
 * dirty pages: a bare reader's 1 GiB save went from 1.20–1.28 s to 0.82 s
 * (docs/BENCHMARKS.md).
 */
export class EarlyWriteback {
  private readonly fd: number;
  private sinceFlush = 0;
  private inFlight: Promise<void> | undefined;
  private failure: unknown;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** `bytes` more have been written to the file (their write has completed). */
  written(bytes: number): void {
    this.sinceFlush += bytes;
    if (this.sinceFlush < WRITEBACK_INTERVAL || this.inFlight || this.failure) return;
    this.sinceFlush = 0;
    this.inFlight = new Promise<void>((resolve) => {
      fs.fdatasync(this.fd, (err) => {
        // Kept for finish(): a disk that fails now would fail the final flush too, and
        // the caller reports it there, as one error, with the file's name.
        if (err) this.failure = err;
        this.inFlight = undefined;
        resolve();
      });
    });
  }

  /**
   * Waits for a background flush still running (the descriptor must stay open until it
   * returns), then flushes the rest. Rejects with the first flush error.
   */
  async finish(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  /** Waits for a background flush still running, ignoring its outcome (before closing on failure). */
  async settle(): Promise<void> {
    await this.inFlight;
  }
}
