import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { HashWorkerReply, HashWorkerRequest } from './hash-worker.js';

/**
 * Hashes a file as it is written. Small files are hashed inline from the chunks as they
 * pass; large ones by a worker thread that reads the file behind the writer, which puts
 * the hashing (about half a second per GiB) on the second core.
 */
export interface GrowingFileHash {
  /** A chunk written at the end of the file (used by the inline variant). */
  update(chunk: Buffer): void;
  /** The file now holds this many flushed bytes (used by the worker variant). */
  advance(flushedBytes: number): void;
  /** The file is complete at `total` bytes: its SHA-256. */
  digest(total: number): Promise<string>;
  /** Stop, for a transfer that failed. */
  abort(): void;
}

/** Below this, a worker's round trips cost more than hashing inline. */
export const WORKER_HASH_THRESHOLD = 8 * 1024 * 1024;

const read = promisify(fs.read);

/**
 * A hash of the file at `path` that already holds `prefix` bytes (a resumed transfer) and
 * will grow to about `expectedTotal`.
 */
export async function hashGrowingFile(path: string, fd: number, prefix: number, expectedTotal: number): Promise<GrowingFileHash> {
  if (expectedTotal >= WORKER_HASH_THRESHOLD) return HashWorkerClient.shared().start(path, prefix);
  const hash = createHash('sha256');
  await hashPrefix(fd, prefix, hash);
  return {
    update: (chunk) => hash.update(chunk),
    advance: () => {},
    digest: async () => hash.digest('hex'),
    abort: () => {},
  };
}

async function hashPrefix(fd: number, length: number, hash: Hash): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(length, 1024 * 1024));
  let pos = 0;
  while (pos < length) {
    const { bytesRead } = await read(fd, buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) throw new Error('the partial file is shorter than expected');
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

/** One worker for the whole process, started on first use and never keeping it alive. */
class HashWorkerClient {
  private static instance: HashWorkerClient | undefined;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (sha: string) => void; reject: (err: Error) => void }>();
  private nextId = 1;

  static shared(): HashWorkerClient {
    HashWorkerClient.instance ??= new HashWorkerClient();
    return HashWorkerClient.instance;
  }

  private constructor() {
    // A small heap: the worker holds one 1 MiB buffer and a hash state, nothing more.
    this.worker = new Worker(new URL('./hash-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8, codeRangeSizeMb: 2, stackSizeMb: 1 } });
    this.worker.on('message', (reply: HashWorkerReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.untrack(reply.id);
      if (reply.type === 'done') waiter.resolve(reply.sha256);
      else waiter.reject(new Error(`hashing failed: ${reply.message}`));
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', () => {
      this.failAll(new Error('the hashing thread stopped'));
      if (HashWorkerClient.instance === this) HashWorkerClient.instance = undefined;
    });
    // Idle, the worker must not keep the process alive (and attaching a 'message' listener
    // refs it): it is ref'd only while a job waits for its digest.
    this.worker.unref();
  }

  private track(id: number, waiter: { resolve: (sha: string) => void; reject: (err: Error) => void }): void {
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(id, waiter);
  }

  private untrack(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  start(path: string, prefix: number): GrowingFileHash {
    const id = this.nextId++;
    const send = (m: HashWorkerRequest): void => this.worker.postMessage(m);
    const done = new Promise<string>((resolve, reject) => this.track(id, { resolve, reject }));
    done.catch(() => {}); // awaited by digest(); an aborted job's result is not wanted
    send({ type: 'start', id, path });
    send({ type: 'advance', id, available: prefix });
    let last = prefix;
    return {
      update: () => {},
      advance: (flushed) => {
        // One message per MiB at most: the worker reads in 1 MiB steps anyway.
        if (flushed - last >= 1024 * 1024) {
          last = flushed;
          send({ type: 'advance', id, available: flushed });
        }
      },
      digest: (total) => {
        send({ type: 'finish', id, total });
        return done;
      },
      abort: () => {
        this.untrack(id);
        send({ type: 'abort', id });
      },
    };
  }

  private failAll(err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
    this.worker.unref();
  }
}
