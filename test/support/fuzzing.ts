import fc from 'fast-check';
import { AudioStreamError } from '../../src/protocol/index.js';
import { splitAt } from './wire.js';

/** Helpers for property-based tests of the parsers. */

/** What a parser call came to: a value, or an AudioStreamError's code. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string };

/** Runs `fn`; an AudioStreamError becomes an outcome, anything else fails the property. */
export function outcome<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (!(err instanceof AudioStreamError)) throw new Error(`threw a non-AudioStreamError: ${String(err)}`, { cause: err });
    return { ok: false, code: err.code };
  }
}

/** Bytes plus up to 16 cut points inside them: the same stream, split anywhere. */
export function withSplits(bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<{ bytes: Buffer; chunks: Buffer[] }> {
  return fc.tuple(bytes, fc.array(fc.nat(), { maxLength: 16 })).map(([buf, cuts]) => ({
    bytes: buf,
    chunks: splitAt(
      buf,
      cuts.map((c) => c % (buf.length + 1)),
    ),
  }));
}
