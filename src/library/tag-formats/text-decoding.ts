/**
 * Text decoding exactly as music-metadata does it (its Util.decodeString over
 * @borewit/text-codec), for the encodings the fast path accepts; anything where the two
 * could differ (odd-length UTF-16, a big-endian byte-order mark) is "not sure".
 */
import { NOT_SURE, type NotSure } from './byte-source.js';

export type TextEncoding = 'latin1' | 'utf8' | 'utf-16le' | 'utf-16be';

const utf8 = new TextDecoder('utf-8');
const utf16le = new TextDecoder('utf-16le');

export function decodeText(bytes: Uint8Array, encoding: TextEncoding): string | NotSure {
  // music-metadata drops a leading FF FE whatever the encoding, again and again.
  let start = 0;
  while (bytes[start] === 0xff && bytes[start + 1] === 0xfe) start += 2;
  if (start > bytes.length) return NOT_SURE;
  const b = bytes.subarray(start);
  switch (encoding) {
    case 'latin1':
      return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
    case 'utf8':
      return utf8.decode(b);
    case 'utf-16le':
      if (b.length % 2 !== 0 || (b[0] === 0xfe && b[1] === 0xff)) return NOT_SURE;
      return utf16le.decode(b);
    case 'utf-16be':
      if (b.length % 2 !== 0) return NOT_SURE;
      return utf16le.decode(Buffer.from(b).swap16());
  }
}
