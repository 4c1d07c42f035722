/**
 * mpv driven over its JSON IPC while the audio still arrives on its stdin.
 *
 * How the shell is meant to use the pieces in src/client/player/ (design note):
 *
 * - To play a track, `startPlayback(argv)` (below): for mpv it is an MpvController, for any
 *   other player a plain Player with a PipeOnlyControl. Either way `.player` is the
 *   Player of src/client/player.ts, fed exactly as `stream`/`stream+` feed it today (its
 *   `write()`, or a FilePlaybackFeeder); `.control` is the PlaybackControl that `pause`,
 *   `resume`, `seek`, `vol` and `status` call. Controls a player lacks reject with
 *   PLAYER_UNSUPPORTED, which the shell prints as its one line.
 * - Rather than calling startPlayback for each track, the shell can hold a PlayerLauncher
 *   (player-launcher.ts): `take()` returns an mpv started while the previous track played,
 *   already waiting on its stdin (bench 8b: audio 92 ms after `play` instead of 533 ms on a
 *   busy machine); `close()` on exit stops the spare.
 * - One player process per track: a pipe carries one file. When `.ended` resolves with
 *   `eof`, the shell asks its PlayQueue (play-queue.ts) for `next()` and starts the next
 *   one; `stop`/`next`/`prev` call `.stop()` on the current one first (reason `stopped`).
 * - After every end, `.failure()`: undefined when all went well, else the one line to print
 *   (player-failure.ts: "no audio output could be opened: ..." and so on). Check it even
 *   for `eof`: ffplay without a sound device exits 0 having played nothing.
 * - Now playing: every second or so, and on each `property-change` of `pause`, the shell
 *   reads `getTimePos()`/`getDuration()`/`isPaused()`, renders the line with
 *   `renderNowPlaying` (now-playing.ts) and hands it to a StatusLineWriter
 *   (status-line.ts) on a terminal; piped, it prints one line per track started and ended.
 * - `seek` while streaming: mpv keeps what has arrived in its demuxer cache (cacheBytes
 *   forward and back), so a seek inside it works although a pipe cannot seek; outside it,
 *   seekTo rejects with SEEK_NOT_BUFFERED naming the range that has arrived, and the
 *   BackgroundPlayer then restarts the track from a byte range over v2 where the format
 *   allows (byte-range-seek.ts), with times shifted back to track time (track-control.ts).
 *
 * Limits: what has arrived stays seekable up to `cacheBytes` behind the playing position
 * (150 MiB by default; mpv drops the oldest beyond that) and up to `cacheBytes` ahead of
 * it (mpv stops reading the pipe there, so the transfer waits: that is the back-pressure).
 * A seek lands on the nearest point the demuxer can decode from, usually within a fraction
 * of a second (tested: within 1 s).
 */
import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AudioStreamError } from '../../protocol/index.js';
import { formatDuration } from '../listing-format.js';
import { Player, type PlayerExit } from '../player.js';
import { encodeMpvCommand, MpvIpcParser, type MpvEvent, type MpvReply } from './mpv-ipc-protocol.js';
import { isMpvCommand, PipeOnlyControl, type PlaybackControl } from './playback-control.js';
import { PlayerOutputCapture, summarisePlayerFailure } from './player-failure.js';

/** mpv's default --demuxer-max-bytes; the same backwards, so what arrived stays seekable. */
export const DEFAULT_CACHE_BYTES = 150 * 1024 * 1024;
/** mpv opens its socket within ~150 ms when idle; a loaded 2-core machine can take seconds. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
const CONNECT_RETRY_MS = 10;
/** sun_path is 108 bytes on Linux, 104 on macOS. */
const MAX_SOCKET_PATH = 100;
/** Requests in flight at once; the shell sends a handful, so more means something is stuck. */
const MAX_PENDING_REQUESTS = 256;

/** Why a track stopped playing. `stopped`: we stopped it; `exited`: the process went without saying. */
export type PlaybackEndReason = 'eof' | 'stopped' | 'error' | 'quit' | 'exited';

export interface PlaybackEnd {
  reason: PlaybackEndReason;
  exit?: PlayerExit;
}

export interface MpvStartOptions {
  /** Bytes of what has arrived that mpv keeps ahead of and behind the playing position. */
  cacheBytes?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Where the private socket folder is made (default: the system temp dir). */
  tempRoot?: string;
}

/** A player of either kind, as the shell holds it. */
export interface Playback {
  readonly player: Player;
  readonly control: PlaybackControl;
  readonly ended: Promise<PlaybackEnd>;
  stop(): void;
  /** The one line to print when the track did not end well; undefined when it did. */
  failure(): AudioStreamError | undefined;
}

/** Starts mpv with IPC for an mpv command line, or the plain player with no controls. */
export async function startPlayback(argv: string[], options: MpvStartOptions = {}): Promise<Playback> {
  if (isMpvCommand(argv)) return MpvController.start(argv, options);
  return PipePlayback.start(argv);
}

/**
 * mpv's arguments with `-` (read stdin) added when they name no file: every mpv option is one
 * word starting with `--` (values go after `=`), so any other word is a file. This is what
 * makes `--player "mpv --ao=null"`, the advice for a machine without audio, work as given.
 */
export function withStdinAsFile(args: readonly string[]): string[] {
  const namesFile = args.some((a) => a === '-' || !a.startsWith('-'));
  return namesFile ? [...args] : [...args, '-'];
}

/** Any other player: fed and stopped, its output summarised, no controls. */
export class PipePlayback implements Playback {
  readonly control = new PipeOnlyControl();
  readonly ended: Promise<PlaybackEnd>;
  private stoppedByUs = false;
  private exitInfo: PlayerExit | undefined;

  private constructor(
    readonly player: Player,
    private readonly output: PlayerOutputCapture,
  ) {
    this.ended = player.exited.then((exit) => {
      this.exitInfo = exit;
      return { reason: this.stoppedByUs ? 'stopped' : exit.code === 0 ? 'eof' : 'exited', exit };
    });
  }

  static async start(argv: string[]): Promise<PipePlayback> {
    const player = await Player.start(argv, { captureOutput: true });
    return new PipePlayback(player, new PlayerOutputCapture(player.output));
  }

  stop(): void {
    this.stoppedByUs = true;
    this.player.stop();
  }

  failure(): AudioStreamError | undefined {
    if (this.stoppedByUs) return undefined;
    return summarisePlayerFailure(this.output.lines, this.exitInfo);
  }
}

interface PendingRequest {
  resolve: (data: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  command: string;
}

/**
 * mpv reading stdin and answering on a Unix socket in a private (0700) temp folder, which
 * is removed when mpv exits. Events: `event` (every mpv event), `end-file` (reason),
 * `property-change` (name, data), `exit` (PlayerExit).
 */
export class MpvController extends EventEmitter implements Playback, PlaybackControl {
  readonly canControl = true;
  readonly player: Player;
  /** mpv's stdout and stderr, bounded, for failure(). */
  readonly output: PlayerOutputCapture;
  /** Resolves once the control socket is connected; commands wait for it. */
  readonly ready: Promise<void>;
  readonly ended: Promise<PlaybackEnd>;
  readonly control: PlaybackControl = this;
  readonly socketPath: string;

  private readonly parser = new MpvIpcParser();
  private readonly pending = new Map<number, PendingRequest>();
  private readonly observers = new Map<number, (data: unknown) => void>();
  private readonly requestTimeoutMs: number;
  private socket: net.Socket | undefined;
  private nextRequestId = 1;
  private nextObserverId = 1;
  private stoppedByUs = false;
  private endFileReason: string | undefined;
  private endFileError: string | undefined;
  private exitInfo: PlayerExit | undefined;
  private closedError: AudioStreamError | undefined;

  private constructor(player: Player, socketDir: string, options: MpvStartOptions) {
    super();
    this.player = player;
    this.socketPath = path.join(socketDir, 'mpv.sock');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.output = new PlayerOutputCapture(player.output);
    this.ready = this.connect(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    // Commands report a failed connection themselves; nobody has to await `ready`.
    this.ready.catch(() => {});
    this.ended = player.exited.then(async (exit) => {
      this.exitInfo = exit;
      this.shutDown(new AudioStreamError('PLAYER_IPC', 'the player has exited'));
      await fsp.rm(socketDir, { recursive: true, force: true }).catch(() => {});
      this.emit('exit', exit);
      return { reason: this.reasonFor(exit), exit };
    });
  }

  /**
   * Spawns mpv with IPC and a cache that keeps what arrived seekable. Resolves as soon as
   * mpv runs, so that feeding can start at once; the socket connects meanwhile (`ready`).
   */
  static async start(argv: string[], options: MpvStartOptions = {}): Promise<MpvController> {
    const [program, ...args] = argv;
    if (!program) throw new AudioStreamError('USAGE', 'the player command is empty');
    const root = options.tempRoot ?? os.tmpdir();
    // mkdtemp makes the folder 0700: nobody else can reach the socket and steer the player.
    const dir = await fsp.mkdtemp(path.join(root, 'audiostream-mpv-'));
    await fsp.chmod(dir, 0o700);
    const socketPath = path.join(dir, 'mpv.sock');
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw new AudioStreamError('PLAYER_IPC', `the temporary folder path is too long for a socket (${socketPath}): set TMPDIR to a shorter one`);
    }
    const cache = Math.max(1024 * 1024, Math.floor(options.cacheBytes ?? DEFAULT_CACHE_BYTES));
    // Ours first, so that a user's own flags win; mpv takes the last of a repeated option.
    // --no-input-terminal: the shell owns the keyboard (a user's --input-terminal would still win).
    const ours = ['--no-input-terminal', `--input-ipc-server=${socketPath}`, '--cache=yes', `--demuxer-max-bytes=${cache}`, `--demuxer-max-back-bytes=${cache}`];
    let player: Player;
    try {
      player = await Player.start([program, ...ours, ...withStdinAsFile(args)], { captureOutput: true });
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw err;
    }
    return new MpvController(player, dir, options);
  }

  // ---- PlaybackControl ----

  async pause(): Promise<void> {
    await this.setProperty('pause', true);
  }

  async resume(): Promise<void> {
    await this.setProperty('pause', false);
  }

  async togglePause(): Promise<boolean> {
    const paused = !(await this.isPaused());
    await this.setProperty('pause', paused);
    return paused;
  }

  async seekTo(seconds: number): Promise<void> {
    if (!Number.isFinite(seconds)) throw new AudioStreamError('USAGE', 'seek to a time: seek 1:30, seek +10, seek -10');
    const target = Math.max(0, seconds);
    await this.checkBuffered(target);
    // mpv answers as soon as the seek is queued; until it is done, time-pos still reads the
    // old position. Resolve when it has landed (playback-restart), paused or not.
    const landed = this.nextEvent(['playback-restart', 'end-file'], this.requestTimeoutMs);
    try {
      // exact: land on the asked time, not on the previous keyframe (mpv decodes from there).
      await this.command(['seek', target, 'absolute+exact']);
      await landed.promise;
    } finally {
      landed.cancel();
    }
  }

  /** Resolves at the next of these events, or after `ms` (a slow mpv is not an error here). */
  private nextEvent(names: readonly string[], ms: number): { promise: Promise<void>; cancel: () => void } {
    let cancel = (): void => {};
    const promise = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('exit', done);
        resolve();
      };
      const onEvent = (m: MpvEvent): void => {
        if (names.includes(m.event)) done();
      };
      const timer = setTimeout(done, ms);
      this.on('event', onEvent);
      this.once('exit', done);
      cancel = done;
    });
    return { promise, cancel };
  }

  async seekBy(deltaSeconds: number): Promise<void> {
    if (!Number.isFinite(deltaSeconds)) throw new AudioStreamError('USAGE', 'seek by seconds: seek +10, seek -10');
    const now = await this.getTimePos();
    if (now === undefined) throw new AudioStreamError('SEEK_NOT_BUFFERED', 'nothing has started playing yet: try again in a moment');
    await this.seekTo(now + deltaSeconds);
  }

  async setVolume(volume: number): Promise<void> {
    const max = (await this.getNumber('volume-max')) ?? 100;
    if (!Number.isFinite(volume) || volume < 0 || volume > max) {
      throw new AudioStreamError('USAGE', `the volume goes from 0 to ${Math.round(max)}: for example, vol 50`);
    }
    await this.setProperty('volume', volume);
  }

  getVolume(): Promise<number | undefined> {
    return this.getNumber('volume');
  }

  /** Clamped at 0: just after a seek to the start, mpv can report a little below it (-0.15 s for FLAC). */
  async getTimePos(): Promise<number | undefined> {
    const t = await this.getNumber('time-pos');
    return t === undefined ? undefined : Math.max(0, t);
  }

  getDuration(): Promise<number | undefined> {
    return this.getNumber('duration');
  }

  async isPaused(): Promise<boolean> {
    return (await this.getProperty('pause')) === true;
  }

  // ---- the IPC itself ----

  /** Sends one command and resolves to mpv's `data`; a refusal rejects with PLAYER_IPC. */
  async command(args: readonly unknown[]): Promise<unknown> {
    await this.ready;
    const socket = this.socket;
    if (this.closedError || !socket) throw this.closedError ?? new AudioStreamError('PLAYER_IPC', 'the player has exited');
    if (this.pending.size >= MAX_PENDING_REQUESTS) throw new AudioStreamError('PLAYER_IPC', 'mpv is not answering its control commands');
    const id = this.nextRequestId++;
    const name = String(args[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AudioStreamError('PLAYER_IPC', `mpv did not answer "${name}" within ${this.requestTimeoutMs / 1000} s`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer, command: name });
      socket.write(encodeMpvCommand(id, args));
    });
  }

  /** A property's value, or undefined while mpv says it is unavailable (no file open yet). */
  async getProperty(name: string): Promise<unknown> {
    try {
      return await this.command(['get_property', name]);
    } catch (err) {
      if (err instanceof AudioStreamError && err.code === 'PLAYER_IPC' && / property unavailable$/.test(err.message)) return undefined;
      throw err;
    }
  }

  async setProperty(name: string, value: unknown): Promise<void> {
    await this.command(['set_property', name, value]);
  }

  /** Calls `onChange` with each new value of the property (mpv sends the current one first). Returns the way to stop. */
  async observe(name: string, onChange: (data: unknown) => void): Promise<() => Promise<void>> {
    const id = this.nextObserverId++;
    this.observers.set(id, onChange);
    try {
      await this.command(['observe_property', id, name]);
    } catch (err) {
      this.observers.delete(id);
      throw err;
    }
    return async () => {
      if (!this.observers.delete(id)) return;
      await this.command(['unobserve_property', id]).catch(() => {});
    };
  }

  // ---- Playback ----

  /** Stops mpv now; `ended` then resolves with `stopped`. */
  stop(): void {
    this.stoppedByUs = true;
    this.player.stop();
  }

  failure(): AudioStreamError | undefined {
    if (this.stoppedByUs) return undefined;
    const summary = summarisePlayerFailure(this.output.lines, this.exitInfo);
    if (summary) return summary;
    if (this.endFileReason === 'error') {
      return new AudioStreamError('PLAYER_FAILED', `the player could not play the file${this.endFileError ? `: ${this.endFileError}` : ''}`);
    }
    return undefined;
  }

  private reasonFor(exit: PlayerExit): PlaybackEndReason {
    if (this.stoppedByUs) return 'stopped';
    if (this.endFileReason === 'eof' || this.endFileReason === 'error' || this.endFileReason === 'quit') return this.endFileReason;
    return exit.code === 0 ? 'eof' : 'exited';
  }

  private async checkBuffered(target: number): Promise<void> {
    // A pipe is never seekable itself; then only mpv's cache of what arrived can be sought.
    if ((await this.getProperty('seekable')) === true) return;
    const state = (await this.getProperty('demuxer-cache-state')) as { 'seekable-ranges'?: { start: number; end: number }[] } | undefined;
    const ranges = Array.isArray(state?.['seekable-ranges']) ? state['seekable-ranges'] : [];
    // mpv's first range starts a hair below 0 for some formats (-0.025 for mp3).
    if (ranges.some((r) => typeof r.start === 'number' && typeof r.end === 'number' && target >= r.start - 0.5 && target <= r.end)) return;
    const arrived = ranges.length > 0 ? ` (${ranges.map((r) => `${formatDuration(Math.max(0, r.start))}–${formatDuration(r.end)}`).join(', ')})` : '';
    throw new AudioStreamError('SEEK_NOT_BUFFERED', `${formatDuration(target)} has not arrived yet: only what has arrived can be sought${arrived}`);
  }

  private async getNumber(name: string): Promise<number | undefined> {
    const value = await this.getProperty(name);
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  }

  private async connect(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.player.hasExited) throw new AudioStreamError('PLAYER_IPC', 'the player exited before its control socket opened');
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(this.socketPath);
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        this.attach(socket);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Not there yet (ENOENT) or not listening yet (ECONNREFUSED): mpv is still starting.
        if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw new AudioStreamError('PLAYER_IPC', `cannot reach mpv's control socket: ${code ?? (err as Error).message}`);
      }
      if (performance.now() > deadline) {
        throw new AudioStreamError('PLAYER_IPC', `mpv did not open its control socket within ${timeoutMs / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      let messages;
      try {
        messages = this.parser.feed(chunk);
      } catch (err) {
        // The parser reports; we act: nothing more from this socket is to be believed.
        this.shutDown(err as AudioStreamError);
        socket.destroy();
        return;
      }
      for (const m of messages) {
        if (m.kind === 'reply') this.onReply(m);
        else this.onEvent(m);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.shutDown(new AudioStreamError('PLAYER_IPC', 'the player closed its control connection')));
  }

  private onReply(reply: MpvReply): void {
    const request = this.pending.get(reply.requestId);
    if (!request) return; // timed out already
    this.pending.delete(reply.requestId);
    clearTimeout(request.timer);
    if (reply.error === 'success') request.resolve(reply.data);
    else request.reject(new AudioStreamError('PLAYER_IPC', `mpv refused "${request.command}": ${reply.error}`));
  }

  private onEvent(message: MpvEvent): void {
    const f = message.fields;
    this.emit('event', message);
    if (message.event === 'property-change') {
      if (typeof f.id === 'number') this.observers.get(f.id)?.(f.data);
      this.emit('property-change', f.name, f.data);
    } else if (message.event === 'end-file') {
      this.endFileReason = typeof f.reason === 'string' ? f.reason : undefined;
      this.endFileError = typeof f.file_error === 'string' ? f.file_error : undefined;
      this.emit('end-file', this.endFileReason);
    }
  }

  private shutDown(reason: AudioStreamError): void {
    if (!this.closedError) this.closedError = reason;
    for (const [id, request] of this.pending) {
      clearTimeout(request.timer);
      request.reject(reason);
      this.pending.delete(id);
    }
    this.socket?.destroy();
  }
}
