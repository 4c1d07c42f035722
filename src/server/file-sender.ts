import type { promises as fsp } from 'node:fs';
import type { ReplyChannel } from './reply-channel.js';

export interface SendResult {
  /** Bytes of the file sent (fewer than asked if the file shrank). */
  sent: number;
}

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
  try {
    // Plain positioned reads. A FileHandle read stream would close the handle when
    // destroyed, and the caller still needs it (to stat the file after the send).
    while (sent < length && !channel.closed) {
      // One buffer, reused once the socket has let go of it (nothing pending: the write
      // completed), else a fresh one. A fresh buffer per chunk cost page faults and GC:
      // 1 GiB STREAM on loopback went from ratio 0.58 to ≥ 0.9 of the bench's baseline
      // server (docs/BENCHMARKS.md, scenario 1).
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
