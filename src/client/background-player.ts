import fs from 'node:fs';
import { AudioStreamError, isAudioStreamError } from '../protocol/index.js';
import type { ClientConnection, RemoteEntry } from './client-connection.js';
import type { Player } from './player.js';
import { type Playback } from './player/mpv-controller.js';
import { isMpvCommand, type PlaybackControl } from './player/playback-control.js';
import { PlayerLauncher } from './player/player-launcher.js';
import { PlayQueue } from './player/play-queue.js';
import { playBody } from './transfer.js';

/** Bytes read from a local copy per write into the player's pipe. */
const LOCAL_READ_CHUNK = 256 * 1024;

/** Where a track's bytes come from: the local library, or the server. */
export type TrackSource = { kind: 'local'; path: string } | { kind: 'server' };

export interface BackgroundPlayerOptions {
  /** The player command, already split. mpv gets IPC controls; any other player only a pipe. */
  argv: string[];
  /**
   * The connection tracks are fetched on. Its own, not the shell's: a track's transfer
   * runs while the shell lists, saves or looks things up on the other one.
   */
  connection: ClientConnection;
  /** Decides, per track, whether a verified local copy plays instead of the server's bytes. */
  sourceFor: (entry: RemoteEntry, signal: AbortSignal) => Promise<TrackSource>;
  /** A track started (`started`), ended normally (`finished`), or the queue ran out (`end`). */
  onTrack?: (event: TrackEvent) => void;
  /** One line for something that went wrong while playing in the background. */
  onError: (err: unknown, context: string) => void;
}

export type TrackEvent =
  | { kind: 'started'; entry: RemoteEntry; position: number; length: number; source: TrackSource }
  | { kind: 'finished'; entry: RemoteEntry }
  | { kind: 'end' };

/** One track being played: its player, and the feed into it. */
interface Track {
  entry: RemoteEntry;
  playback: Playback;
  /** Stops the feed (aborts the transfer). */
  feed: AbortController;
  source: TrackSource;
  /** Its bytes could not be fetched at all: it ends without a "played" line. */
  unfetchable?: boolean;
}

/**
 * The play queue played in the background: one player process per track (a pipe carries
 * one file), fed from the local copy or the server while the shell goes on reading
 * commands. When a track ends by itself the next one starts; `next`, `prev`, `stop` and a
 * new `play` stop the current one first. Controls go to the current player's
 * PlaybackControl (mpv over IPC; PLAYER_UNSUPPORTED for any other player).
 */
export class BackgroundPlayer {
  readonly queue = new PlayQueue<RemoteEntry>();
  private readonly options: BackgroundPlayerOptions;
  private readonly launcher: PlayerLauncher;
  private track: Track | undefined;
  /** Bumped by every start and stop: a track that ends after being replaced is ignored. */
  private generation = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(options: BackgroundPlayerOptions) {
    this.options = options;
    // A spare mpv waits on its stdin, ready for the next track; any other player is started
    // only when needed (its start may open a sound device, or have other side effects).
    this.launcher = new PlayerLauncher(options.argv, {}, isMpvCommand(options.argv));
  }

  /** The current track's player, if a track is playing (tests read mpv's state through it). */
  get current(): Playback | undefined {
    return this.track?.playback;
  }

  get currentEntry(): RemoteEntry | undefined {
    return this.track?.entry;
  }

  get currentSource(): TrackSource | undefined {
    return this.track?.source;
  }

  get playing(): boolean {
    return this.track !== undefined;
  }

  /** `play ...`: the queue becomes `entries` and the first starts now. */
  async play(entries: readonly RemoteEntry[]): Promise<void> {
    const first = this.queue.replace(entries);
    await this.start(first);
  }

  /** `add ...`: appended; starts playing if nothing was. */
  async add(entries: readonly RemoteEntry[]): Promise<void> {
    const wasPlaying = this.track !== undefined;
    const wasIdle = this.queue.position < 0;
    this.queue.append(entries);
    if (!wasPlaying && wasIdle) await this.start(this.queue.current);
  }

  async next(): Promise<RemoteEntry | undefined> {
    if (this.queue.length === 0) throw nothingQueued();
    const entry = this.queue.next(true);
    await this.start(entry);
    return entry;
  }

  async prev(): Promise<RemoteEntry | undefined> {
    if (this.queue.length === 0) throw nothingQueued();
    const entry = this.queue.prev();
    await this.start(entry);
    return entry;
  }

  /** Jumps to queue entry `index` (0-based) and plays it. */
  async jump(index: number): Promise<RemoteEntry> {
    const entry = this.queue.jump(index);
    await this.start(entry);
    return entry;
  }

  /** Stops playing; the queue stays (`play` or `next` goes on from it). */
  async stop(): Promise<void> {
    this.generation++;
    await this.stopTrack();
    this.becameIdle();
  }

  /** The current player's controls; NOT_PLAYING when nothing plays. */
  control(): PlaybackControl {
    if (!this.track) throw new AudioStreamError('NOT_PLAYING', this.queue.length ? 'nothing is playing: type play, or next to go on with the queue' : 'nothing is playing: play N starts file N');
    return this.track.playback.control;
  }

  /** Resolves when nothing plays any more (at once if nothing does). */
  idle(): Promise<void> {
    if (!this.track) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the track and the spare player: the shell is leaving. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    await this.launcher.close();
    this.options.connection.close();
  }

  /** Plays `entry` (undefined: the queue has ended), stopping whatever played. */
  private async start(entry: RemoteEntry | undefined): Promise<void> {
    const generation = ++this.generation;
    await this.stopTrack();
    if (!entry || this.closed) {
      if (!entry) this.options.onTrack?.({ kind: 'end' });
      this.becameIdle();
      return;
    }
    const feed = new AbortController();
    let source: TrackSource;
    let playback: Playback;
    try {
      source = await this.options.sourceFor(entry, feed.signal);
      playback = await this.launcher.take();
    } catch (err) {
      if (generation === this.generation) this.becameIdle();
      throw err;
    }
    if (generation !== this.generation) {
      // Replaced while its player was starting.
      playback.stop();
      return;
    }
    const track: Track = { entry, playback, feed, source };
    this.track = track;
    this.options.onTrack?.({ kind: 'started', entry, position: this.queue.position, length: this.queue.length, source });
    void this.feedTrack(track, generation);
    void playback.ended.then(() => this.trackEnded(track, generation));
  }

  private async feedTrack(track: Track, generation: number): Promise<void> {
    const { player } = track.playback;
    const signal = track.feed.signal;
    let fetched = track.source.kind === 'local';
    try {
      if (track.source.kind === 'local') {
        await feedLocalFile(track.source.path, player, signal);
      } else {
        const file = await this.options.connection.fetch(track.entry, 0, signal);
        fetched = true;
        await playBody(file.body, player, undefined, file.release);
        // Over v2 the trailer says whether the bytes were right; the player has them anyway.
        if (file.trailer) await file.trailer;
      }
    } catch (err) {
      if (signal.aborted || generation !== this.generation) return;
      if (fetched) {
        // What has arrived still plays to its end; the rest of the queue goes on after it.
        player.endInput();
        this.options.onError(err, `while fetching ${track.entry.path}`);
      } else {
        // Nothing to play (the server is down and there is no local copy): on to the next.
        track.unfetchable = true;
        this.options.onError(err, `cannot play ${track.entry.path} (no saved copy to play instead)`);
        track.playback.stop();
      }
    }
  }

  private trackEnded(track: Track, generation: number): void {
    if (generation !== this.generation || this.track !== track) return;
    track.feed.abort();
    this.track = undefined;
    const failure = track.unfetchable ? undefined : track.playback.failure();
    if (failure) {
      // A player that cannot play (no sound device) would fail on every track: stop here.
      this.options.onError(failure, `playing ${track.entry.path}`);
      this.options.onTrack?.({ kind: 'end' });
      this.becameIdle();
      return;
    }
    if (!track.unfetchable) this.options.onTrack?.({ kind: 'finished', entry: track.entry });
    const next = this.queue.next();
    this.start(next).catch((err) => this.options.onError(err, next ? `playing ${next.path}` : 'playing'));
  }

  private async stopTrack(): Promise<void> {
    const track = this.track;
    this.track = undefined;
    if (!track) return;
    track.feed.abort();
    track.playback.stop();
    await track.playback.ended;
  }

  private becameIdle(): void {
    if (this.track) return;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }
}

function nothingQueued(): AudioStreamError {
  return new AudioStreamError('NOT_PLAYING', 'the queue is empty: play N or add N first');
}

/** Pipes a local file into the player at the player's pace, one chunk in memory at a time. */
async function feedLocalFile(path: string, player: Player, signal: AbortSignal): Promise<void> {
  const handle = await fs.promises.open(path, 'r');
  try {
    let at = 0;
    for (;;) {
      if (signal.aborted || player.hasExited) return;
      // A fresh buffer each time: the pipe keeps a reference until the player reads it.
      const chunk = Buffer.allocUnsafe(LOCAL_READ_CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      if (!(await player.write(chunk.subarray(0, bytesRead)))) return;
    }
    player.endInput();
  } catch (err) {
    if (isAudioStreamError(err)) throw err;
    throw new AudioStreamError('WRITE_FAILED', `cannot read the local copy ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    await handle.close();
  }
}
