import fs from 'node:fs';
import { AudioStreamError, isAudioStreamError } from '../protocol/index.js';
import type { ClientConnection, RemoteEntry } from './client-connection.js';
import type { Player } from './player.js';
import { type Playback } from './player/mpv-controller.js';
import { isMpvCommand, type PlaybackControl } from './player/playback-control.js';
import { PlayerLauncher } from './player/player-launcher.js';
import { PlayQueue } from './player/play-queue.js';
import { HeadCapture, notArrivedLine, rangeSeekerFor, type RangePlan, type RangeSeeker } from './player/byte-range-seek.js';
import { Mp3FrameSync } from './player/mp3-layout.js';
import { TrackControl, type TrackTimeline } from './player/track-control.js';
import { formatDuration } from './listing-format.js';
import { playBody } from './transfer.js';

/** Bytes read from a local copy per write into the player's pipe. */
const LOCAL_READ_CHUNK = 256 * 1024;
/**
 * The first read is small: a pipe holds 64 KiB, so a 256 KiB first write is taken only as
 * the player reads it, and the player's first bytes would wait for the whole read.
 */
const LOCAL_FIRST_CHUNK = 16 * 1024;

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
  /** Seconds of the track before this player's first byte (a stream from a byte range). */
  timeBase: number;
  /** What a seek by byte range needs; kept when the track restarts from a range. */
  range: TrackRange;
}

/** A track's first bytes and size, captured from its transfer from the start, and what they say. */
interface TrackRange {
  capture: HeadCapture;
  size?: number;
  seeker?: RangeSeeker | string;
}

/** The last stream started from a byte range (tests compare its bytes with the file's). */
export interface RangeStart {
  path: string;
  /** The byte asked for. */
  offset: number;
  /** Bytes dropped before the first MP3 frame boundary (0 for WAV). */
  skipped: number;
  /** The track time the new stream starts at. */
  seconds: number;
}

/**
 * The next track's spare player is started this long after a track starts, not at once:
 * its spawn blocks the event loop for milliseconds (more on a busy machine), which would
 * fall between `play` and the track's first bytes (bench 9e/9f).
 */
const SPARE_DELAY_MS = 150;

/** How long a seek by byte range waits for the new stream to play before answering. */
const RANGE_START_TIMEOUT_MS = 10_000;

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
  /** The current track's controls in track time, whichever player plays it now. */
  private readonly trackControl: TrackControl;
  /** Set when a stream starts from a byte range. */
  lastRangeStart: RangeStart | undefined;

  constructor(options: BackgroundPlayerOptions) {
    this.options = options;
    // A spare mpv waits on its stdin, ready for the next track; any other player is started
    // only when needed (its start may open a sound device, or have other side effects).
    this.launcher = new PlayerLauncher(options.argv, {}, isMpvCommand(options.argv));
    const self = this;
    const timeline: TrackTimeline = {
      get inner() {
        return self.track?.playback.control;
      },
      get timeBase() {
        return self.track?.timeBase ?? 0;
      },
      get trackDuration() {
        const seeker = self.track?.range.seeker;
        return typeof seeker === 'object' ? seeker.duration : self.track?.entry.duration;
      },
      get canSeekByRange() {
        return self.track?.source.kind === 'server';
      },
      seekByRange: (seconds) => this.seekByRange(seconds),
    };
    this.trackControl = new TrackControl(timeline);
  }

  /** The current track's controls in track time (status and now playing read these). */
  get currentControl(): PlaybackControl | undefined {
    return this.track ? this.trackControl : undefined;
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
    return this.trackControl;
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
      playback = await this.launcher.take(true);
    } catch (err) {
      if (generation === this.generation) this.becameIdle();
      throw err;
    }
    if (generation !== this.generation) {
      // Replaced while its player was starting.
      this.prepareSpareSoon();
      playback.stop();
      return;
    }
    const track: Track = { entry, playback, feed, source, timeBase: 0, range: { capture: new HeadCapture() } };
    this.track = track;
    this.options.onTrack?.({ kind: 'started', entry, position: this.queue.position, length: this.queue.length, source });
    void this.feedTrack(track, generation);
    void playback.ended.then(() => this.trackEnded(track, generation));
    this.prepareSpareSoon();
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
        track.range.size = file.size;
        // A few bytes of the start, copied as they pass: a seek beyond what has arrived needs them.
        let at = 0;
        file.body.on('data', (chunk: Buffer) => {
          track.range.capture.take(chunk, at);
          at += chunk.length;
        });
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

  /**
   * Restarts the current track from the byte range that holds `seconds` (over v2, for the
   * formats byte-range-seek.ts can cut): the transfer and player are stopped and a new player
   * is fed a new GET from that byte, with the WAV header first. Resolves once the new stream
   * plays. Refuses with SEEK_NOT_BUFFERED, in one line, when it cannot be done.
   */
  private async seekByRange(seconds: number): Promise<void> {
    const track = this.track;
    if (!track) throw new AudioStreamError('NOT_PLAYING', 'nothing is playing: play N starts file N');
    const connection = this.options.connection;
    if (connection.version !== 2) {
      throw new AudioStreamError('SEEK_NOT_BUFFERED', notArrivedLine(seconds, 'this server speaks only protocol v1, which cannot send part of a file'));
    }
    const { range } = track;
    if (range.size === undefined || range.capture.headLength === 0) {
      throw new AudioStreamError('SEEK_NOT_BUFFERED', `${formatDuration(seconds)} has not arrived yet, and the start of the file has not either: try again in a moment`);
    }
    range.seeker ??= rangeSeekerFor(range.capture, range.size);
    const seeker = range.seeker;
    if (typeof seeker === 'string') throw new AudioStreamError('SEEK_NOT_BUFFERED', notArrivedLine(seconds, seeker));
    if (seconds >= seeker.duration) throw new AudioStreamError('USAGE', `this track is only ${formatDuration(seeker.duration)} long`);
    const plan = seeker.plan(seconds);

    const generation = ++this.generation;
    await this.stopTrack();
    let playback: Playback;
    try {
      playback = await this.launcher.take(true);
    } catch (err) {
      if (generation === this.generation) this.becameIdle();
      throw err;
    }
    if (generation !== this.generation) {
      playback.stop();
      return;
    }
    const next: Track = { entry: track.entry, playback, feed: new AbortController(), source: track.source, timeBase: plan.seconds, range };
    this.track = next;
    void this.feedRange(next, generation, plan);
    void playback.ended.then(() => this.trackEnded(next, generation));
    this.prepareSpareSoon();
    // Answer once it plays, so that `seek` says where it landed (in track time).
    const deadline = performance.now() + RANGE_START_TIMEOUT_MS;
    while (this.track === next && performance.now() < deadline) {
      if ((await playback.control.getTimePos().catch(() => undefined)) !== undefined) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Feeds a track restarted at `plan`: the prefix (WAV header), then the file from its offset. */
  private async feedRange(track: Track, generation: number, plan: RangePlan): Promise<void> {
    const { player } = track.playback;
    const signal = track.feed.signal;
    const sync = plan.frame ? new Mp3FrameSync(plan.frame) : undefined;
    try {
      const file = await this.options.connection.fetch(track.entry, plan.offset, signal);
      if (file.offset !== plan.offset) throw new AudioStreamError('PROTOCOL_ERROR', `asked for ${track.entry.path} from byte ${plan.offset}, the server sent it from byte ${file.offset}`);
      if (plan.prefix.length > 0 && !(await player.write(plan.prefix))) return;
      let started = !sync;
      if (started) this.lastRangeStart = { path: track.entry.path, offset: plan.offset, skipped: 0, seconds: plan.seconds };
      // Async iteration reads one chunk at a time: the socket waits while the player is full.
      for await (const chunk of file.body as AsyncIterable<Buffer>) {
        if (signal.aborted) return;
        let out: Buffer[] = [chunk];
        if (sync) {
          try {
            out = sync.feed(chunk);
          } catch (err) {
            throw new AudioStreamError('SEEK_NOT_BUFFERED', `no MP3 frame was found from byte ${plan.offset} of ${track.entry.path}: ${(err as Error).message}`);
          }
          if (!started && sync.synced) {
            started = true;
            const at = plan.offset + sync.skipped;
            if (plan.frameTime) track.timeBase = plan.frameTime(at);
            this.lastRangeStart = { path: track.entry.path, offset: plan.offset, skipped: sync.skipped, seconds: track.timeBase };
          }
        }
        for (const bytes of out) if (!(await player.write(bytes))) return;
      }
      player.endInput();
      if (file.trailer) await file.trailer;
    } catch (err) {
      if (signal.aborted || generation !== this.generation) return;
      player.endInput();
      this.options.onError(err, `while fetching ${track.entry.path} from ${formatDuration(plan.seconds)}`);
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

  private prepareSpareSoon(): void {
    setTimeout(() => {
      if (!this.closed) this.launcher.prepare();
    }, SPARE_DELAY_MS).unref();
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
      const chunk = Buffer.allocUnsafe(at === 0 ? LOCAL_FIRST_CHUNK : LOCAL_READ_CHUNK);
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
