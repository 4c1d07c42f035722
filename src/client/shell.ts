import readline from 'node:readline';
import { AudioStreamError, isAudioStreamError, type ListEntry } from '../protocol/index.js';
import type { ClientConnection, IncomingFile } from './client-connection.js';
import { FilePlaybackFeeder } from './file-playback-feeder.js';
import type { LocalLibrary } from './local-library.js';
import { Player } from './player.js';
import { createProgress, type TransferProgress } from './progress.js';
import { playBody, saveFile } from './transfer.js';

export const COMMANDS = ['list', 'get', 'stream', 'stream+', 'help', 'quit'] as const;

const HELP = `Commands:
  list          list the server's library (index and path)
  get N         save file N into the local library
  stream N      play file N (pipe it into the player), saving nothing
  stream+ N     play file N and save it, from one transfer
  help          show this help
  quit          leave (so does Ctrl-D)
Ctrl-C cancels a transfer in progress; at the prompt, press it twice to leave.
`;

export interface ShellOptions {
  connection: ClientConnection;
  library: LocalLibrary;
  /** The player command, already split into program and arguments. */
  player: string[];
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  errors: NodeJS.WritableStream;
  /** Prompt, line editing, history, completion and a progress bar. */
  interactive: boolean;
}

/**
 * The as-client command shell. Reads commands line by line, runs one at a time, and
 * keeps going after any failure; `run()` resolves with the exit status (1 if any command
 * failed, so scripts piping commands in can tell).
 */
export class Shell {
  private readonly options: ShellOptions;
  private listing: Map<number, ListEntry> | undefined;
  private current: AbortController | undefined;
  private failures = 0;
  private rl: readline.Interface | undefined;
  private lastInterruptAt = 0;

  constructor(options: ShellOptions) {
    this.options = options;
  }

  async run(): Promise<number> {
    const { input, output, interactive } = this.options;
    const rl = readline.createInterface({
      input,
      output: interactive ? output : undefined,
      terminal: interactive,
      prompt: 'as> ',
      historySize: 1000,
      completer: (line: string) => {
        const hits = COMMANDS.filter((c) => c.startsWith(line.trim()));
        return [hits.length ? hits.map((h) => `${h} `) : [], line];
      },
    });
    this.rl = rl;
    rl.on('SIGINT', () => this.interrupt());
    const onProcessSigint = (): void => this.interrupt();
    if (!interactive) process.on('SIGINT', onProcessSigint);

    // Lines are queued and run one at a time, in order, however fast they arrive.
    const queue: string[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    rl.on('line', (line) => {
      queue.push(line);
      wake?.();
    });
    rl.on('close', () => {
      ended = true;
      wake?.();
    });

    this.prompt();
    try {
      for (;;) {
        const line = queue.shift();
        if (line === undefined) {
          if (ended) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        const keepGoing = await this.execute(line);
        if (!keepGoing) break;
        this.prompt();
      }
    } finally {
      if (!interactive) process.off('SIGINT', onProcessSigint);
      rl.close();
      this.options.connection.close();
    }
    if (interactive) output.write('\n');
    return this.failures > 0 ? 1 : 0;
  }

  /** Runs one command line; false means leave. */
  async execute(line: string): Promise<boolean> {
    const [command, ...args] = line.trim().split(/\s+/);
    if (!command) return true;
    const controller = new AbortController();
    this.current = controller;
    try {
      switch (command.toLowerCase()) {
        case 'list':
          await this.list(controller.signal);
          break;
        case 'get':
          await this.transfer(this.parseIndex(args), { save: true, play: false }, controller.signal);
          break;
        case 'stream':
          await this.transfer(this.parseIndex(args), { save: false, play: true }, controller.signal);
          break;
        case 'stream+':
          await this.transfer(this.parseIndex(args), { save: true, play: true }, controller.signal);
          break;
        case 'help':
        case '?':
          this.options.output.write(HELP);
          break;
        case 'quit':
        case 'exit':
          return false;
        default:
          throw new AudioStreamError('USAGE', `unknown command "${command}": type help for the list`);
      }
    } catch (err) {
      this.failures++;
      this.report(err);
    } finally {
      this.current = undefined;
    }
    return true;
  }

  private async list(signal: AbortSignal): Promise<void> {
    const entries = await this.fetchList(signal);
    if (entries.length === 0) {
      this.options.output.write('(the library is empty)\n');
      return;
    }
    const width = String(entries.length - 1).length;
    const lines = entries.map((e) => `${String(e.index).padStart(width)}  ${e.path}\n`);
    this.options.output.write(lines.join(''));
  }

  private async fetchList(signal: AbortSignal): Promise<ListEntry[]> {
    const result = await this.options.connection.list(signal);
    this.listing = new Map(result.entries.map((e) => [e.index, e]));
    return result.entries;
  }

  private parseIndex(args: string[]): number {
    if (args.length !== 1 || !/^\d+$/.test(args[0]!)) {
      throw new AudioStreamError('USAGE', 'give one file number, as shown by list (for example: get 3)');
    }
    return Number(args[0]);
  }

  /** Finds entry `index`, fetching the list first if this index has not been listed. */
  private async entry(index: number, signal: AbortSignal): Promise<ListEntry> {
    if (!this.listing?.has(index)) await this.fetchList(signal);
    const entry = this.listing!.get(index);
    if (!entry) {
      const count = this.listing!.size;
      throw new AudioStreamError('BAD_INDEX', count === 0 ? `no file ${index}: the server's library is empty` : `no file ${index}: the server has files 0 to ${count - 1} (type list)`);
    }
    return entry;
  }

  private async transfer(index: number, mode: { save: boolean; play: boolean }, signal: AbortSignal): Promise<void> {
    const { connection, library, output } = this.options;
    const entry = await this.entry(index, signal);
    const finalPath = mode.save ? library.finalPathFor(entry.path) : undefined;
    if (finalPath) await library.prepareDirectoryFor(finalPath);

    let player: Player | undefined;
    let playerProblem: unknown;
    if (mode.play) {
      try {
        player = await Player.start(this.options.player);
      } catch (err) {
        if (!mode.save) throw err;
        playerProblem = err; // stream+ still saves the file
        this.report(err, 'playback skipped');
      }
    }
    const onAbort = (): void => player?.stop();
    signal.addEventListener('abort', onAbort, { once: true });

    let file: IncomingFile | undefined;
    let progress: TransferProgress | undefined;
    try {
      file = await connection.stream(index, signal);
      progress = this.progressFor(entry.path, file.size, mode);
      let feeding: Promise<void> | undefined;
      let fedBytes: (() => number) | undefined;
      if (finalPath && player) {
        ({ feeding, fedBytes } = await this.saveAndPlay(file, finalPath, player, progress));
      } else if (finalPath) {
        await saveFile(file, finalPath, { onFlushed: (n) => progress!.update(n) });
      } else {
        const result = await playBody(file.body, player!, (n) => progress!.update(n));
        const exit = await player!.exited;
        if (signal.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
        this.reportPlayback(entry.path, result.quitEarly, exit.code);
      }
      const summary = progress.finish(file.size);
      if (finalPath) output.write(`saved ${entry.path} (${summary})\n`);
      if (player && finalPath) {
        // The file is safe on disk; now let the music finish.
        await feeding;
        const exit = await player.exited;
        if (signal.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
        this.reportPlayback(entry.path, (fedBytes?.() ?? file.size) < file.size, exit.code);
      }
    } catch (err) {
      progress?.finish(file?.size ?? 0);
      player?.stop();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (playerProblem) this.failures++;
  }

  /**
   * stream+: the download runs at full speed into the file while a feeder plays from the
   * saved bytes. Resolves when the file is saved, with a promise for the end of feeding
   * and a count of the bytes fed so far (short of the size if the player quit early).
   */
  private async saveAndPlay(file: IncomingFile, finalPath: string, player: Player, progress: TransferProgress): Promise<{ feeding: Promise<void>; fedBytes: () => number }> {
    let feeder: FilePlaybackFeeder | undefined;
    let feeding: Promise<void> = Promise.resolve();
    try {
      await saveFile(file, finalPath, {
        onTemporaryFile: (path) => {
          feeder = new FilePlaybackFeeder(path, player);
          feeding = feeder.run().catch((err) => {
            this.report(err, 'playback stopped');
            player.stop();
          });
        },
        onFlushed: (n) => {
          progress.update(n);
          feeder?.advance(n);
        },
      });
      feeder?.finish();
    } catch (err) {
      feeder?.stop();
      await feeding;
      throw err;
    }
    return { feeding, fedBytes: () => feeder?.fed ?? 0 };
  }

  private reportPlayback(path: string, quitEarly: boolean, code: number | null): void {
    // A failure status wins over "quit early": a player that dies at once (mpv with no
    // audio device exits 2) also leaves most of the file unread.
    if (code !== 0 && code !== null) {
      this.failures++;
      this.options.errors.write(`error: the player exited with status ${code} while playing ${path}\n`);
    } else if (quitEarly) {
      this.options.output.write(`playback of ${path} stopped early (the player quit)\n`);
    } else {
      this.options.output.write(`played ${path}\n`);
    }
  }

  private progressFor(path: string, size: number, mode: { save: boolean; play: boolean }): TransferProgress {
    const stream = this.options.interactive ? (this.options.errors as NodeJS.WriteStream) : null;
    const verb = mode.save ? (mode.play ? 'stream+' : 'get') : 'stream';
    return createProgress(`${verb} ${truncateMiddle(path, 32)}`, size, stream);
  }

  private report(err: unknown, context?: string): void {
    const prefix = context ? `${context}: ` : '';
    if (isAudioStreamError(err)) {
      if (err.code === 'CANCELLED') {
        this.options.errors.write('cancelled\n');
        return;
      }
      this.options.errors.write(`error: ${prefix}${err.message}\n`);
    } else {
      this.options.errors.write(`error: ${prefix}unexpected: ${(err as Error)?.stack ?? String(err)}\n`);
    }
  }

  private interrupt(): void {
    if (this.current) {
      this.current.abort();
      return;
    }
    const now = Date.now();
    if (now - this.lastInterruptAt < 2000 || !this.options.interactive) {
      this.rl?.close();
      return;
    }
    this.lastInterruptAt = now;
    this.options.output.write('\n(press Ctrl-C again, type quit or press Ctrl-D to leave)\n');
    this.prompt();
  }

  private prompt(): void {
    if (this.options.interactive) this.rl?.prompt();
  }
}

function truncateMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  const half = Math.floor((max - 1) / 2);
  return `${s.slice(0, half)}…${s.slice(s.length - half)}`;
}
