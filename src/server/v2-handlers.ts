import { createHash } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { promises as fsp, Stats } from 'node:fs';
import { listingRecord, sha256OfOpenFile, type Library, type LibraryEntry } from '../library/index.js';
import {
  AudioStreamError,
  V2_HELLO_REPLY,
  encodeV2Line,
  formatGetHeader,
  formatGetTrailer,
  formatV2Error,
  type V2Entry,
  type V2ErrorCode,
  type V2Request,
} from '../protocol/index.js';
import { sendFileRange } from './file-sender.js';
import type { ReplyChannel } from './reply-channel.js';

export const SERVER_NAME = 'audiostream/0.1';

export interface V2Context {
  library: Library;
  channel: ReplyChannel;
  readChunkSize: number;
}

/** What a handler reports for the request log line. */
export interface V2Outcome {
  summary: string;
  bytes: number;
}

/** Answers one v2 request. Errors the client should see become `ERR` lines; the connection stays usable. */
export async function answerV2(request: V2Request, ctx: V2Context): Promise<V2Outcome> {
  switch (request.kind) {
    case 'hello':
      await ctx.channel.write(encodeV2Line(`${V2_HELLO_REPLY} ${SERVER_NAME}`));
      return { summary: 'HELLO (protocol v2)', bytes: 0 };
    case 'list2':
      return answerList2(ctx);
    case 'info':
      return answerInfo(request.path, ctx);
    case 'get':
      return answerGet(request.path, request.offset, request.length, ctx);
  }
}

export async function sendV2Error(channel: ReplyChannel, code: V2ErrorCode, message: string): Promise<V2Outcome> {
  await channel.write(encodeV2Line(formatV2Error(code, message)));
  return { summary: `ERR ${code} ${message}`, bytes: 0 };
}

/** The listing record of one file: path, size, time, and tags and hash when known. */
export function describeEntry(library: Library, entry: LibraryEntry): V2Entry {
  for (const [record] of library.records([entry])) return record!;
  throw new Error('unreachable: one record per entry');
}

async function answerList2(ctx: V2Context): Promise<V2Outcome> {
  const { library, channel } = ctx;
  const index = library.current; // one snapshot for the whole reply
  const entries = index.files; // packed: no object per file is made for a listing
  await channel.write(encodeV2Line(`OK ${entries.length}`));
  let bytes = 0;
  // Lines come encoded a thousand at a time: from the reply kept for this snapshot, or from
  // the library database (and then kept), never from a copy of every record in memory.
  for (const buf of library.listingReply(entries, () => channel.pendingBytes === 0)) {
    if (channel.closed) break;
    bytes += buf.length;
    await channel.write(buf);
    // A large listing is built in batches with the event loop let in between: other
    // clients, a vanished peer's 'close' and SIGTERM are seen while it is built.
    await setImmediate();
  }
  return { summary: `LIST2 ${entries.length} files`, bytes };
}

async function answerInfo(path: string, ctx: V2Context): Promise<V2Outcome> {
  const entry = ctx.library.current.byPath(path);
  if (!entry) return sendV2Error(ctx.channel, 'NOT_FOUND', `no file ${JSON.stringify(path)} in the library`);
  let described;
  try {
    // Hash and tags of the file as it is now, under one stat (not the snapshot's).
    described = await ctx.library.describeNow(entry);
  } catch (err) {
    const e = err as AudioStreamError;
    return sendV2Error(ctx.channel, e.code === 'UNREADABLE' ? 'UNREADABLE' : 'NOT_FOUND', e.message);
  }
  const record = listingRecord(described.identity, described.tags);
  record.sha256 = described.sha256;
  await ctx.channel.write(encodeV2Line(`OK ${JSON.stringify(record)}`));
  return { summary: `INFO ${JSON.stringify(path)}`, bytes: 0 };
}

async function answerGet(path: string, offset: number, requestedLength: number | undefined, ctx: V2Context): Promise<V2Outcome> {
  const { library, channel } = ctx;
  const entry = library.current.byPath(path);
  if (!entry) return sendV2Error(channel, 'NOT_FOUND', `no file ${JSON.stringify(path)} in the library`);
  let file: fsp.FileHandle;
  let before: Stats;
  try {
    ({ handle: file, stat: before } = await library.openFile(entry));
  } catch (err) {
    const e = err as AudioStreamError;
    return sendV2Error(channel, e.code === 'FILE_VANISHED' ? 'NOT_FOUND' : e.code === 'UNSAFE_PATH' ? 'NOT_FOUND' : 'UNREADABLE', e.message);
  }
  try {
    const size = before.size;
    if (offset > size) return await sendV2Error(channel, 'BAD_RANGE', `offset ${offset} is past the end of ${JSON.stringify(path)} (${size} bytes)`);
    // Like HTTP ranges, a length past the end is cut to what there is.
    const length = Math.min(requestedLength ?? size - offset, size - offset);
    // The file as it is now, not as the scan saw it: the hash must describe these bytes.
    const now: LibraryEntry = { ...entry, size, mtimeMs: before.mtimeMs, ctimeMs: before.ctimeMs, ino: before.ino, dev: before.dev };
    const cached = library.hashes.get(now);
    const hashAsWeGo = !cached && offset === 0 && length === size ? createHash('sha256') : undefined;

    channel.cork();
    await channel.write(encodeV2Line(formatGetHeader({ size, offset, length })));
    const { sent } = await sendFileRange(channel, file, offset, length, ctx.readChunkSize, hashAsWeGo && ((c) => hashAsWeGo.update(c)));
    if (channel.closed) return { summary: `GET ${JSON.stringify(path)} cut off by the client after ${sent} bytes`, bytes: sent };

    const after = await file.stat();
    if (sent < length) {
      // The file shrank: keep the framing (pad to the announced length), then say so.
      await padWithZeros(channel, length - sent);
      return sendV2Error(channel, 'FILE_CHANGED', `${JSON.stringify(path)} shrank during the transfer; try again`);
    }
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      return sendV2Error(channel, 'FILE_CHANGED', `${JSON.stringify(path)} changed during the transfer; try again`);
    }
    let sha256: string;
    if (cached) sha256 = cached;
    else if (hashAsWeGo) {
      sha256 = hashAsWeGo.digest('hex');
      library.hashes.set(now, sha256);
    } else sha256 = await library.hashes.obtain(now, () => sha256OfOpenFile(file));
    await channel.write(encodeV2Line(formatGetTrailer(sha256)));
    return { summary: `GET ${JSON.stringify(path)} ${offset}+${length} of ${size}`, bytes: sent };
  } finally {
    await file.close().catch(() => {});
  }
}

async function padWithZeros(channel: ReplyChannel, count: number): Promise<void> {
  const zeros = Buffer.alloc(Math.min(count, 64 * 1024));
  while (count > 0 && !channel.closed) {
    const n = Math.min(count, zeros.length);
    await channel.write(n === zeros.length ? zeros : zeros.subarray(0, n));
    count -= n;
  }
}
