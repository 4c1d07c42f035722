import type { Stats, promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { create as contentDisposition } from 'content-disposition';
import fresh from 'fresh';
import parseRange from 'range-parser';

/** An opened file to answer with, and what is known about its content. */
export interface FileToSend {
  /** Open for reading; the responder closes it. */
  file: fsp.FileHandle;
  /** The file's stat, taken from the open handle (not from the path). */
  stat: Stats;
  /** For Content-Disposition: the file's name. */
  name: string;
  contentType: string;
  /** The content's SHA-256 (hex), when known for exactly this stat: makes the ETag strong. */
  sha256?: string;
  /** Answer with Content-Disposition: attachment (a download rather than playback). */
  download?: boolean;
}

/**
 * Read sizes of the body. A response starts with 64 KiB reads; after each RATE_WINDOW_MS of
 * writes it reads 1 MiB at a time if the client took the bytes at FAST_CLIENT_BYTES_PER_SECOND
 * or more in that window, else 64 KiB again. A fast download so moves in large reads (fewer
 * trips through the thread pool and the socket: server CPU per GiB 930-1,070 → ~500 ms, bench
 * 12b), while a slow client, or a browser whose media buffer is full, reads in small ones. At
 * most two buffers are held (one being written, one being read into), so a client that stalls
 * pins at most 2 × MAX_READ_CHUNK, 2 × 64 KiB if it was slow already. The window (not each
 * write) is measured because a slow client reads in bursts: one write can complete at once
 * after the client drained its socket, without the client being fast.
 */
export const MIN_READ_CHUNK = 64 * 1024;
export const MAX_READ_CHUNK = 1024 * 1024;
const FAST_CLIENT_BYTES_PER_SECOND = 32 * 1024 * 1024;
const RATE_WINDOW_MS = 50;

/**
 * The validator of a file: strong from its SHA-256 (two files with the same hash are the same
 * bytes), otherwise weak from size and modification time (RFC 9110 8.8.1: a weak validator
 * may not be used for ranges, which is exactly right for one that two contents could share).
 */
export function entityTag(stat: Stats, sha256?: string): string {
  if (sha256) return `"sha256-${sha256}"`;
  return `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
}

/**
 * Answers a GET or HEAD for a whole file with HTTP's file semantics, as nginx does for static
 * files: validators (ETag, Last-Modified), conditional requests (If-Match and
 * If-Unmodified-Since → 412; If-None-Match and If-Modified-Since → 304), one byte range
 * (206 with Content-Range; 416 with Content-Range "bytes *\/SIZE" when it lies past the end; If-Range
 * honoured with a strong comparison), HEAD without a body. Several ranges are answered with
 * the whole file (allowed by RFC 9110 14.2, and what `send` does). The body is streamed from
 * the open handle with backpressure: a client that stops reading stops the reads.
 *
 * Why not `send` itself: it opens and stats the file by path, and every file here must be
 * opened through the library's one checked open (symbolic links, O_NOFOLLOW, regular files
 * only). The parsing that servers get wrong is still done by the libraries `send` uses,
 * `range-parser` and `fresh`.
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, toSend: FileToSend): Promise<void> {
  const { file, stat } = toSend;
  let handedOver = false;
  try {
    const size = stat.size;
    const etag = entityTag(stat, toSend.sha256);
    const lastModified = new Date(Math.floor(stat.mtimeMs / 1000) * 1000).toUTCString();
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    // Private: the library may need a login; revalidated each time (a cheap 304) because
    // the file can change under the same URL.
    res.setHeader('Cache-Control', 'private, no-cache');
    res.setHeader('Content-Type', toSend.contentType);
    if (toSend.download) res.setHeader('Content-Disposition', contentDisposition(toSend.name, { type: 'attachment' }));

    if (preconditionFailed(req, etag, stat)) {
      finishEmpty(req, res, 412);
      return;
    }
    if (fresh(req.headers, { etag, 'last-modified': lastModified })) {
      // RFC 9110 15.4.5: a 304 carries the validators, not the body's headers.
      res.removeHeader('Content-Type');
      res.removeHeader('Content-Disposition');
      finishEmpty(req, res, 304);
      return;
    }

    let start = 0;
    let end = size - 1;
    res.statusCode = 200;
    const rangeHeader = req.headers.range;
    if (rangeHeader !== undefined && rangeApplies(req, etag, lastModified)) {
      const ranges = parseRange(size, rangeHeader, { combine: true });
      if (ranges === -1) {
        res.setHeader('Content-Range', `bytes */${size}`);
        res.removeHeader('Content-Disposition');
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        const body = `range not satisfiable: the file has ${size} bytes\n`;
        res.setHeader('Content-Length', Buffer.byteLength(body));
        res.statusCode = 416;
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      // -2 (malformed) or not "bytes": ignored, as RFC 9110 14.2 says; several: whole file.
      if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
        start = ranges[0]!.start;
        end = ranges[0]!.end;
        res.statusCode = 206;
        res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
      }
    }
    const length = size === 0 ? 0 : end - start + 1;
    res.setHeader('Content-Length', length);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    handedOver = true;
    await streamBody(res, file, start, length);
  } finally {
    if (!handedOver) await file.close().catch(() => {});
  }
}

/**
 * Streams `start`..`end` of the file into the response: positioned reads into at most two
 * buffers, each reused once its write has completed (the socket let go of it), the next read
 * overlapping the previous write. A fresh buffer per chunk (what a read stream does) cost
 * page faults and GC. A file that shrank since its stat ends the body early, and the
 * connection is then cut, so the client sees a short body rather than a response that never
 * ends. The handle is closed on every outcome.
 */
async function streamBody(res: ServerResponse, file: fsp.FileHandle, start: number, length: number): Promise<void> {
  const gone = new Promise<'gone'>((resolve) => res.once('close', () => resolve('gone')));
  let sent = 0;
  let chunkSize = MIN_READ_CHUNK;
  let windowStart = performance.now();
  let windowBytes = 0;
  const written = (chunk: Buffer, bytes: number): void => {
    spare.push(chunk);
    windowBytes += bytes;
    const now = performance.now();
    if (now - windowStart < RATE_WINDOW_MS) return;
    const fast = (windowBytes * 1000) / (now - windowStart) >= FAST_CLIENT_BYTES_PER_SECOND;
    chunkSize = fast ? MAX_READ_CHUNK : MIN_READ_CHUNK;
    windowStart = now;
    windowBytes = 0;
  };
  const spare: Buffer[] = [];
  let previous: Promise<unknown> | undefined;
  try {
    while (sent < length) {
      const want = Math.min(chunkSize, length - sent);
      let buffer = spare.pop();
      if (!buffer || buffer.length < want || buffer.length > chunkSize) buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await file.read(buffer, 0, want, start + sent);
      if (bytesRead === 0) break; // the file is shorter than it was
      // The previous chunk must be in the socket before this one goes, so that at most two
      // buffers are out at once.
      if (previous && (await Promise.race([previous, gone])) === 'gone') break;
      if (res.destroyed) break;
      const chunk = buffer;
      previous = new Promise<void>((resolve) => {
        res.write(chunk.subarray(0, bytesRead), (err) => {
          if (!err) written(chunk, bytesRead);
          resolve();
        });
      });
      sent += bytesRead;
    }
    if (sent === length && !res.destroyed) {
      res.end();
      return;
    }
  } catch {
    // The read failed: the connection is cut.
  } finally {
    await file.close().catch(() => {});
  }
  res.destroy();
}

function finishEmpty(req: IncomingMessage, res: ServerResponse, status: number): void {
  void req;
  res.statusCode = status;
  res.removeHeader('Content-Length');
  res.end();
}

/** If-Match / If-Unmodified-Since (RFC 9110 13.1.1, 13.1.4): strong comparison for If-Match. */
function preconditionFailed(req: IncomingMessage, etag: string, stat: Stats): boolean {
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined) {
    if (ifMatch.trim() === '*') return false;
    return !(isStrong(etag) && listOfTags(ifMatch).includes(etag));
  }
  const ifUnmodifiedSince = req.headers['if-unmodified-since'];
  if (ifUnmodifiedSince !== undefined) {
    const since = Date.parse(ifUnmodifiedSince);
    if (!Number.isNaN(since)) return Math.floor(stat.mtimeMs / 1000) * 1000 > since;
  }
  return false;
}

/**
 * If-Range (RFC 9110 13.1.5): the range is served only if the client's copy is this one. An
 * entity tag must match strongly (a weak one never does); a date must equal Last-Modified.
 * Otherwise the whole file is sent with 200.
 */
function rangeApplies(req: IncomingMessage, etag: string, lastModified: string): boolean {
  const ifRange = req.headers['if-range'];
  if (ifRange === undefined) return true;
  const value = String(ifRange).trim();
  if (value.startsWith('"') || value.startsWith('W/')) return isStrong(etag) && value === etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && date === Date.parse(lastModified);
}

function isStrong(etag: string): boolean {
  return !etag.startsWith('W/');
}

function listOfTags(header: string): string[] {
  return header.split(',').map((t) => t.trim()).filter(Boolean);
}
