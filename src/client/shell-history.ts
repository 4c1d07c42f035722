import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { clientStateDir } from '../cli/xdg-dirs.js';
import { AudioStreamError } from '../protocol/index.js';

/**
 * The shell's command history across sessions: `$XDG_STATE_HOME/audiostream/history`, one
 * command a line, oldest first, the last N kept. The file is private (0600, in a 0700
 * folder): commands can name what a person listens to.
 *
 * readline wants `history` newest first: pass `loadHistory(...).reverse()` to
 * `createInterface({ history })`, and save `[...rl.history].reverse()` on exit.
 */

export const DEFAULT_HISTORY_LINES = 1000;
/** A longer line is not kept: nobody recalls a 4 KB command, and it bounds the file. */
export const MAX_HISTORY_LINE = 4096;

export function historyFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(clientStateDir(env), 'history');
}

function keepable(line: string): boolean {
  // A line starting with a space is kept out, as in bash's HISTCONTROL=ignorespace.
  return line.trim() !== '' && !line.startsWith(' ') && line.length <= MAX_HISTORY_LINE && !/[\r\n]/.test(line);
}

/**
 * The last `max` lines of the history file, oldest first; [] when there is none. Reads at
 * most the file's last `max` × MAX_HISTORY_LINE bytes, so a huge file cannot fill memory.
 */
export async function loadHistory(file: string, max = DEFAULT_HISTORY_LINES): Promise<string[]> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AudioStreamError('WRITE_FAILED', `cannot read the history file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    const limit = Math.max(0, max) * (MAX_HISTORY_LINE + 1);
    const start = Math.max(0, size - limit);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buf, 0, buf.length, start);
    let lines = buf.subarray(0, bytesRead).toString('utf8').split('\n');
    // Started mid-file: the first piece is the end of a line, not a line.
    if (start > 0) lines = lines.slice(1);
    return lines.filter(keepable).slice(-max);
  } finally {
    await handle.close();
  }
}

/**
 * Writes the last `max` keepable lines (oldest first) to `file`, creating its folder 0700.
 * Written to a temporary name and renamed, so a crash leaves the old history, never half a file.
 */
export async function saveHistory(file: string, lines: readonly string[], max = DEFAULT_HISTORY_LINES): Promise<void> {
  const dir = path.dirname(file);
  const kept = lines.filter(keepable).slice(-Math.max(0, max));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // 'wx': never through a file or link already at that name.
    await fsp.writeFile(temp, kept.length > 0 ? `${kept.join('\n')}\n` : '', { mode: 0o600, flag: 'wx' });
    await fsp.rename(temp, file);
  } catch (err) {
    await fsp.rm(temp, { force: true }).catch(() => {});
    throw new AudioStreamError('WRITE_FAILED', `cannot save the history to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
