/**
 * The v2 login lines (docs/PROTOCOL.md, "Login"). SCRAM's messages travel base64-encoded so
 * that any user name is one token and no message can contain CR or LF:
 *
 *   C: AUTH SCRAM-SHA-256 <base64 client-first-message>
 *   S: AUTH-CONTINUE <base64 server-first-message>
 *   C: AUTH-CONTINUE <base64 client-final-message>
 *   S: OK <base64 server-final-message>     or   ERR AUTH_FAILED <message>
 */
import { AudioStreamError } from './errors.js';
import { SCRAM_MAX_MESSAGE, SCRAM_MECHANISM } from './scram.js';

export const AUTH_VERB = 'AUTH';
export const AUTH_CONTINUE_VERB = 'AUTH-CONTINUE';

export type AuthLine = { kind: 'auth'; mechanism: string; message: string } | { kind: 'auth-continue'; message: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A SASL message in base64, decoded, as UTF-8 text; bounded before decoding. */
export function decodeSaslMessage(text: string): string {
  if (text.length === 0 || text.length > Math.ceil(SCRAM_MAX_MESSAGE / 3) * 4 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new AudioStreamError('AUTH_MALFORMED', 'a login message is not base64 of at most 1024 bytes');
  }
  try {
    return utf8.decode(Buffer.from(text, 'base64'));
  } catch {
    throw new AudioStreamError('AUTH_MALFORMED', 'a login message is not valid UTF-8');
  }
}

export function encodeSaslMessage(message: string): string {
  return Buffer.from(message, 'utf8').toString('base64');
}

/**
 * Parses an `AUTH` or `AUTH-CONTINUE` line; undefined for any other line. Throws
 * AUTH_MALFORMED for a login line whose arguments are wrong.
 */
export function parseAuthLine(line: string): AuthLine | undefined {
  const words = line.split(' ');
  if (words[0] === AUTH_VERB) {
    if (words.length !== 3) throw new AudioStreamError('AUTH_MALFORMED', `AUTH takes a mechanism (${SCRAM_MECHANISM}) and a message`);
    return { kind: 'auth', mechanism: words[1]!, message: decodeSaslMessage(words[2]!) };
  }
  if (words[0] === AUTH_CONTINUE_VERB) {
    if (words.length !== 2) throw new AudioStreamError('AUTH_MALFORMED', 'AUTH-CONTINUE takes one message');
    return { kind: 'auth-continue', message: decodeSaslMessage(words[1]!) };
  }
  return undefined;
}

export function formatAuthStart(clientFirst: string): string {
  return `${AUTH_VERB} ${SCRAM_MECHANISM} ${encodeSaslMessage(clientFirst)}`;
}

export function formatAuthContinue(message: string): string {
  return `${AUTH_CONTINUE_VERB} ${encodeSaslMessage(message)}`;
}

/** The server's reply lines to a login step, as the client reads them. */
export type AuthReply = { kind: 'continue'; message: string } | { kind: 'ok'; message: string } | { kind: 'error'; code: string; text: string };

export function parseAuthReply(line: string): AuthReply {
  if (line.startsWith(`${AUTH_CONTINUE_VERB} `)) return { kind: 'continue', message: decodeSaslMessage(line.slice(AUTH_CONTINUE_VERB.length + 1)) };
  if (line.startsWith('OK ')) return { kind: 'ok', message: decodeSaslMessage(line.slice(3)) };
  if (line.startsWith('ERR ')) {
    const body = line.slice(4);
    const space = body.indexOf(' ');
    return space === -1 ? { kind: 'error', code: body, text: '' } : { kind: 'error', code: body.slice(0, space), text: body.slice(space + 1) };
  }
  throw new AudioStreamError('AUTH_MALFORMED', `unexpected answer to a login step: ${JSON.stringify(line.slice(0, 60))}`);
}
