import {
  AudioStreamError,
  ScramClient,
  formatAuthContinue,
  formatAuthStart,
  parseAuthReply,
} from '../protocol/index.js';

/** Sends one line to the server and resolves with its one-line answer (without CR LF). */
export type LineExchange = (line: string) => Promise<string>;

export interface LoginCredentials {
  username: string;
  password: string;
}

/**
 * Logs in over v2 with SCRAM-SHA-256 (docs/PROTOCOL.md, "Login"): two round trips after
 * HELLO. Resolves only once the server has also proved that it holds this account's keys;
 * AUTH_FAILED for a wrong name or password, SERVER_NOT_VERIFIED for a server that could not
 * prove itself. The password never leaves this process.
 */
export async function loginWithScram(exchange: LineExchange, credentials: LoginCredentials): Promise<void> {
  const scram = new ScramClient(credentials);
  const first = parseAuthReply(await exchange(formatAuthStart(scram.first())));
  if (first.kind === 'error') throw refusal(first.code, first.text);
  if (first.kind !== 'continue') throw new AudioStreamError('AUTH_MALFORMED', 'the server skipped a login step');
  const final = parseAuthReply(await exchange(formatAuthContinue(scram.final(first.message))));
  if (final.kind === 'error') throw refusal(final.code, final.text);
  if (final.kind !== 'ok') throw new AudioStreamError('AUTH_MALFORMED', 'the server did not finish the login');
  scram.verify(final.message);
}

function refusal(code: string, text: string): AudioStreamError {
  if (code === 'AUTH_FAILED') return new AudioStreamError('AUTH_FAILED', `login failed: ${text || 'wrong user name or password'}`);
  return new AudioStreamError('SERVER_ERROR', `login failed: the server says ${code} ${text}`.trim());
}
