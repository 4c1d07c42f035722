import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where audiostream keeps what it writes outside a music library, following the XDG Base
 * Directory specification: data (the server's database and accounts) and state (the client's
 * history and server pins). Nothing is ever written into the music folder itself.
 */

function xdgBase(variable: 'XDG_DATA_HOME' | 'XDG_STATE_HOME' | 'XDG_CACHE_HOME', fallback: string, env: NodeJS.ProcessEnv): string {
  const value = env[variable];
  // The specification says a relative value is invalid and must be ignored.
  if (value && path.isAbsolute(value)) return value;
  return path.join(env.HOME || os.homedir(), fallback);
}

/**
 * The server's data directory for one library: `--data DIR` when given, otherwise one folder
 * per library path under `$XDG_DATA_HOME/audiostream/`, named for the folder and a hash of its
 * real path, so two libraries never share a database and a moved checkout gets a fresh one.
 */
export function serverDataDir(libraryRoot: string, dataFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (dataFlag !== undefined) return path.resolve(dataFlag);
  let real: string;
  try {
    real = fs.realpathSync(libraryRoot);
  } catch {
    real = path.resolve(libraryRoot);
  }
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 12);
  const name = path.basename(real).replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 64) || 'root';
  return path.join(xdgBase('XDG_DATA_HOME', '.local/share', env), 'audiostream', `${name}-${hash}`);
}

/** The client's state directory: `$XDG_STATE_HOME/audiostream` (history, pinned server keys). */
/** The client's cache (the last listing of each server): `$XDG_CACHE_HOME/audiostream/`. */
export function clientCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(xdgBase('XDG_CACHE_HOME', '.cache', env), 'audiostream');
}

export function clientStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(xdgBase('XDG_STATE_HOME', '.local/state', env), 'audiostream');
}
