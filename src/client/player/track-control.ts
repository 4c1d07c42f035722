import { isAudioStreamError } from '../../protocol/index.js';
import type { PlaybackControl } from './playback-control.js';

/** What TrackControl needs of the track playing now. */
export interface TrackTimeline {
  /** The current player's own controls; undefined when nothing plays. */
  readonly inner: PlaybackControl | undefined;
  /**
   * Seconds of the track before the first byte of the current player's stream: 0 for a
   * stream from the start, the cut's time for one started from a byte range.
   */
  readonly timeBase: number;
  /** The whole track's length when the player cannot know it (a stream from a byte range). */
  readonly trackDuration: number | undefined;
  /** Restarts the track's stream at a byte range that holds `seconds`; rejects when it cannot. */
  seekByRange(seconds: number): Promise<void>;
  /** Whether a seek the player refuses (not arrived) may be tried by a byte range. */
  readonly canSeekByRange: boolean;
}

/**
 * The controls of the track playing now, in the track's own time. A stream restarted from a
 * byte range starts mpv at 0 again, so its times are shifted by the cut's time here: `status`,
 * the now-playing line and `seek` all see the absolute track time. A seek before the cut, or
 * beyond what has arrived, asks the timeline for a new byte range.
 */
export class TrackControl implements PlaybackControl {
  constructor(private readonly track: TrackTimeline) {}

  private get inner(): PlaybackControl {
    const inner = this.track.inner;
    if (!inner) throw new Error('TrackControl used with nothing playing');
    return inner;
  }

  get canControl(): boolean {
    return this.track.inner?.canControl ?? false;
  }

  pause(): Promise<void> {
    return this.inner.pause();
  }

  resume(): Promise<void> {
    return this.inner.resume();
  }

  togglePause(): Promise<boolean> {
    return this.inner.togglePause();
  }

  async seekTo(seconds: number): Promise<void> {
    const inner = this.inner;
    if (!inner.canControl) return inner.seekTo(seconds);
    const target = Math.max(0, seconds);
    const local = target - this.track.timeBase;
    if (local < 0 && this.track.canSeekByRange) return this.track.seekByRange(target);
    try {
      await inner.seekTo(Math.max(0, local));
    } catch (err) {
      if (!isAudioStreamError(err, 'SEEK_NOT_BUFFERED') || !this.track.canSeekByRange) throw err;
      await this.track.seekByRange(target);
    }
  }

  async seekBy(deltaSeconds: number): Promise<void> {
    const inner = this.inner;
    if (!inner.canControl) return inner.seekBy(deltaSeconds);
    const now = await this.getTimePos();
    if (now === undefined) return inner.seekBy(deltaSeconds); // says "nothing has started playing yet"
    await this.seekTo(now + deltaSeconds);
  }

  setVolume(volume: number): Promise<void> {
    return this.inner.setVolume(volume);
  }

  getVolume(): Promise<number | undefined> {
    return this.inner.getVolume();
  }

  async getTimePos(): Promise<number | undefined> {
    const base = this.track.timeBase;
    const t = await this.inner.getTimePos();
    return t === undefined ? undefined : t + base;
  }

  async getDuration(): Promise<number | undefined> {
    // mpv knows the length of what it was given: from a cut, that is only the rest.
    if (this.track.timeBase > 0) return this.track.trackDuration;
    return this.inner.getDuration();
  }

  isPaused(): Promise<boolean> {
    return this.inner.isPaused();
  }
}
