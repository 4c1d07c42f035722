/**
 * A test-only reader for v2 replies, written from docs/PROTOCOL.md and sharing no code with
 * src/protocol (so a bug there cannot hide a bug in what the server sends):
 *
 * - every reply starts with a status line ending CR LF: `OK ...` or `ERR <CODE> <message>`;
 * - a GET's `OK <size> <offset> <length>` is followed by exactly `length` body bytes, then a
 *   trailer line, `DONE <sha256>` or `ERR FILE_CHANGED <message>`;
 * - HELLO is answered with `AS/2 OK <server name>`, and the LIST sent with it is not answered.
 */
import { DEFAULT_WAIT_MS, type RawClient } from '../../support/server-harness.js';
import { requestLine } from '../../support/wire.js';

/** `HELLO AS/2` and the v1 fallback probe `LIST`, in one packet, as a v2 client opens. */
export const HELLO_PACKET: Buffer = Buffer.concat([requestLine('HELLO AS/2'), requestLine('LIST')]);

/** A GET line for `path` (JSON string literal) and optional range words, with CR LF. */
export function getRequest(path: string, ...range: number[]): Buffer {
  return requestLine(['GET', JSON.stringify(path), ...range.map(String)].join(' '));
}

/** One reply as cut from the received bytes. */
export type V2Reply =
  | { kind: 'line'; text: string }
  | { kind: 'get'; size: number; offset: number; length: number; body: Buffer; trailer: string };

/** Reads lines and bodies out of a buffer; `undefined` from any read means "not all there yet". */
export class V2Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  line(): string | undefined {
    const lf = this.buf.indexOf(0x0a, this.pos);
    if (lf === -1) return undefined;
    if (lf === this.pos || this.buf[lf - 1] !== 0x0d) throw new Error(`a reply line without CR LF at byte ${this.pos}`);
    const text = this.buf.toString('utf8', this.pos, lf - 1);
    this.pos = lf + 1;
    return text;
  }

  take(n: number): Buffer | undefined {
    if (this.buf.length - this.pos < n) return undefined;
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return bytes;
  }

  /** A GET reply (or the ERR line that replaced it). */
  getReply(): V2Reply | undefined {
    const status = this.line();
    if (status === undefined) return undefined;
    const m = /^OK (\d+) (\d+) (\d+)$/.exec(status);
    if (!m) return { kind: 'line', text: status };
    const [size, offset, length] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const body = this.take(length);
    if (body === undefined) return undefined;
    const trailer = this.line();
    if (trailer === undefined) return undefined;
    return { kind: 'get', size, offset, length, body, trailer };
  }
}

/**
 * Waits until `client` has received the HELLO answer and then one reply of each kind in
 * `expect` ('line' for a one-line reply, 'get' for a GET reply), and returns those replies
 * (without the HELLO answer). Rejects on close or timeout, showing what arrived.
 */
export async function waitForV2Replies(client: RawClient, expect: readonly ('line' | 'get')[], timeoutMs = DEFAULT_WAIT_MS): Promise<V2Reply[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const parsed = parseV2Replies(client.received, expect);
    if (parsed) return parsed;
    if (client.isClosed || Date.now() > deadline) {
      const shown = JSON.stringify(client.received.subarray(0, 300).toString('latin1'));
      throw new Error(`waiting for ${expect.length} v2 replies: ${client.isClosed ? 'connection closed' : 'timed out'} after ${client.receivedLength} bytes: ${shown}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The replies after the HELLO answer, or undefined if not all have arrived. */
export function parseV2Replies(buf: Buffer, expect: readonly ('line' | 'get')[]): V2Reply[] | undefined {
  const cursor = new V2Cursor(buf);
  const hello = cursor.line();
  if (hello === undefined) return undefined;
  if (!hello.startsWith('AS/2 OK ')) throw new Error(`expected the HELLO answer, got ${JSON.stringify(hello)}`);
  const replies: V2Reply[] = [];
  for (const kind of expect) {
    const reply = kind === 'get' ? cursor.getReply() : lineReply(cursor);
    if (!reply) return undefined;
    replies.push(reply);
  }
  return replies;
}

function lineReply(cursor: V2Cursor): V2Reply | undefined {
  const text = cursor.line();
  return text === undefined ? undefined : { kind: 'line', text };
}

/** The text of a one-line reply; fails the test with what came instead. */
export function lineText(reply: V2Reply | undefined): string {
  if (reply?.kind !== 'line') throw new Error(`expected a one-line reply, got ${JSON.stringify(reply && { ...reply, body: undefined })}`);
  return reply.text;
}

/** A GET reply; fails the test with what came instead. */
export function getReply(reply: V2Reply | undefined): Extract<V2Reply, { kind: 'get' }> {
  if (reply?.kind !== 'get') throw new Error(`expected a GET reply, got ${JSON.stringify(reply)}`);
  return reply;
}
