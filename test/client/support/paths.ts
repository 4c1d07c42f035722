import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quote } from 'shell-quote';

/**
 * The repository root. This module runs compiled, from dist/test/client/support/, so the
 * root is four levels up; fixtures (plain .mjs, not compiled) are read from there.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const CLIENT_BIN = path.join(REPO_ROOT, 'bin', 'as-client');

/**
 * XDG_CACHE_HOME for the clients the tests start (unless a test sets its own): the client
 * keeps each server's last listing there, and a listing left by one test must never stand
 * in for a server that another test expects to find down on a reused port. Removed on exit.
 */
export const TEST_CACHE_HOME = path.join(os.tmpdir(), `as-client-test-cache-${process.pid}`);
process.once('exit', () => rmSync(TEST_CACHE_HOME, { recursive: true, force: true }));
export const SAMPLE_LIBRARY = path.join(REPO_ROOT, 'sample-library');

/** The stand-in players in test/fixtures/players/. */
export type PlayerDouble = 'recording-player' | 'queue-recording-player' | 'slow-player' | 'stalling-player' | 'quitting-player' | 'failing-player';

/** A `--player` value that runs a stand-in player with node, quoted as the client will split it. */
export function playerCommand(double: PlayerDouble, ...args: (string | number)[]): string {
  const script = path.join(REPO_ROOT, 'test', 'fixtures', 'players', `${double}.mjs`);
  return quote([process.execPath, script, ...args.map(String)]);
}
