import { AudioStreamError } from '../../protocol/index.js';

/**
 * mpv's JSON IPC as a library with no socket in it (mpv manual, "JSON IPC"): every message
 * is one JSON object on one line ending in `\n`, in both directions. A reply carries the
 * `request_id` of its command and `error` ("success" or a reason); anything with `event` is
 * an event (`end-file`, `property-change` for `observe_property`, `seek`, ...).
 */

/** mpv's longest lines are metadata and `demuxer-cache-state` (about 1 KB); tags come from the file, so cap them. */
export const DEFAULT_MAX_IPC_LINE = 256 * 1024;

export interface MpvReply {
  kind: 'reply';
  requestId: number;
  /** "success", or mpv's reason ("property unavailable", "invalid parameter", ...). */
  error: string;
  data: unknown;
}

export interface MpvEvent {
  kind: 'event';
  event: string;
  /** The whole object as mpv sent it (`name`, `data`, `id`, `reason`, ... depending on the event). */
  fields: Record<string, unknown>;
}

export type MpvMessage = MpvReply | MpvEvent;

/** One command line: `{"command":[...],"request_id":N}\n`. */
export function encodeMpvCommand(requestId: number, args: readonly unknown[]): string {
  if (!Number.isSafeInteger(requestId) || requestId < 0) throw new RangeError(`bad request id ${requestId}`);
  // JSON.stringify escapes control characters and newlines, so a command is always one line.
  return `${JSON.stringify({ command: args, request_id: requestId })}\n`;
}

/**
 * Push parser: `feed(chunk)` returns the complete messages in it and keeps a partial line
 * for the next chunk. Lines are split on bytes, so a UTF-8 character cut between two reads
 * is decoded whole. A line longer than `maxLine` bytes, a line that is not a JSON object, or
 * an object that is neither reply nor event throws PLAYER_IPC: the connection is not to be
 * trusted after that.
 */
export class MpvIpcParser {
  private readonly maxLine: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(options: { maxLine?: number } = {}) {
    this.maxLine = options.maxLine ?? DEFAULT_MAX_IPC_LINE;
  }

  feed(chunk: Buffer | Uint8Array): MpvMessage[] {
    const messages: MpvMessage[] = [];
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        // Check before keeping the bytes, so a line without an end cannot grow memory.
        if (this.pendingBytes + buf.length > this.maxLine) throw lineTooLong(this.maxLine);
        if (buf.length > 0) {
          this.pending.push(buf);
          this.pendingBytes += buf.length;
        }
        return messages;
      }
      if (this.pendingBytes + nl > this.maxLine) throw lineTooLong(this.maxLine);
      const head = buf.subarray(0, nl);
      const line = this.pendingBytes > 0 ? Buffer.concat([...this.pending, head]) : head;
      this.pending = [];
      this.pendingBytes = 0;
      buf = buf.subarray(nl + 1);
      const message = this.parseLine(line);
      if (message) messages.push(message);
    }
  }

  /** True when a partial line is waiting for its end. */
  get hasPartialLine(): boolean {
    return this.pendingBytes > 0;
  }

  private parseLine(bytes: Buffer): MpvMessage | undefined {
    const text = this.decoder.decode(bytes).replace(/\r$/, '');
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new AudioStreamError('PLAYER_IPC', `mpv sent a control line that is not JSON (${bytes.length} bytes)`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new AudioStreamError('PLAYER_IPC', 'mpv sent a control line that is not a JSON object');
    }
    const fields = value as Record<string, unknown>;
    if (typeof fields.event === 'string') return { kind: 'event', event: fields.event, fields };
    const id = fields.request_id;
    if (typeof id === 'number' && Number.isSafeInteger(id) && typeof fields.error === 'string') {
      return { kind: 'reply', requestId: id, error: fields.error, data: fields.data };
    }
    throw new AudioStreamError('PLAYER_IPC', 'mpv sent a control line that is neither a reply nor an event');
  }
}

function lineTooLong(max: number): AudioStreamError {
  return new AudioStreamError('PLAYER_IPC', `mpv sent a control line longer than ${max} bytes`);
}
