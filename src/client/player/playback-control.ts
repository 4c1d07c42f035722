import path from 'node:path';
import { AudioStreamError } from '../../protocol/index.js';

/**
 * What the shell can ask of whatever plays the music. mpv does all of it over its JSON IPC
 * (MpvController); any other `--player` only takes bytes on stdin, and its PipeOnlyControl
 * answers every control with one plain PLAYER_UNSUPPORTED line instead of pretending.
 */
export interface PlaybackControl {
  /** False for a player that can only be fed and stopped. */
  readonly canControl: boolean;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Pauses or resumes; resolves to true when now paused. */
  togglePause(): Promise<boolean>;
  /** To `seconds` from the start (clamped at 0). */
  seekTo(seconds: number): Promise<void>;
  /** Forward (positive) or back (negative) from where it plays now. */
  seekBy(deltaSeconds: number): Promise<void>;
  /** 0 to 100 (mpv accepts up to its --volume-max, 130 by default). */
  setVolume(volume: number): Promise<void>;
  getVolume(): Promise<number | undefined>;
  /** Seconds played, from the player; undefined before the file is open. */
  getTimePos(): Promise<number | undefined>;
  /** Seconds in all, as the player reckons it; undefined when it cannot tell. */
  getDuration(): Promise<number | undefined>;
  isPaused(): Promise<boolean>;
}

/** The one error every unsupported control gives, so that the shell and tests match on one code. */
export function unsupportedControl(what: string): AudioStreamError {
  return new AudioStreamError('PLAYER_UNSUPPORTED', `this player cannot ${what} (use mpv for playback controls)`);
}

/** True when the player command runs mpv (by program name, wherever it is installed). */
export function isMpvCommand(argv: readonly string[]): boolean {
  const program = argv[0];
  if (!program) return false;
  return /^mpv(\.exe|\.com)?$/i.test(path.basename(program));
}

/** The controls of a player that only reads stdin: none, each refused in plain words. */
export class PipeOnlyControl implements PlaybackControl {
  readonly canControl = false;

  pause(): Promise<void> {
    return Promise.reject(unsupportedControl('pause'));
  }
  resume(): Promise<void> {
    return Promise.reject(unsupportedControl('resume'));
  }
  togglePause(): Promise<boolean> {
    return Promise.reject(unsupportedControl('pause'));
  }
  seekTo(_seconds: number): Promise<void> {
    return Promise.reject(unsupportedControl('seek'));
  }
  seekBy(_deltaSeconds: number): Promise<void> {
    return Promise.reject(unsupportedControl('seek'));
  }
  setVolume(_volume: number): Promise<void> {
    return Promise.reject(unsupportedControl('change the volume'));
  }
  /** Reading state is not an action the user asked for: "unknown" rather than an error. */
  getVolume(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }
  getTimePos(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }
  getDuration(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }
  isPaused(): Promise<boolean> {
    return Promise.resolve(false);
  }
}
