/**
 * One error class for the whole project, with a stable `code` per kind of failure.
 * Users and tests match on `code`; the message is for people and says what to do.
 * Codes are documented in docs/ERRORS.md.
 */
export type ErrorCode =
  // protocol (either side)
  | 'REQUEST_TOO_LONG'
  | 'LIST_LINE_TOO_LONG'
  | 'LIST_TOO_LONG'
  | 'MALFORMED_LIST'
  | 'BAD_INDEX'
  | 'FILE_TOO_LARGE'
  // connection
  | 'CONNECTION_REFUSED'
  | 'CONNECTION_FAILED'
  | 'CONNECTION_CLOSED'
  | 'TRUNCATED_TRANSFER'
  | 'TIMEOUT'
  | 'PROTOCOL_ERROR'
  | 'NOT_FOUND'
  | 'UNREADABLE'
  | 'BAD_RANGE'
  | 'SERVER_ERROR'
  | 'NEEDS_V2'
  | 'INTEGRITY_MISMATCH'
  // accounts, login and TLS
  | 'AUTH_REQUIRED'
  | 'TLS_REQUIRED'
  | 'AUTH_FAILED'
  | 'AUTH_MALFORMED'
  | 'SERVER_NOT_VERIFIED'
  | 'TLS_FAILED'
  | 'TLS_UNTRUSTED'
  | 'TLS_CHANGED'
  | 'ACCOUNTS_FAILED'
  // files and library
  | 'FILE_VANISHED'
  | 'FILE_CHANGED'
  | 'UNSAFE_PATH'
  | 'LIBRARY_NOT_FOUND'
  | 'WRITE_FAILED'
  | 'DATABASE_UNAVAILABLE'
  // player
  | 'PLAYER_NOT_FOUND'
  | 'PLAYER_FAILED'
  | 'PLAYER_NO_AUDIO'
  | 'PLAYER_UNSUPPORTED'
  | 'PLAYER_IPC'
  | 'SEEK_NOT_BUFFERED'
  | 'NOT_PLAYING'
  // shell
  | 'CANCELLED'
  | 'USAGE';

export class AudioStreamError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AudioStreamError';
    this.code = code;
  }
}

/** True for our own errors, optionally of one code. */
export function isAudioStreamError(err: unknown, code?: ErrorCode): err is AudioStreamError {
  return err instanceof AudioStreamError && (code === undefined || err.code === code);
}
