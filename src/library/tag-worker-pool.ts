import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AudioTags } from './tag-reader.js';
import type { TagWorkerReply, TagWorkerRequest } from './tag-worker.js';

export interface TagWorkerPoolOptions {
  /** Worker threads (default: one per core but one, at least 1, at most 4; see DEFAULT_TAG_WORKERS). */
  workers?: number;
  /**
   * A file whose tags take longer than this is given up (no tags), and the worker
   * reading it is replaced: a file crafted to make the parser loop costs one thread,
   * never the server (default 10 s).
   */
  timeoutMs?: number;
  /** Workers stop after this long without work, and start again when needed (default 5 s). */
  idleMs?: number;
  /**
   * A worker failed (it could not start, ran out of memory, or gave up on a file): for
   * the log, since the files it was reading just show no tags.
   */
  onWorkerError?: (err: Error) => void;
}

interface Pending {
  resolve: (tags: AudioTags | undefined) => void;
  timer: NodeJS.Timeout;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

const NO_TAGS: AudioTags = {};

/**
 * One core is left to the main thread (which writes every tag to the database and serves
 * the clients) and to whatever else runs. Measured on the 2-core machine, 100,000 files,
 * first start with an empty database, load average 5-8 from other work: one worker 75.2 s
 * wall, 56.9 s CPU, peak RSS 328 MB; two workers 75.1 s wall, 61.9 s CPU, 372 MB (each
 * worker is a V8 isolate with music-metadata in it). docs/BENCHMARKS.md, scenario 11.
 */
export const DEFAULT_TAG_WORKERS = Math.max(1, Math.min(os.availableParallelism() - 1, 4));

/**
 * Reads tags on worker threads, so that a tag pass over a large library uses the other cores
 * and leaves the server's event loop to the clients. Parsing is CPU-bound (music-metadata
 * in JavaScript): on the 2-core bench machine one thread read about 2,200 files per second
 * of a 100,000-file library, below the 3,000 aimed for (docs/BENCHMARKS.md, scenario 7).
 *
 * Workers start on first use (about 0.1 s each) and stop once idle, so a server between
 * tag passes holds none. A worker that fails, runs out of memory (its heap is capped) or
 * exceeds the time limit on a file is replaced; the reads it had in flight resolve with
 * no tags, as any unreadable file does.
 */
export class TagWorkerPool {
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  private readonly onWorkerError: ((err: Error) => void) | undefined;
  private readonly workers: PoolWorker[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closed = false;

  constructor(options: TagWorkerPoolOptions = {}) {
    this.size = Math.max(1, options.workers ?? DEFAULT_TAG_WORKERS);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.idleMs = options.idleMs ?? 5_000;
    this.onWorkerError = options.onWorkerError;
  }

  /**
   * The tags of the file at `relativePath` below `realRoot`: none (`{}`) if it has none,
   * cannot be parsed in time, or the pool is closed; `undefined` if it could not be opened
   * safely (nothing to remember about it).
   */
  read(realRoot: string, relativePath: string): Promise<AudioTags | undefined> {
    if (this.closed) return Promise.resolve(NO_TAGS);
    clearTimeout(this.idleTimer);
    const target = this.leastBusy();
    const id = this.nextId++;
    return new Promise<AudioTags | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.onWorkerError?.(new Error(`gave up reading the tags of ${JSON.stringify(relativePath)} after ${this.timeoutMs / 1000} s`));
        void this.retire(target);
      }, this.timeoutMs);
      timer.unref();
      if (target.pending.size === 0) target.worker.ref();
      target.pending.set(id, { resolve, timer });
      target.worker.postMessage({ id, realRoot, path: relativePath } satisfies TagWorkerRequest);
    });
  }

  /** Stops every worker for good; reads still in flight resolve with no tags. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    await this.stopAll();
  }

  /** Worker threads running now. */
  get running(): number {
    return this.workers.length;
  }

  private stopAll(): Promise<unknown> {
    return Promise.all([...this.workers].map((w) => this.retire(w)));
  }

  private settled(): void {
    if (this.workers.some((w) => w.pending.size > 0)) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.stopAll(), this.idleMs);
    this.idleTimer.unref();
  }

  private leastBusy(): PoolWorker {
    if (this.workers.length < this.size) {
      const idle = this.workers.find((w) => w.pending.size === 0);
      if (idle) return idle;
      return this.spawn();
    }
    return this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private spawn(): PoolWorker {
    // A capped heap: a file that makes the parser allocate without end kills its worker,
    // not the process.
    const worker = new Worker(new URL('./tag-worker.js', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 256 } });
    // An idle worker must not keep the process alive; one with reads in flight does (see
    // read() and settled()), or a process awaiting only tags would exit mid-pass.
    worker.unref();
    const entry: PoolWorker = { worker, pending: new Map() };
    worker.on('message', (reply: TagWorkerReply) => {
      const pending = entry.pending.get(reply.id);
      if (!pending) return;
      entry.pending.delete(reply.id);
      clearTimeout(pending.timer);
      if (entry.pending.size === 0) worker.unref();
      pending.resolve(reply.tags ?? undefined);
      this.settled();
    });
    worker.on('error', (err) => {
      this.onWorkerError?.(err);
      void this.retire(entry);
    });
    worker.on('exit', () => void this.retire(entry));
    this.workers.push(entry);
    return entry;
  }

  /** Takes a worker out of the pool and stops it; its reads in flight get no tags. */
  private async retire(entry: PoolWorker): Promise<void> {
    const at = this.workers.indexOf(entry);
    if (at === -1) return;
    this.workers.splice(at, 1);
    for (const pending of entry.pending.values()) {
      clearTimeout(pending.timer);
      pending.resolve(NO_TAGS);
    }
    entry.pending.clear();
    await entry.worker.terminate();
  }
}
