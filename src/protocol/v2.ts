/**
 * Protocol v2: an extension negotiated on the same port (docs/PROTOCOL.md).
 *
 * Every v2 request is one text line; every v2 reply starts with one status line:
 *   `OK ...` (what follows depends on the request) or `ERR <CODE> <message>`.
 * Paths travel as JSON string literals, so any name (spaces, quotes, non-ASCII) is one token.
 */
import { AudioStreamError } from './errors.js';

/**
 * A v2 client's first request, alone in its packet: servers of the original design handle
 * one request line per read, so nothing may go with it (docs/PROTOCOL.md, Negotiation).
 * Older clients sent a v1 `LIST` with it as a fallback probe, which a v2 server skips.
 */
export const V2_HELLO = 'HELLO AS/2';
/** The first word of a v2 server's answer to HELLO: `AS/2 OK <server name>`. */
export const V2_HELLO_REPLY = 'AS/2 OK';

/** Stable codes a v2 server sends in `ERR` lines. */
export type V2ErrorCode =
  | 'NOT_FOUND'
  | 'UNREADABLE'
  | 'BAD_RANGE'
  | 'BAD_REQUEST'
  | 'UNKNOWN_REQUEST'
  | 'REQUEST_TOO_LONG'
  | 'FILE_CHANGED'
  | 'AUTH_REQUIRED'
  | 'AUTH_FAILED'
  | 'TLS_REQUIRED';

/** One file in a v2 listing: a JSON object per line. Only `path`, `size` and `mtime` are always there. */
export interface V2Entry {
  path: string;
  size: number;
  /** Modification time, milliseconds since the epoch. */
  mtime: number;
  title?: string;
  artist?: string;
  album?: string;
  track?: number;
  /** Seconds. */
  duration?: number;
  codec?: string;
  sampleRate?: number;
  /** Bits per second. */
  bitrate?: number;
  /** Lowercase hex SHA-256 of the whole file (INFO always has it; LIST2 when cached). */
  sha256?: string;
}

export type V2Request =
  | { kind: 'hello' }
  | { kind: 'list2' }
  | { kind: 'get'; path: string; offset: number; length: number | undefined }
  | { kind: 'info'; path: string };

/** The largest size, offset or length v2 can carry exactly (2^53 - 1, far above any file). */
export const MAX_V2_SIZE = Number.MAX_SAFE_INTEGER;

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

function parseDecimal(text: string, what: string): number {
  if (!DECIMAL.test(text)) throw new AudioStreamError('PROTOCOL_ERROR', `${what} is not a decimal number: ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new AudioStreamError('PROTOCOL_ERROR', `${what} is too large: ${text}`);
  return n;
}

/**
 * Reads a JSON string literal at the start of `text`; returns it and the rest after it.
 * JSON.parse does the unescaping, so there is one definition of the escape rules.
 */
function takeJsonString(text: string): [string, string] {
  if (!text.startsWith('"')) throw new AudioStreamError('PROTOCOL_ERROR', 'a path must be a JSON string in double quotes');
  let i = 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') break;
    else i++;
  }
  if (i >= text.length) throw new AudioStreamError('PROTOCOL_ERROR', 'unterminated path string');
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, i + 1));
  } catch {
    throw new AudioStreamError('PROTOCOL_ERROR', 'the path is not a valid JSON string');
  }
  return [value as string, text.slice(i + 1)];
}

/**
 * Parses one v2 request line. Returns undefined for a line that is not a v2 request at
 * all; throws PROTOCOL_ERROR (reported as `ERR BAD_REQUEST`) for a v2 request whose
 * arguments are wrong.
 */
export function parseV2Request(line: string): V2Request | undefined {
  if (line === V2_HELLO) return { kind: 'hello' };
  if (line === 'LIST2') return { kind: 'list2' };
  const space = line.indexOf(' ');
  const verb = space === -1 ? line : line.slice(0, space);
  if (verb !== 'GET' && verb !== 'INFO') return undefined;
  if (space === -1) throw new AudioStreamError('PROTOCOL_ERROR', `${verb} needs a path`);
  const [path, rest] = takeJsonString(line.slice(space + 1));
  if (verb === 'INFO') {
    if (rest !== '') throw new AudioStreamError('PROTOCOL_ERROR', 'INFO takes only a path');
    return { kind: 'info', path };
  }
  const words = rest === '' ? [] : rest.startsWith(' ') ? rest.slice(1).split(' ') : null;
  if (words === null || words.length > 2) throw new AudioStreamError('PROTOCOL_ERROR', 'GET takes a path, an optional offset and an optional length');
  const offset = words[0] === undefined ? 0 : parseDecimal(words[0], 'offset');
  const length = words[1] === undefined ? undefined : parseDecimal(words[1], 'length');
  return { kind: 'get', path, offset, length };
}

/** The line a client sends for a request (without CR LF). */
export function formatV2Request(request: V2Request): string {
  switch (request.kind) {
    case 'hello':
      return V2_HELLO;
    case 'list2':
      return 'LIST2';
    case 'info':
      return `INFO ${JSON.stringify(request.path)}`;
    case 'get':
      return `GET ${JSON.stringify(request.path)} ${request.offset}${request.length === undefined ? '' : ` ${request.length}`}`;
  }
}

export function encodeV2Line(line: string): Buffer {
  return Buffer.from(`${line}\r\n`, 'utf8');
}

/** `ERR <CODE> <message>`; the message is one line. */
export function formatV2Error(code: V2ErrorCode, message: string): string {
  return `ERR ${code} ${message.replace(/[\r\n]+/g, ' ')}`;
}

/** A parsed status line. */
export type V2Status = { ok: true; rest: string } | { ok: false; code: string; message: string };

export function parseV2Status(line: string): V2Status {
  if (line === 'OK' || line.startsWith('OK ')) return { ok: true, rest: line.slice(3) };
  if (line.startsWith('ERR ')) {
    const body = line.slice(4);
    const space = body.indexOf(' ');
    return space === -1 ? { ok: false, code: body, message: '' } : { ok: false, code: body.slice(0, space), message: body.slice(space + 1) };
  }
  throw new AudioStreamError('PROTOCOL_ERROR', `expected OK or ERR from the server, got ${JSON.stringify(line.slice(0, 60))}`);
}

/** The GET status line's numbers: `OK <size> <offset> <length>`. */
export interface V2GetHeader {
  size: number;
  offset: number;
  length: number;
}

export function formatGetHeader(h: V2GetHeader): string {
  return `OK ${h.size} ${h.offset} ${h.length}`;
}

export function parseGetHeader(rest: string): V2GetHeader {
  const words = rest.split(' ');
  if (words.length !== 3) throw new AudioStreamError('PROTOCOL_ERROR', `malformed GET reply: ${JSON.stringify(rest.slice(0, 60))}`);
  const [size, offset, length] = words.map((w, i) => parseDecimal(w, ['size', 'offset', 'length'][i]!)) as [number, number, number];
  if (offset + length > size) throw new AudioStreamError('PROTOCOL_ERROR', `GET reply range ${offset}+${length} exceeds the size ${size}`);
  return { size, offset, length };
}

/** The line after a GET body: `DONE <sha256 of the whole file>` (or an ERR line). */
export function formatGetTrailer(sha256: string): string {
  return `DONE ${sha256}`;
}

export function parseGetTrailer(line: string): { sha256: string } | { code: string; message: string } {
  const m = /^DONE ([0-9a-f]{64})$/.exec(line);
  if (m) return { sha256: m[1]! };
  const status = parseV2Status(line);
  if (status.ok) throw new AudioStreamError('PROTOCOL_ERROR', 'expected DONE or ERR after the file');
  return { code: status.code, message: status.message };
}

/** Validates a JSON listing line into a V2Entry (a hostile server may send anything). */
export function parseV2Entry(line: string): V2Entry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new AudioStreamError('MALFORMED_LIST', `a listing line is not JSON: ${JSON.stringify(line.slice(0, 60))}`);
  }
  const v = value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || typeof v.path !== 'string' || !isSize(v.size) || !isTime(v.mtime)) {
    throw new AudioStreamError('MALFORMED_LIST', `a listing line lacks path, size or mtime: ${JSON.stringify(line.slice(0, 60))}`);
  }
  const entry: V2Entry = { path: v.path, size: v.size as number, mtime: v.mtime };
  for (const key of ['title', 'artist', 'album', 'codec'] as const) if (typeof v[key] === 'string') entry[key] = v[key] as string;
  for (const key of ['track', 'duration', 'sampleRate', 'bitrate'] as const) if (typeof v[key] === 'number' && Number.isFinite(v[key])) entry[key] = v[key] as number;
  if (typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256)) entry.sha256 = v.sha256;
  return entry;
}

function isSize(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Milliseconds a Date can hold (±8.64e15): JSON's 1e999 is Infinity, and formatting it later threw a RangeError. */
function isTime(x: unknown): x is number {
  return typeof x === 'number' && Math.abs(x) <= 8.64e15;
}
