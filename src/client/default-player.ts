/**
 * The player a client uses unless told otherwise: its own module, so that `as-client --help`
 * can name it without loading the player code.
 */
export const DEFAULT_PLAYER = 'mpv --no-video --no-input-terminal --msg-level=all=error -';
