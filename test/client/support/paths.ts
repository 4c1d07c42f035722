import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { quote } from 'shell-quote';

/**
 * The repository root. This module runs compiled, from dist/test/client/support/, so the
 * root is four levels up; fixtures (plain .mjs, not compiled) are read from there.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const CLIENT_BIN = path.join(REPO_ROOT, 'bin', 'as-client');
export const SAMPLE_LIBRARY = path.join(REPO_ROOT, 'sample-library');

/** The stand-in players in test/fixtures/players/. */
export type PlayerDouble = 'recording-player' | 'queue-recording-player' | 'slow-player' | 'stalling-player' | 'quitting-player' | 'failing-player';

/** A `--player` value that runs a stand-in player with node, quoted as the client will split it. */
export function playerCommand(double: PlayerDouble, ...args: (string | number)[]): string {
  const script = path.join(REPO_ROOT, 'test', 'fixtures', 'players', `${double}.mjs`);
  return quote([process.execPath, script, ...args.map(String)]);
}
