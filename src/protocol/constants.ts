/** Wire facts of protocol v1 and the default limits applied to them. */

export const DEFAULT_PORT = 3456;

/** Every request and list line ends with CR LF. */
export const CRLF = Buffer.from('\r\n', 'latin1');

export const LIST_COMMAND = 'LIST';
export const STREAM_COMMAND = 'STREAM';

/** STREAM's index and the reply's size are both 32-bit unsigned big-endian. */
export const UINT32_BYTES = 4;
export const MAX_V1_SIZE = 0xffff_ffff;
export const MAX_V1_INDEX = 0xffff_ffff;

/**
 * A request line longer than this is refused. v1 requests are a few bytes and a v2 GET carries a path (PATH_MAX is 4096);
 * the limit exists so that a peer cannot make us buffer without end.
 */
export const DEFAULT_MAX_REQUEST_LINE = 8192;

/** A list line holds an index, a colon and a relative path (PATH_MAX is 4096 on Linux). */
export const DEFAULT_MAX_LIST_LINE = 8192;

/**
 * The longest line a v2 client accepts from a server: a LIST2 record or an INFO reply,
 * which carry tags as well as a path. Tags have no length of their own (a 9,000-character
 * title made a record of 12 kB, over the v1 list line's 8192, and failed the whole
 * listing), so the limit is sized for real tags with a wide margin, and still bounds what
 * one line may make the client hold. The listing's total (maxListBytes) caps the sum.
 */
export const MAX_V2_LINE = 1024 * 1024;

/** The most entries a client accepts in one listing. */
export const DEFAULT_MAX_LIST_ENTRIES = 1_000_000;
