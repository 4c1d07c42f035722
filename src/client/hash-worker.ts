/**
 * Worker thread: hashes files that are still being written, so that verifying a large
 * transfer uses the second core instead of the thread that moves the bytes. The main
 * thread says how far the file has been flushed; the worker reads up to there (from the
 * page cache) and, once told the file is complete, answers with the SHA-256.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export type HashWorkerRequest =
  | { type: 'start'; id: number; path: string }
  | { type: 'advance'; id: number; available: number }
  | { type: 'finish'; id: number; total: number }
  | { type: 'abort'; id: number };

export type HashWorkerReply = { type: 'done'; id: number; sha256: string } | { type: 'error'; id: number; message: string };

interface Job {
  fd: number;
  hash: Hash;
  position: number;
  available: number;
  total: number | undefined;
}

const READ_CHUNK = 256 * 1024;
const jobs = new Map<number, Job>();
const buffer = Buffer.allocUnsafe(READ_CHUNK);

function post(reply: HashWorkerReply): void {
  parentPort!.postMessage(reply);
}

function drop(id: number): void {
  const job = jobs.get(id);
  if (job) closeSync(job.fd);
  jobs.delete(id);
}

function pump(id: number): void {
  const job = jobs.get(id);
  if (!job) return;
  while (job.position < job.available) {
    const n = readSync(job.fd, buffer, 0, Math.min(READ_CHUNK, job.available - job.position), job.position);
    if (n === 0) throw new Error('the file is shorter than what was written to it');
    job.hash.update(buffer.subarray(0, n));
    job.position += n;
  }
  if (job.total !== undefined && job.position === job.total) {
    post({ type: 'done', id, sha256: job.hash.digest('hex') });
    drop(id);
  }
}

parentPort?.on('message', (message: HashWorkerRequest) => {
  try {
    switch (message.type) {
      case 'start':
        jobs.set(message.id, { fd: openSync(message.path, 'r'), hash: createHash('sha256'), position: 0, available: 0, total: undefined });
        return;
      case 'advance': {
        const job = jobs.get(message.id);
        if (job) job.available = Math.max(job.available, message.available);
        return pump(message.id);
      }
      case 'finish': {
        const job = jobs.get(message.id);
        if (job) job.available = job.total = message.total;
        return pump(message.id);
      }
      case 'abort':
        return drop(message.id);
    }
  } catch (err) {
    post({ type: 'error', id: message.id, message: (err as Error).message });
    drop(message.id);
  }
});
