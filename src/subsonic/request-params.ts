import type { IncomingMessage } from 'node:http';
import { SubsonicError, SubsonicErrorCode } from './responses.js';

/** Most bytes of a `formPost` body (the longest real one is a playlist update of a few hundred ids). */
export const MAX_FORM_BODY = 64 * 1024;
/** Most parameters in one request, query and body together. */
export const MAX_PARAMETERS = 1000;

/**
 * The parameters of a Subsonic request: the query string, then (the `formPost` extension)
 * an `application/x-www-form-urlencoded` body. Values of a repeated name are kept in order
 * (`id=1&id=2`).
 */
export class SubsonicParams {
  private readonly values: URLSearchParams;

  constructor(values: URLSearchParams) {
    this.values = values;
  }

  get(name: string): string | undefined {
    return this.values.get(name) ?? undefined;
  }

  all(name: string): string[] {
    return this.values.getAll(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** @throws SubsonicError 10 when the parameter is absent or empty. */
  required(name: string): string {
    const value = this.values.get(name);
    if (value === null || value === '') throw new SubsonicError(SubsonicErrorCode.MISSING_PARAMETER, `required parameter is missing: ${name}`);
    return value;
  }

  /** A whole number in [min, max], `fallback` when absent. @throws SubsonicError 0 when not a number. */
  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.values.get(name);
    if (text === null || text === '') return fallback;
    if (!/^-?\d{1,15}$/.test(text)) throw new SubsonicError(SubsonicErrorCode.GENERIC, `parameter ${name} must be a whole number`);
    return Math.min(max, Math.max(min, Number(text)));
  }
}

/** Reads the parameters of a GET (query) or POST (query and form body). */
export async function readSubsonicParams(req: IncomingMessage, query: URLSearchParams): Promise<SubsonicParams> {
  const values = new URLSearchParams(query);
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/x-www-form-urlencoded') {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > MAX_FORM_BODY) throw new SubsonicError(SubsonicErrorCode.GENERIC, `a form body may be at most ${MAX_FORM_BODY} bytes`);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_FORM_BODY) throw new SubsonicError(SubsonicErrorCode.GENERIC, `a form body may be at most ${MAX_FORM_BODY} bytes`);
        chunks.push(chunk);
      }
      for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) values.append(key, value);
    }
  }
  let count = 0;
  for (const _ of values.keys()) if (++count > MAX_PARAMETERS) throw new SubsonicError(SubsonicErrorCode.GENERIC, `at most ${MAX_PARAMETERS} parameters are accepted`);
  return new SubsonicParams(values);
}
