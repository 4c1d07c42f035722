/**
 * Shared checks for the client hardening tests: where a test's files live, and the
 * assertions every "a hostile server tried something" test makes.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { HostileContext } from '../../doubles/hostile-server.js';
import { listFiles } from '../../client/support/files.js';
import { describeRun, type ClientRun } from '../../client/support/run-client.js';

/**
 * A fresh place for one test: `<dir>/library` (not created: the client makes it) and a
 * sentinel directory beside it, `<dir>/sentinel`, that must stay empty whatever the
 * server sends.
 */
export interface Place {
  dir: string;
  library: string;
  sentinel: string;
}

export async function makePlace(parent: string, name: string): Promise<Place> {
  const dir = path.join(parent, name);
  await fsp.mkdir(path.join(dir, 'sentinel'), { recursive: true });
  return { dir, library: path.join(dir, 'library'), sentinel: path.join(dir, 'sentinel') };
}

/** Nothing was written beside the library: the sentinel directory is still empty. */
export async function assertSentinelEmpty(place: Place): Promise<void> {
  assert.deepEqual(await fsp.readdir(place.sentinel), [], 'nothing was written into the sentinel directory beside the library');
  // …and nothing new appeared next to the library and the sentinel either.
  const beside = (await fsp.readdir(place.dir)).filter((n) => n !== 'library' && n !== 'sentinel');
  assert.deepEqual(beside, [], 'nothing was written beside the library');
}

/** The library holds exactly these files (relative, `/`-separated), and no `.part` file. */
export async function assertLibraryFiles(place: Place, expected: string[]): Promise<void> {
  assert.deepEqual(await listFiles(place.library), [...expected].sort());
}

export function assertNoStackTrace(run: ClientRun | string): void {
  const stderr = typeof run === 'string' ? run : run.stderr;
  assert.doesNotMatch(stderr, /\n\s+at /, `no stack trace:\n${stderr}`);
  assert.doesNotMatch(stderr, /unexpected/, `no "unexpected" error:\n${stderr}`);
}

/** stderr is exactly the given lines (each a pattern matching a whole line). */
export function assertErrorLines(run: ClientRun, patterns: RegExp[]): void {
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, patterns.length, `${patterns.length} error line(s) expected: ${describeRun(run)}`);
  patterns.forEach((p, i) => assert.match(lines[i]!, p, describeRun(run)));
  assertNoStackTrace(run);
}

/** An error or output line must not carry raw control characters (terminal escapes) from the server. */
export function assertNoRawControlCharacters(text: string): void {
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/, `no raw control characters in ${JSON.stringify(text)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 10 ms until it is true; fails after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** True if the double's connection closes within 5 s (a write loop that ended because the client hung up). */
export function closedSoon(ctx: HostileContext): Promise<boolean> {
  return Promise.race([ctx.whenClosed.then(() => true), sleep(5000).then(() => false)]);
}
