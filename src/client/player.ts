import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { parse as parseShellWords } from 'shell-quote';
import { AudioStreamError } from '../protocol/index.js';

/**
 * mpv reading the file from stdin. `--no-input-terminal` leaves the keyboard to our shell
 * (without it mpv opens /dev/tty even when stdin is a pipe); `--msg-level=all=error`
 * drops the status line but keeps real errors (`--really-quiet` would hide those too).
 * See docs/notes-mpv.md.
 */
export { DEFAULT_PLAYER } from './default-player.js';

/** How to start a player. */
export interface PlayerStartOptions {
  /**
   * Give the player's stdout and stderr to the caller (`Player.output`) instead of our
   * stderr, so that its messages can be summarised (src/client/player/player-failure.ts).
   */
  captureOutput?: boolean;
}

export interface PlayerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Splits a player command line as a shell would (quotes honoured), without running a shell. */
export function parsePlayerCommand(commandLine: string): string[] {
  const words = parseShellWords(commandLine, (name) => process.env[name] ?? '');
  const argv: string[] = [];
  for (const word of words) {
    if (typeof word !== 'string') {
      // A glob comes back as { op: 'glob', pattern }: show the pattern the user typed.
      const op = 'pattern' in word ? word.pattern : 'op' in word ? word.op : 'comment' in word ? '#' : String(word);
      throw new AudioStreamError('USAGE', `the player command may not contain shell syntax like "${op}": give a program and its arguments`);
    }
    argv.push(word);
  }
  if (argv.length === 0) throw new AudioStreamError('USAGE', 'the player command is empty');
  return argv;
}

/**
 * A running player process fed through its stdin. It may exit at any time (the user
 * quit it); writes after that are dropped instead of failing the transfer.
 */
export class Player {
  readonly command: string;
  readonly stdin: Writable;
  readonly exited: Promise<PlayerExit>;
  /** The player's stdout and stderr when started with `captureOutput`, else empty. */
  readonly output: readonly Readable[];
  private exitInfo: PlayerExit | undefined;
  private readonly child: ChildProcess;

  private constructor(command: string, child: ChildProcess) {
    this.command = command;
    this.child = child;
    this.stdin = child.stdin!;
    this.output = [child.stdout, child.stderr].filter((s): s is Readable => s !== null);
    // EPIPE after the player quits is expected; the exit is reported through `exited`.
    this.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Starts the player; PLAYER_NOT_FOUND says how to install mpv or choose another. */
  static start(argv: string[], options: PlayerStartOptions = {}): Promise<Player> {
    const [program, ...args] = argv;
    return new Promise((resolve, reject) => {
      // mpv prints its own errors on stdout; send them to our stderr so that they never
      // mix with command output (a piped `list`).
      const child = spawn(program!, args, { stdio: options.captureOutput ? ['pipe', 'pipe', 'pipe'] : ['pipe', 2, 2] });
      child.once('spawn', () => resolve(new Player(argv.join(' '), child)));
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          reject(
            new AudioStreamError(
              'PLAYER_NOT_FOUND',
              program === 'mpv'
                ? 'mpv not found: install it (sudo apt install mpv, or brew install mpv) or pass --player "CMD ARGS"'
                : `player "${program}" not found: check --player or AS_PLAYER`,
            ),
          );
        } else {
          reject(new AudioStreamError('PLAYER_FAILED', `cannot start the player "${program}": ${err.code ?? err.message}`));
        }
      });
    });
  }

  /** Writes one chunk, waiting while the player's pipe is full. False once the player is gone. */
  async write(chunk: Buffer, onWritten?: () => void): Promise<boolean> {
    if (this.hasExited || this.stdin.destroyed) return false;
    // onWritten: the pipe has taken the bytes and holds no reference to `chunk` any more.
    if (this.stdin.write(chunk, (err) => !err && onWritten?.())) return true;
    await Promise.race([
      new Promise<void>((resolve) => {
        const done = (): void => {
          this.stdin.off('drain', done);
          this.stdin.off('close', done);
          resolve();
        };
        this.stdin.on('drain', done);
        this.stdin.on('close', done);
      }),
      this.exited,
    ]);
    // 'close' (EPIPE: the player is gone) can come before 'exit': that chunk was not taken.
    return !this.hasExited && !this.stdin.destroyed;
  }

  /** No more input: the player plays what it has and exits by itself. */
  endInput(): void {
    if (!this.stdin.destroyed) this.stdin.end();
  }

  /** Stops playback now (cancel). */
  stop(): void {
    if (!this.hasExited) this.child.kill('SIGTERM');
    this.stdin.destroy();
  }
}
