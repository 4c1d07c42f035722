import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AudioTags } from './tag-reader.js';
import type { TagWorkerData, TagWorkerReply, TagWorkerRequest } from './tag-batch-server.js';
import { keepHoldAcrossStart } from './young-generation.js';

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
   * the log, since the file it was reading just shows no tags.
   */
  onWorkerError?: (err: Error) => void;
  /** The worker's script (default tag-worker.js); tests put a misbehaving double here. */
  workerUrl?: URL;
}

/** One file's read, queued or in a batch sent to a worker. */
interface Job {
  realRoot: string;
  path: string;
  resolve: (tags: AudioTags | undefined) => void;
}

interface Batch {
  id: number;
  jobs: Job[];
}

interface PoolWorker {
  worker: Worker;
  /** How many files the worker has started reading (it counts them; see tag-worker.ts). */
  progress: Int32Array;
  /** Batches sent and not yet answered, in the order sent, which is the order they are read. */
  batches: Batch[];
  /** Files of the batches answered so far: `progress` minus this is the file in hand. */
  answered: number;
  /** The watchdog: the progress last seen, and when it last moved. */
  seen: number;
  movedAt: number;
  watchdog: NodeJS.Timeout | undefined;
}

const NO_TAGS: AudioTags = {};

/**
 * Files per message to a worker. One message per file each way cost about a sixth of a
 * worker's time on a first start (CPU profile, docs/BENCHMARKS.md scenario 11); 64 makes
 * that negligible while a batch still takes only some 30-60 ms to read.
 */
export const TAG_BATCH_FILES = 64;
/**
 * Batches sent to a worker before the first is answered: the next is already there when it
 * finishes one, so it never waits for the main thread. With the fast tag path a batch takes
 * only 2-4 ms, while the main thread's write of 500 files' tags takes about 8: eight keep
 * the worker busy through it (two left it idle a quarter of a first start's tag pass).
 */
const BATCHES_PER_WORKER = 8;
/** The most files a pool holds in its workers at once. */
export const TAG_FILES_IN_FLIGHT_PER_WORKER = TAG_BATCH_FILES * BATCHES_PER_WORKER;

/**
 * The tag worker's heap cap. Its reads are capped at 8 MiB a file (sync-file-tokenizer.ts)
 * and the buffers they fill live outside the heap; what the heap holds is music-metadata's
 * objects for one file at a time and a batch's results. The cap also bounds how much
 * garbage the worker may gather before its collector runs, which was most of a first
 * start's peak RSS with the 256 MB cap before (docs/BENCHMARKS.md, scenario 11).
 */
export const TAG_WORKER_HEAP_MB = 64;

/**
 * The tag worker's young generation. A parse's objects die with its file, so a small one
 * is enough; left to V8, it grew with the pass and was about 35 MB of a first start's peak
 * RSS (100,000 files: 213 MB → 177-180 MB with 2-4 MB). Its price is collections: in CPU
 * profiles of a first start the worker's GC took 3.95 s with 4 MB, 2.64 s with 8 MB and
 * 1.23 s with 16 MB (peak RSS 167, 174, 180 MB), some 27 µs a file with this parser, less
 * with one that allocates less (docs/BENCHMARKS.md, scenario 11).
 */
export const TAG_WORKER_YOUNG_MB = 4;

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
 * exceeds the time limit on a file is replaced; the file it was reading resolves with no
 * tags, as any unreadable file does, and the rest of its batches are read by another.
 */
export class TagWorkerPool {
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  private readonly onWorkerError: ((err: Error) => void) | undefined;
  private readonly workerUrl: URL;
  private readonly workers: PoolWorker[] = [];
  /** Reads not yet sent to a worker, oldest first. */
  private queue: Job[] = [];
  private pumpScheduled = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closed = false;

  constructor(options: TagWorkerPoolOptions = {}) {
    this.size = Math.max(1, options.workers ?? DEFAULT_TAG_WORKERS);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.idleMs = options.idleMs ?? 5_000;
    this.onWorkerError = options.onWorkerError;
    this.workerUrl = options.workerUrl ?? new URL('./tag-worker.js', import.meta.url);
  }

  /**
   * The tags of the file at `relativePath` below `realRoot`: none (`{}`) if it has none,
   * cannot be parsed in time, or the pool is closed; `undefined` if it could not be opened
   * safely (nothing to remember about it). Reads asked for in the same turn of the event
   * loop go to the workers in batches (TAG_BATCH_FILES).
   */
  read(realRoot: string, relativePath: string): Promise<AudioTags | undefined> {
    if (this.closed) return Promise.resolve(NO_TAGS);
    clearTimeout(this.idleTimer);
    return new Promise<AudioTags | undefined>((resolve) => {
      this.queue.push({ realRoot, path: relativePath, resolve });
      this.schedulePump();
    });
  }

  /**
   * The tags of each of `relativePaths` below `realRoot`, in their order, as `read` gives
   * them one by one, with one promise for the lot: a tag pass asks for files a batch at a
   * time, and a promise and a closure chain per file were garbage that lived long enough (a
   * batch's round trip) to be promoted, growing the main thread's heap by some 80 MB over
   * a first pass of 100,000 files (docs/BENCHMARKS.md, scenario 11).
   */
  readMany(realRoot: string, relativePaths: readonly string[]): Promise<(AudioTags | undefined)[]> {
    const out: (AudioTags | undefined)[] = new Array(relativePaths.length);
    if (this.closed || relativePaths.length === 0) return Promise.resolve(out.fill(NO_TAGS));
    clearTimeout(this.idleTimer);
    return new Promise((resolve) => {
      let left = relativePaths.length;
      relativePaths.forEach((path, i) => {
        this.queue.push({
          realRoot,
          path,
          resolve: (tags) => {
            out[i] = tags;
            if (--left === 0) resolve(out);
          },
        });
      });
      this.schedulePump();
    });
  }

  /** Stops every worker for good; reads still queued or in flight resolve with no tags. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const queued = this.queue;
    this.queue = [];
    for (const job of queued) job.resolve(NO_TAGS);
    await this.stopAll();
  }

  /**
   * Stops the workers now if none has work (as the idle timer would later): after a long
   * tag pass, whose end is known, their heaps (some 10 MB each) need not wait for it.
   */
  stopIfIdle(): void {
    if (this.queue.length > 0 || this.workers.some((w) => w.batches.length > 0)) return;
    clearTimeout(this.idleTimer);
    void this.stopAll();
  }

  /** Batches sent to workers so far (for tests and the benchmark). */
  batchesSent = 0;

  /** Worker threads running now. */
  get running(): number {
    return this.workers.length;
  }

  private stopAll(): Promise<unknown> {
    return Promise.all([...this.workers].map((w) => this.retire(w)));
  }

  private settled(): void {
    if (this.queue.length > 0 || this.workers.some((w) => w.batches.length > 0)) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.stopAll(), this.idleMs);
    this.idleTimer.unref();
  }

  /**
   * Sends queued reads once the current turn is over: the reads a tag pass asks for as a
   * batch comes back arrive over many microtasks, and should go out together.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0) {
      const target = this.workerWithRoom();
      if (!target) return;
      // Spread a short queue over the workers rather than giving it all to the first.
      const share = Math.ceil(this.queue.length / this.size);
      const realRoot = this.queue[0]!.realRoot;
      let n = 0;
      while (n < Math.min(TAG_BATCH_FILES, Math.max(1, share)) && n < this.queue.length && this.queue[n]!.realRoot === realRoot) n++;
      this.send(target, { id: this.nextId++, jobs: this.queue.splice(0, n) });
    }
  }

  /** An idle worker, else a new one while there is room for it, else the least busy with room for a batch. */
  private workerWithRoom(): PoolWorker | undefined {
    const idle = this.workers.find((w) => w.batches.length === 0);
    if (idle) return idle;
    if (this.workers.length < this.size) return this.spawn();
    let best: PoolWorker | undefined;
    for (const w of this.workers) if (w.batches.length < BATCHES_PER_WORKER && (!best || w.batches.length < best.batches.length)) best = w;
    return best;
  }

  private send(entry: PoolWorker, batch: Batch): void {
    if (entry.batches.length === 0) {
      entry.worker.ref();
      // The watchdog counts from now: the time the worker sat idle is not a file's.
      entry.seen = Atomics.load(entry.progress, 0);
      entry.movedAt = performance.now();
      this.startWatchdog(entry);
    }
    entry.batches.push(batch);
    this.batchesSent++;
    entry.worker.postMessage({ id: batch.id, realRoot: batch.jobs[0]!.realRoot, paths: batch.jobs.map((j) => j.path) } satisfies TagWorkerRequest);
  }

  /**
   * A file whose read has not moved on for `timeoutMs` is given up: the worker is replaced,
   * that file gets no tags, and the other files of its batches are read again by another.
   * Progress is polled (a quarter of the limit, at most every 250 ms) rather than timed per
   * file, since the worker sends no message per file.
   */
  private startWatchdog(entry: PoolWorker): void {
    if (entry.watchdog) return;
    const everyMs = Math.max(1, Math.min(250, Math.floor(this.timeoutMs / 4)));
    entry.watchdog = setInterval(() => {
      const started = Atomics.load(entry.progress, 0);
      const now = performance.now();
      if (started !== entry.seen) {
        entry.seen = started;
        entry.movedAt = now;
      } else if (now - entry.movedAt >= this.timeoutMs) {
        const job = this.fileInHand(entry);
        this.onWorkerError?.(new Error(`gave up reading the tags of ${JSON.stringify(job?.path ?? '')} after ${this.timeoutMs / 1000} s`));
        void this.fail(entry);
      }
    }, everyMs);
    entry.watchdog.unref();
  }

  /**
   * The file the worker is reading: the progress counter says how many it started, and the
   * batches say in which order (none started yet, as while it starts up: the first sent).
   */
  private fileInHand(entry: PoolWorker): Job | undefined {
    let at = Math.max(0, Atomics.load(entry.progress, 0) - entry.answered - 1);
    for (const batch of entry.batches) {
      if (at < batch.jobs.length) return batch.jobs[at];
      at -= batch.jobs.length;
    }
    return entry.batches[0]?.jobs[0];
  }

  private spawn(): PoolWorker {
    const progress = new SharedArrayBuffer(4);
    // A capped heap: a file that makes the parser allocate without end kills its worker,
    // not the process.
    const worker = new Worker(this.workerUrl, {
      workerData: { progress } satisfies TagWorkerData,
      resourceLimits: { maxOldGenerationSizeMb: TAG_WORKER_HEAP_MB, maxYoungGenerationSizeMb: TAG_WORKER_YOUNG_MB },
    });
    keepHoldAcrossStart(worker);
    // An idle worker must not keep the process alive; one with reads in flight does (see
    // send() and the reply handler), or a process awaiting only tags would exit mid-pass.
    worker.unref();
    const entry: PoolWorker = { worker, progress: new Int32Array(progress), batches: [], answered: 0, seen: 0, movedAt: 0, watchdog: undefined };
    worker.on('message', (reply: TagWorkerReply) => {
      const batch = entry.batches[0];
      if (!batch || batch.id !== reply.id) return;
      entry.batches.shift();
      entry.answered += batch.jobs.length;
      if (entry.batches.length === 0) {
        worker.unref();
        clearInterval(entry.watchdog);
        entry.watchdog = undefined;
      }
      for (const [i, job] of batch.jobs.entries()) job.resolve(reply.tags[i] ?? undefined);
      this.pump();
      this.settled();
    });
    worker.on('error', (err) => {
      this.onWorkerError?.(err);
      void this.fail(entry);
    });
    worker.on('exit', () => void this.fail(entry));
    this.workers.push(entry);
    return entry;
  }

  /**
   * A worker hung or died: the file it was reading gets no tags (it may be what killed it),
   * the other files of its batches go back to the front of the queue for another worker.
   * Each failure settles at least one file, so a file that kills every worker cannot loop.
   */
  private async fail(entry: PoolWorker): Promise<void> {
    if (!this.workers.includes(entry)) return;
    const culprit = this.fileInHand(entry);
    const others = entry.batches.flatMap((b) => b.jobs).filter((j) => j !== culprit);
    entry.batches = [];
    culprit?.resolve(NO_TAGS);
    if (this.closed) for (const job of others) job.resolve(NO_TAGS);
    else this.queue.unshift(...others);
    const stopped = this.retire(entry);
    if (this.queue.length > 0) this.schedulePump();
    else this.settled();
    await stopped;
  }

  /** Takes a worker out of the pool and stops it; its reads in flight get no tags. */
  private async retire(entry: PoolWorker): Promise<void> {
    const at = this.workers.indexOf(entry);
    if (at === -1) return;
    this.workers.splice(at, 1);
    clearInterval(entry.watchdog);
    entry.watchdog = undefined;
    for (const batch of entry.batches) for (const job of batch.jobs) job.resolve(NO_TAGS);
    entry.batches = [];
    await entry.worker.terminate();
  }
}
