import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AudioStreamError } from '../protocol/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with its errors turned into USAGE errors that a person can act on.
 */
export function parseCommandLine<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new AudioStreamError('USAGE', `${message} (see --help)`);
  }
}

export function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 0 || port > 65535) {
    throw new AudioStreamError('USAGE', `port must be a number from 0 to 65535, not "${value}"`);
  }
  return port;
}

export function parseSeconds(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new AudioStreamError('USAGE', `${what} must be a number of seconds, not "${value}"`);
  return n;
}

/** Prints an expected failure as one line and exits; anything else keeps its stack. */
export function exitWithError(program: string, err: unknown): never {
  if (err instanceof AudioStreamError) {
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${program}: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
