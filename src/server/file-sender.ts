import type { promises as fsp } from 'node:fs';
import type { ReplyChannel } from './reply-channel.js';

export interface SendResult {
  /** Bytes of the file sent (fewer than asked if the file shrank). */
  sent: number;
}

/** The smallest read worth a round trip through the thread pool (unless the caller asks for less). */
const MIN_CHUNK_SIZE = 64 * 1024;

/**
 * Sends `length` bytes of an open file from `start`, honouring backpressure, and calls
 * `onChunk` with each chunk (for hashing on the way; the chunk's memory is reused after
 * the call returns, so `onChunk` must not keep it). Stops early if the peer goes or the
 * file ends sooner than expected; the caller decides what a short send means.
 */
export async function sendFileRange(
  channel: ReplyChannel,
  file: fsp.FileHandle,
  start: number,
  length: number,
  chunkSize: number,
  onChunk?: (chunk: Buffer) => void,
): Promise<SendResult> {
  let sent = 0;
  let first = true;
  let buffer: Buffer | undefined;
  // Big reads pay off on long transfers only; reading a short file in ~16 chunks keeps many
  // concurrent transfers light (1000 clients × 4 MiB, server peak RSS: 0.36-0.44 GB with
  // 256 KiB reads, 0.51-0.69 GB with 512 KiB, 1.1 GB with 1 MiB; 0.34-0.46 GB with this cap).
  // docs/BENCHMARKS.md, scenario 2.
  chunkSize = Math.min(chunkSize, Math.max(MIN_CHUNK_SIZE, Math.ceil(length / 16)));
  try {
    // Plain positioned reads. A FileHandle read stream would close the handle when
    // destroyed, and the caller still needs it (to stat the file after the send).
    while (sent < length && !channel.closed) {
      // One buffer, reused once the socket has let go of it (nothing pending: the write
      // completed), else a fresh one. A fresh buffer per chunk cost page faults and GC:
      // 1 GiB STREAM at 256 KiB, server CPU per GiB 330 → 250-290 ms (baseline 210 ms),
      // throughput 0.58 → ~1.0 of the bench's baseline server; docs/BENCHMARKS.md.
      if (!buffer || channel.pendingBytes > 0) buffer = Buffer.allocUnsafe(Math.min(chunkSize, length - sent));
      const chunk = buffer.length <= length - sent ? buffer : buffer.subarray(0, length - sent);
      const { bytesRead } = await file.read(chunk, 0, chunk.length, start + sent);
      if (bytesRead === 0) break; // the file is shorter than it was
      const bytes = bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
      onChunk?.(bytes);
      await channel.write(bytes);
      if (first) {
        channel.uncork();
        first = false;
      }
      sent += bytesRead;
    }
  } finally {
    if (first) channel.uncork();
  }
  return { sent };
}
