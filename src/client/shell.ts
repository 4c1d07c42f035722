import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { AudioStreamError, isAudioStreamError } from '../protocol/index.js';
import { BackgroundPlayer, type TrackEvent, type TrackSource } from './background-player.js';
import type { ClientConnection, IncomingFile, RemoteEntry } from './client-connection.js';
import { Downloader } from './downloader.js';
import { FilePlaybackFeeder } from './file-playback-feeder.js';
import { infoLines, listingLines, matchFolder, matchesWords, selectEntries } from './listing-format.js';
import { LocalCopies, UNREACHABLE } from './local-copies.js';
import { ListingCache } from './listing-cache.js';
import type { LocalLibrary } from './local-library.js';
import { collisionError, findLocalNameCollisions } from './name-collisions.js';
import { Player, type PlayerExit } from './player.js';
import { PlayerOutputCapture, summarisePlayerFailure } from './player/player-failure.js';
import { describeTrack, renderNowPlaying } from './player/now-playing.js';
import { StatusLineWriter } from './player/status-line.js';
import { PLAYER_COMMANDS, PLAYER_HELP, PlayerCommands, plural } from './player-commands.js';
import { completeShellLine, splitTypedWords, type ArgumentKind } from './argument-completion.js';
import { suggestCommand } from './command-suggestion.js';
import { loadHistory, saveHistory } from './shell-history.js';
import { displayText } from './display-text.js';
import { createProgress, describeTransfer, formatBytes, type TransferProgress } from './progress.js';
import { ShellOutput } from './shell-output.js';
import { playBody, saveFile } from './transfer.js';

/** How often the now-playing line is redrawn (elapsed time moves by the second). */
const STATUS_INTERVAL_MS = 1000;

export const COMMANDS = ['list', 'ls', 'find', 'info', 'get', 'stream', 'stream+', 'verify', ...PLAYER_COMMANDS, 'help', 'quit'] as const;

/** What each command's arguments are, for Tab. */
function argumentKind(command: string): ArgumentKind {
  if (['get', 'play', 'add'].includes(command)) return 'numbers-or-folders';
  if (['info', 'stream', 'stream+'].includes(command)) return 'numbers';
  if (command === 'ls') return 'folders';
  return 'none';
}

const HELP = `Commands:
  list          list the server's library (number, title — artist — album, or the path)
  ls [FOLDER]   the folders and files at the top, or in FOLDER
  find WORDS    list the files whose path or tags contain every word
  info N        everything known about file N: tags, size, SHA-256, local copy
  get N...      save files into the local library: get 3, get 3 5 7, get 3-9,
                get all, or get FOLDER. Interrupted transfers resume; files already
                saved and intact are skipped
${PLAYER_HELP}  stream N      play file N now, in the foreground (the queue stops), saving nothing
  stream+ N     the same, and save it, from one transfer
  verify        check the local library against the server's hashes
  help          show this help
  quit          leave (so does Ctrl-D); the exit status is 0 after an interactive
                session, and 1 when commands were piped in and one failed
Names with spaces may be quoted: get "Émilie Ölund". Tab completes commands, file
numbers and folder names; history is kept across sessions.
Ctrl-C cancels a transfer in progress; at the prompt it clears the line, and on an
empty line, pressed twice, leaves.
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
  /**
   * A second connection to the same server, for the tracks played in the background, so
   * that `list` or `get` can run while a track is being fetched. Without it the queue
   * fetches on `connection`, and a command typed during a track's transfer waits for it.
   */
  playbackConnection?: ClientConnection;
  /** Where the command history is kept across sessions (interactive only); none when unset. */
  historyFile?: string;
  /** Where the last listing of each server is kept, for a start with the server down. */
  listingCache?: ListingCache;
}

/**
 * The as-client command shell. Reads commands line by line, runs one at a time, and
 * keeps going after any failure; `run()` resolves with the exit status (1 if any command
 * failed, so scripts piping commands in can tell).
 */
export class Shell {
  private readonly options: ShellOptions;
  private listing: Map<number, RemoteEntry> | undefined;
  /** The listing held came from the listing cache (the server was down): a fresh one replaces it. */
  private listingIsSaved = false;
  /** Files of the listing whose local name an earlier file has: index → that file. */
  private collisions = new Map<number, RemoteEntry>();
  private readonly downloader: Downloader;
  private current: AbortController | undefined;
  private failures = 0;
  private rl: readline.Interface | undefined;
  private lastInterruptAt = 0;
  private onNextInterrupt: (() => void) | undefined;
  /** Everything the shell prints goes through here, escaped on the way out. */
  private out: ShellOutput;
  /** Redraws the now-playing line about once a second while a track plays (terminal only). */
  private statusTimer: NodeJS.Timeout | undefined;
  private statusBusy = false;
  /** A transfer's progress bar is on screen: the status line keeps out of its way. */
  private barShown = false;
  /** What the background player says between commands: above the prompt on a terminal. */
  private readonly asyncOut: ShellOutput;
  private statusLine: StatusLineWriter | undefined;
  private readonly localCopies: LocalCopies;
  /** The queue, played in the background; tests reach mpv through `background.current`. */
  readonly background: BackgroundPlayer;
  private readonly playerCommands: PlayerCommands;
  private readonly playbackDownloader: Downloader;

  constructor(options: ShellOptions) {
    this.options = options;
    this.out = new ShellOutput(options.output, options.errors);
    this.downloader = new Downloader(options.connection, options.library);
    this.localCopies = new LocalCopies(options.library);
    const playbackConnection = options.playbackConnection ?? options.connection;
    this.playbackDownloader = new Downloader(playbackConnection, options.library);
    // Lines printed while the user may be typing go through the status-line writer on a
    // terminal (it redraws the prompt and what was typed below them).
    // Errors still go to standard error: the writer redraws around them.
    const viaTerminal = (stream: NodeJS.WritableStream): NodeJS.WritableStream =>
      new Writable({
        write: (chunk: Buffer | string, _encoding, done) => {
          if (this.statusLine) this.statusLine.print(chunk.toString(), stream === options.output ? undefined : (stream as Writable));
          else stream.write(chunk);
          done();
        },
      });
    this.asyncOut = options.interactive ? new ShellOutput(viaTerminal(options.output), viaTerminal(options.errors)) : this.out;
    // On a terminal all output goes above the status line, so that it is never written over.
    if (options.interactive) this.out = this.asyncOut;
    this.background = new BackgroundPlayer({
      argv: options.player,
      connection: playbackConnection,
      sourceFor: (entry, signal) => this.sourceFor(entry, signal),
      onTrack: (event) => this.onTrack(event),
      onError: (err, context) => {
        this.failures++;
        this.report(err, context, this.asyncOut);
      },
    });
    this.playerCommands = new PlayerCommands(this.background, this.out, (command, args, signal) => this.chooseEntries(command, args, signal));
  }

  async run(): Promise<number> {
    const { input, output, interactive, historyFile } = this.options;
    // readline wants the newest first; the file keeps the oldest first.
    const history = interactive && historyFile ? (await loadHistory(historyFile).catch(() => [])).reverse() : [];
    const rl = readline.createInterface({
      input,
      output: interactive ? output : undefined,
      terminal: interactive,
      prompt: 'as> ',
      historySize: 1000,
      history,
      completer: (line: string) => this.complete(line),
    });
    this.rl = rl;
    if (interactive) {
      this.statusLine = new StatusLineWriter(rl, output as NodeJS.WriteStream);
      this.statusTimer = setInterval(() => void this.refreshStatus(), STATUS_INTERVAL_MS);
      this.statusTimer.unref();
    }
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

    if (interactive) await this.greet();
    this.prompt();
    let quit = false;
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
        if (!keepGoing) {
          quit = true;
          break;
        }
        this.prompt();
      }
      // Commands piped in (printf 'play all\n' | as-client) end with the input; the music
      // they started plays to the end of the queue, as `stream` played to the end. quit,
      // Ctrl-D at a terminal, or Ctrl-C stop it.
      if (!interactive && !quit) await Promise.race([this.background.idle(), this.interrupted()]);
    } finally {
      if (!interactive) process.off('SIGINT', onProcessSigint);
      clearInterval(this.statusTimer);
      this.statusLine?.close();
      this.statusLine = undefined;
      rl.close();
      if (interactive && historyFile) {
        const lines = [...((rl as unknown as { history?: string[] }).history ?? [])].reverse();
        await saveHistory(historyFile, lines).catch((err: unknown) => this.report(err, 'the history was not saved'));
      }
      await this.background.close();
      this.options.connection.close();
    }
    if (interactive) this.out.line('');
    // A person at a terminal has seen every error as it came; `quit` then leaves with 0.
    // Piped commands are a script: 1 tells it that something failed.
    return this.failures > 0 && !interactive ? 1 : 0;
  }

  /**
   * On a terminal, says at once where the shell is connected (or why it is not): a server
   * that is down, or a port where something else answers, is reported before the first command.
   */
  private async greet(): Promise<void> {
    const { connection } = this.options;
    const controller = new AbortController();
    this.current = controller;
    try {
      await connection.connect(controller.signal);
      if (connection.version === 2) {
        const entries = await this.fetchList(controller.signal);
        this.out.line(`connected to ${connection.target} (audiostream v2, ${plural(entries.length, 'file')})`);
      } else {
        this.out.line(`connected to ${connection.target} (original protocol)`);
      }
    } catch (err) {
      this.report(err);
    } finally {
      this.current = undefined;
    }
  }

  /** Runs one command line; false means leave. */
  async execute(line: string): Promise<boolean> {
    // The empty word the completer sees after a trailing space ("info 7 ", as Tab leaves a
    // finished number) is no argument; a quoted "" (raw '""') still is one.
    const [command, ...args] = splitTypedWords(line)
      .filter((w) => w.raw !== '')
      .map((w) => w.value);
    if (!command) return true;
    const controller = new AbortController();
    this.current = controller;
    try {
      if (await this.playerCommands.run(command.toLowerCase(), args, controller.signal)) {
        void this.refreshStatus();
        return true;
      }
      switch (command.toLowerCase()) {
        case 'list':
          await this.list(controller.signal);
          break;
        case 'ls':
          await this.ls(args, controller.signal);
          break;
        case 'find':
          await this.find(args, controller.signal);
          break;
        case 'info':
          await this.info(this.parseIndex(command, args), controller.signal);
          break;
        case 'get':
          await this.get(args, controller.signal);
          break;
        case 'verify':
          await this.verify(controller.signal);
          break;
        case 'stream':
          await this.background.stop();
          await this.transfer(this.parseIndex(command, args), { save: false, play: true }, controller.signal);
          break;
        case 'stream+':
          await this.background.stop();
          await this.transfer(this.parseIndex(command, args), { save: true, play: true }, controller.signal);
          break;
        case 'help':
        case '?':
          this.out.text(HELP);
          break;
        case 'quit':
        case 'exit':
          return false;
        default: {
          const meant = suggestCommand(command, COMMANDS);
          throw new AudioStreamError('USAGE', `unknown command "${command}"${meant ? `: did you mean ${meant}?` : ''} (type help for the list)`);
        }
      }
    } catch (err) {
      this.failures++;
      this.report(err);
    } finally {
      this.current = undefined;
      this.barShown = false;
    }
    return true;
  }

  private async list(signal: AbortSignal): Promise<void> {
    const entries = await this.fetchList(signal);
    if (entries.length === 0) {
      this.out.line('(the library is empty)');
      return;
    }
    await this.out.lines(listingLines(entries, entries.length), signal);
  }

  /** `ls [FOLDER]`: the folders (with how many files each holds) and files one level down. */
  private async ls(args: string[], signal: AbortSignal): Promise<void> {
    const entries = await this.fetchList(signal);
    const asked = args.join(' ').replace(/\/+$/, '');
    let prefix = '';
    if (asked) {
      const folder = matchFolder(asked, entries);
      if (folder === undefined) throw new AudioStreamError('BAD_INDEX', `no folder "${asked}" on the server (type ls)`);
      prefix = `${folder}/`;
    }
    const folders = new Map<string, number>();
    const files: RemoteEntry[] = [];
    for (const e of entries) {
      if (!e.path.startsWith(prefix)) continue;
      const rest = e.path.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) files.push(e);
      else folders.set(rest.slice(0, slash), (folders.get(rest.slice(0, slash)) ?? 0) + 1);
    }
    if (folders.size === 0 && files.length === 0) {
      this.out.line('(the library is empty)');
      return;
    }
    const width = String(Math.max(0, entries.length - 1)).length;
    const lines = function* (): Generator<string> {
      for (const [name, count] of [...folders].sort((a, b) => a[0].localeCompare(b[0]))) yield `${' '.repeat(width)}  ${name}/  (${plural(count, 'file')})`;
      for (const e of files) yield `${String(e.index).padStart(width)}  ${e.path.slice(prefix.length)}`;
    };
    await this.out.lines(lines(), signal);
  }

  /** Tab: commands, then file numbers and folder names from the last listing. */
  private complete(line: string): [string[], string] {
    const entries = this.listing ? [...this.listing.values()] : [];
    const folders = new Set<string>();
    for (const e of entries) {
      const parts = e.path.split('/');
      for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
    }
    try {
      return completeShellLine(line, { commands: COMMANDS, argumentKind, fileCount: entries.length, folders: [...folders] });
    } catch {
      return [[], line];
    }
  }

  private async find(words: string[], signal: AbortSignal): Promise<void> {
    if (words.length === 0) throw new AudioStreamError('USAGE', 'say what to look for: find WORDS');
    const entries = await this.fetchList(signal);
    const hits = entries.filter((e) => matchesWords(e, words));
    if (hits.length) await this.out.lines(listingLines(hits, entries.length), signal);
    else this.out.line(`(no file matches ${words.join(' ')})`);
  }

  private async info(index: number, signal: AbortSignal): Promise<void> {
    const entry = await this.entry(index, signal);
    const details = await this.options.connection.info(entry.path, signal);
    // Take the details, never the path: the listing decides which file N is.
    const { path: _ignored, ...rest } = details;
    void _ignored;
    Object.assign(entry, rest);
    const owner = this.collisions.get(entry.index);
    const state = owner ? undefined : await this.downloader.localState(entry, signal);
    const local =
      !state ? `not saved: its name is the same as file ${owner!.index}'s once Unicode-normalised`
      : state.kind === 'ok' ? 'saved, matches the server'
      : state.kind === 'missing' ? 'not saved'
      : state.kind === 'partial' ? `partial (${formatBytes(state.bytes)} so far; get ${index} resumes)`
      : state.kind === 'different' ? 'saved, but DIFFERS from the server (get it again)'
      : 'saved (not verified)';
    await this.out.lines(infoLines(entry, local), signal);
  }

  private async fetchList(signal: AbortSignal): Promise<RemoteEntry[]> {
    const { connection, listingCache } = this.options;
    let entries: RemoteEntry[];
    try {
      entries = (await connection.list(signal)).entries;
    } catch (err) {
      // The server is down: the listing saved from it before (a fresh start), if any.
      // Only while nothing fresher is held: a listing fetched this session is used as it is.
      const saved = isAudioStreamError(err) && UNREACHABLE.has(err.code) && (!this.listing || this.listingIsSaved) ? await listingCache?.load(connection.target) : undefined;
      if (!saved) throw err;
      const when = new Date(saved.savedAt).toISOString().slice(0, 16).replace('T', ' ');
      this.out.line(`(${connection.target} cannot be reached: using its listing saved ${when} UTC, ${plural(saved.entries.length, 'file')}; saved copies play)`);
      this.useListing(saved.entries);
      this.listingIsSaved = true;
      return saved.entries;
    }
    this.useListing(entries);
    this.listingIsSaved = false;
    // A cache that cannot be written costs only the offline start: never the command.
    await listingCache?.save(connection.target, entries).catch(() => {});
    return entries;
  }

  private useListing(entries: RemoteEntry[]): void {
    this.listing = new Map(entries.map((e) => [e.index, e]));
    this.collisions = findLocalNameCollisions(entries);
  }

  /** The listing, fetched if there is none yet. */
  private async currentListing(signal: AbortSignal): Promise<RemoteEntry[]> {
    if (!this.listing) await this.fetchList(signal);
    return [...this.listing!.values()];
  }

  private async get(args: string[], signal: AbortSignal): Promise<void> {
    const hadListing = this.listing !== undefined;
    let entries = await this.currentListing(signal);
    // An index beyond an older listing may exist on the server by now: list again first
    // (not when the listing was fetched just now).
    if (hadListing && args.some((a) => /^\d+(-\d+)?$/.test(a) && Number(a.split('-').pop()) >= entries.length)) entries = await this.fetchList(signal);
    const chosen = selectEntries(args, entries);
    const knownTotal = chosen.every((e) => e.size !== undefined) ? chosen.reduce((sum, e) => sum + e.size!, 0) : undefined;
    const many = chosen.length > 1;
    const overall = many && knownTotal !== undefined ? this.progress(`get 1/${chosen.length}`, knownTotal) : undefined;
    let done = 0;
    let failed = 0;
    const failedNames: string[] = [];
    let saved = 0;
    // While the bar shows, every per-file line goes above it: written past it, a line would
    // land on the bar's row, and the bar's own redraws and its end would overwrite it.
    const fileLine = (text: string): void => (overall?.above ? overall.above(displayText(text)) : this.out.line(text));
    for (const [i, entry] of chosen.entries()) {
      if (signal.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
      overall?.setLabel(`get ${i + 1}/${chosen.length}`);
      const single = overall ? undefined : this.progress(`get ${truncateMiddle(entry.path, 32)}`, entry.size ?? 0);
      const started = performance.now();
      try {
        this.refuseCollision(entry);
        const result = await this.downloader.download(entry, {
          signal,
          skipIfVerified: true,
          onFlushed: (n) => (overall ? overall.update(done + n) : single?.update(n)),
        });
        single?.finish(result.transferred);
        const summary = describeTransfer(result.transferred, performance.now() - started);
        await this.localCopies.remember(entry);
        if (result.outcome === 'already-saved') {
          fileLine(`already saved and verified: ${entry.path}`);
        } else {
          saved++;
          const resumed = result.resumedFrom > 0 ? `, resumed at ${formatBytes(result.resumedFrom)}` : '';
          const verified = this.options.connection.version === 2 ? ', verified' : '';
          fileLine(`saved ${entry.path} (${summary}${resumed}${verified})`);
        }
      } catch (err) {
        if (!overall) single?.finish(0);
        if (isAudioStreamError(err, 'CANCELLED') || !many) throw err;
        failed++;
        failedNames.push(entry.path);
        this.failures++;
        // On a terminal the line goes above the bar, which is then drawn again below it.
        if (overall?.above) overall.above(displayText(this.describeError(err, entry.path)));
        else this.report(err, entry.path);
      } finally {
        done += entry.size ?? 0;
      }
    }
    if (overall) overall.finish(done);
    if (many) {
      const shown = failedNames.slice(0, 5).join(', ');
      const more = failedNames.length > 5 ? ` and ${failedNames.length - 5} more` : '';
      this.out.line(`${saved} saved, ${chosen.length - saved - failed} already there, ${failed} failed${failed ? `: ${shown}${more}` : ''}`);
    }
  }

  private async verify(signal: AbortSignal): Promise<void> {
    const entries = await this.fetchList(signal);
    if (this.options.connection.version !== 2) {
      throw new AudioStreamError('NEEDS_V2', 'verify needs hashes, which this v1-only server cannot give');
    }
    const counts = { ok: 0, missing: 0, different: 0, partial: 0 };
    let refused = 0;
    for (const entry of entries) {
      if (signal.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
      // Its local name belongs to an earlier file: the local file there is not its copy.
      if (this.collisions.has(entry.index)) {
        refused++;
        this.out.line(`${'refused'.padEnd(9)} ${entry.path} (same name as file ${this.collisions.get(entry.index)!.index} once Unicode-normalised)`);
        continue;
      }
      const state = await this.downloader.localState(entry, signal);
      const kind = state.kind === 'unverified' ? 'ok' : state.kind;
      counts[kind]++;
      this.out.line(`${kind.padEnd(9)} ${entry.path}`);
      await this.out.drained();
    }
    this.out.line(`${counts.ok} ok, ${counts.missing} missing, ${counts.different} different, ${counts.partial} partial${refused ? `, ${refused} refused` : ''}`);
    // Missing and partial files are a sync not yet done; a different file is damage.
    if (counts.different > 0) {
      throw new AudioStreamError('INTEGRITY_MISMATCH', `${counts.different} local file${counts.different === 1 ? '' : 's'} differ from the server: get ${counts.different === 1 ? 'it' : 'them'} again`);
    }
  }

  /** Throws UNSAFE_PATH if saving `entry` would overwrite another file of the listing. */
  private refuseCollision(entry: RemoteEntry): void {
    const owner = this.collisions.get(entry.index);
    if (owner) throw collisionError(entry, owner);
  }

  private progress(label: string, total: number): TransferProgress {
    this.hideStatusForBar();
    const stream = this.options.interactive ? (this.options.errors as NodeJS.WriteStream) : null;
    return createProgress(label, total, stream);
  }

  private parseIndex(command: string, args: string[]): number {
    if (args.length !== 1 || !/^\d+$/.test(args[0]!)) {
      throw new AudioStreamError('USAGE', `give one file number, as shown by list (for example: ${command.toLowerCase()} 3)`);
    }
    return Number(args[0]);
  }

  /** Finds entry `index`, fetching the list first if this index has not been listed. */
  private async entry(index: number, signal: AbortSignal): Promise<RemoteEntry> {
    if (!this.listing?.has(index)) await this.fetchList(signal);
    const entry = this.listing!.get(index);
    if (!entry) {
      const count = this.listing!.size;
      throw new AudioStreamError('BAD_INDEX', count === 0 ? `no file ${index}: the server's library is empty` : `no file ${index}: the server has files 0 to ${count - 1} (type list)`);
    }
    return entry;
  }

  /** stream (play only) and stream+ (play and save, from one transfer). */
  private async transfer(index: number, mode: { save: boolean; play: boolean }, signal: AbortSignal): Promise<void> {
    const { connection, library } = this.options;
    const entry = await this.entry(index, signal);
    if (mode.save) this.refuseCollision(entry);
    // A copy saved and intact plays from the disk: nothing is downloaded again.
    const copy = this.collisions.has(entry.index) ? undefined : await this.localCopies.usable(entry, this.downloader, signal);
    if (copy && (copy.verdict !== 'unverified' || !mode.save)) {
      if (mode.save) this.out.line(`already saved and verified: ${entry.path}`);
      await this.playLocal(entry, copy.path, signal);
      return;
    }
    const finalPath = mode.save ? library.finalPathFor(entry.path) : undefined;
    if (finalPath) await library.prepareDirectoryFor(finalPath);

    let player: Player | undefined;
    let capture: PlayerOutputCapture | undefined;
    let playerProblem: unknown;
    if (mode.play) {
      try {
        player = await Player.start(this.options.player, { captureOutput: true });
        capture = new PlayerOutputCapture(player.output);
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
      file = await connection.fetch(entry, 0, signal);
      progress = this.progressFor(entry.path, file.size, mode);
      let feeding: Promise<void> | undefined;
      let fedBytes: (() => number) | undefined;
      if (finalPath && player) {
        ({ feeding, fedBytes } = await this.saveAndPlay(file, finalPath, player, progress));
      } else if (finalPath) {
        await saveFile(file, finalPath, { onFlushed: (n) => progress!.update(n) });
      } else {
        const result = await playBody(file.body, player!, (n) => progress!.update(n), file.release);
        // The bar goes before anything else is printed: it redraws its own line.
        progress.finish(file.size);
        // Over v2 the trailer says whether the bytes were right; the player heard them anyway.
        if (file.trailer) await file.trailer;
        const exit = await player!.exited;
        if (signal.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
        this.reportPlayback(entry.path, result.quitEarly, exit, capture!);
      }
      const summary = progress.finish(file.size);
      if (finalPath) {
        await this.localCopies.remember(entry);
        // Over v2 saveFile has checked the server's SHA-256 before the file got its name.
        this.out.line(`saved ${entry.path} (${summary}${connection.version === 2 ? ', verified' : ''})`);
      }
      if (player && finalPath) {
        // The file is safe on disk; now let the music finish.
        await feeding;
        const exit = await player.exited;
        if (signal.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
        this.reportPlayback(entry.path, (fedBytes?.() ?? file.size) < file.size, exit, capture!);
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

  /** stream/stream+ of a file already saved: the local copy is piped into the player. */
  private async playLocal(entry: RemoteEntry, localPath: string, signal: AbortSignal): Promise<void> {
    const player = await Player.start(this.options.player, { captureOutput: true });
    const capture = new PlayerOutputCapture(player.output);
    const onAbort = (): void => player.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await playBody(createReadStream(localPath, { highWaterMark: 256 * 1024 }), player);
      const exit = await player.exited;
      if (signal.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
      this.reportPlayback(entry.path, result.quitEarly, exit, capture, ' (local copy)');
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
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

  private reportPlayback(path: string, quitEarly: boolean, exit: PlayerExit, capture: PlayerOutputCapture, from = ''): void {
    // A failure wins over "quit early": a player that dies at once (mpv with no audio
    // device exits 2) also leaves most of the file unread. Its own output (about 30 lines
    // of ALSA, JACK and PipeWire without a sound device) is summarised into one line.
    const failure = summarisePlayerFailure(capture.lines, exit);
    if (failure) {
      this.failures++;
      this.report(failure, `playing ${path}`);
    } else if (quitEarly) {
      this.out.line(`playback of ${path} stopped early (the player quit)`);
    } else {
      this.out.line(`played ${path}${from}`);
    }
  }

  private progressFor(path: string, size: number, mode: { save: boolean; play: boolean }): TransferProgress {
    this.hideStatusForBar();
    const stream = this.options.interactive ? (this.options.errors as NodeJS.WriteStream) : null;
    const verb = mode.save ? (mode.play ? 'stream+' : 'get') : 'stream';
    return createProgress(`${verb} ${truncateMiddle(path, 32)}`, size, stream);
  }

  private report(err: unknown, context?: string, out: ShellOutput = this.out): void {
    // The context (a server's file name) and the message (which may quote the server)
    // are escaped by ShellOutput: one line, no terminal escapes.
    out.error(this.describeError(err, context));
  }

  /** The one line an error is reported as (not yet escaped). */
  private describeError(err: unknown, context?: string): string {
    const prefix = context ? `${context}: ` : '';
    if (isAudioStreamError(err)) {
      if (err.code === 'CANCELLED') return 'cancelled';
      return `error: ${prefix}${err.message}`;
    }
    // Not an expected failure, but still one line: a stack trace says nothing to a user,
    // and the message of an error caused by what a server sent may quote it.
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return `error: ${prefix}internal error (${message.split('\n')[0]!.slice(0, 200)}); please report it`;
  }

  /** Resolves at the next Ctrl-C (piped: it stops the music left playing at end of input). */
  private interrupted(): Promise<void> {
    return new Promise((resolve) => (this.onNextInterrupt = resolve));
  }

  private interrupt(): void {
    if (this.current) {
      this.current.abort();
      return;
    }
    if (this.onNextInterrupt) {
      this.onNextInterrupt();
      this.onNextInterrupt = undefined;
      return;
    }
    if (this.options.interactive && this.rl && this.rl.line !== '') {
      // As in bash: Ctrl-C throws away what was typed, and the prompt starts afresh.
      this.rl.write(null, { ctrl: true, name: 'e' });
      this.rl.write(null, { ctrl: true, name: 'u' });
      this.lastInterruptAt = 0;
      return;
    }
    const now = Date.now();
    if (now - this.lastInterruptAt < 2000 || !this.options.interactive) {
      this.rl?.close();
      return;
    }
    this.lastInterruptAt = now;
    this.out.line('');
    this.out.line('(press Ctrl-C again, type quit or press Ctrl-D to leave)');
    this.prompt();
  }

  private prompt(): void {
    if (!this.options.interactive) return;
    if (this.statusLine) this.statusLine.prompt();
    else this.rl?.prompt();
  }

  /** The files `play`/`add` name: as `get` does, or `find WORDS`. */
  private async chooseEntries(command: string, args: string[], signal: AbortSignal): Promise<RemoteEntry[]> {
    if (args[0]?.toLowerCase() === 'find') {
      const words = args.slice(1);
      if (words.length === 0) throw new AudioStreamError('USAGE', `say what to look for: ${command} find WORDS`);
      const hits = (await this.fetchList(signal)).filter((e) => matchesWords(e, words));
      if (hits.length === 0) throw new AudioStreamError('BAD_INDEX', `no file matches ${words.join(' ')}`);
      return hits;
    }
    const hadListing = this.listing !== undefined;
    let entries = await this.currentListing(signal);
    if (hadListing && args.some((a) => /^\d+(-\d+)?$/.test(a) && Number(a.split('-').pop()) >= entries.length)) entries = await this.fetchList(signal);
    return selectEntries(args, entries, command);
  }

  /** A verified local copy plays instead of the server's bytes (and works with the server down). */
  private async sourceFor(entry: RemoteEntry, signal: AbortSignal): Promise<TrackSource> {
    const copy = await this.localCopies.usable(entry, this.playbackDownloader, signal);
    return copy ? { kind: 'local', path: copy.path } : { kind: 'server' };
  }

  /** The bar draws on its own row: the status line is hidden until the command is done. */
  private hideStatusForBar(): void {
    if (!this.statusLine) return;
    this.barShown = true;
    this.statusLine.set(undefined);
  }

  /** The now-playing line from what the player says (not the transfer); hidden when idle. */
  private async refreshStatus(): Promise<void> {
    const writer = this.statusLine;
    if (!writer || this.statusBusy || this.barShown) return;
    this.statusBusy = true;
    try {
      const entry = this.background.currentEntry;
      const control = this.background.currentControl;
      if (!entry || !control) {
        writer.set(undefined);
        return;
      }
      const [elapsed, duration, paused] = await Promise.all([
        control.getTimePos().catch(() => undefined),
        control.getDuration().catch(() => undefined),
        control.isPaused().catch(() => false),
      ]);
      // The track may have changed, or a bar started, while mpv answered.
      if (this.statusLine !== writer || this.barShown || this.background.currentEntry !== entry) return;
      const columns = (this.options.output as NodeJS.WriteStream).columns || 80;
      const { queue } = this.background;
      writer.set(renderNowPlaying({ ...entry, elapsed, duration: duration ?? entry.duration, paused, position: queue.position, length: queue.length }, columns));
    } finally {
      this.statusBusy = false;
    }
  }

  private onTrack(event: TrackEvent): void {
    // On a terminal the status line says what plays; piped, one line per track started and ended.
    if (this.statusLine) {
      void this.refreshStatus();
      return;
    }
    if (event.kind === 'started') {
      const local = event.source.kind === 'local' ? ' (local copy)' : '';
      this.asyncOut.line(`playing [${event.position + 1}/${event.length}] ${describeTrack(event.entry)}${local}`);
    } else if (event.kind === 'finished') {
      this.asyncOut.line(`played ${event.entry.path}`);
    } else {
      this.asyncOut.line('(end of the queue)');
    }
  }
}

function truncateMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  const half = Math.floor((max - 1) / 2);
  return `${s.slice(0, half)}…${s.slice(s.length - half)}`;
}
