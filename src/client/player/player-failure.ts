import type { Readable } from 'node:stream';
import { AudioStreamError } from '../../protocol/index.js';
import { displayText } from '../listing-format.js';
import type { PlayerExit } from '../player.js';

/**
 * A player's own output, kept small and turned into one line a person can act on. Without
 * an audio device mpv, ALSA, JACK and PipeWire print about 30 lines between them
 * (test/fixtures/player-output/); the user needs one: what happened and what to do.
 */

/** Lines kept: the last ones matter (mpv's verdict comes last), and a chatty player cannot grow memory. */
const MAX_LINES = 64;
/** A longer line is cut; nothing a player says about a failure needs more. */
const MAX_LINE_CHARS = 400;

export const NO_AUDIO_MESSAGE = 'no audio output could be opened: check the audio output, or try --player "mpv --ao=null" to test';

/**
 * Reads a player's stdout and stderr to the end (a pipe nobody reads would stall the
 * player) and keeps the last MAX_LINES lines, each cut to MAX_LINE_CHARS.
 */
export class PlayerOutputCapture {
  private readonly kept: string[] = [];
  private readonly partial = new Map<Readable, string>();
  /** Lines seen in all, kept or not. */
  seen = 0;

  constructor(streams: readonly Readable[] = []) {
    for (const s of streams) this.attach(s);
  }

  attach(stream: Readable): void {
    stream.setEncoding('utf8');
    this.partial.set(stream, '');
    stream.on('data', (text: string) => {
      const lines = (this.partial.get(stream)! + text).split(/\r?\n|\r/);
      // The tail may be a line still being written; hold at most one line's worth of it.
      this.partial.set(stream, lines.pop()!.slice(0, MAX_LINE_CHARS));
      for (const line of lines) this.push(line);
    });
    stream.once('end', () => {
      const rest = this.partial.get(stream);
      if (rest) this.push(rest);
      this.partial.set(stream, '');
    });
    stream.on('error', () => {});
  }

  /** The kept lines, oldest first, without blank ones. */
  get lines(): readonly string[] {
    return this.kept;
  }

  private push(line: string): void {
    if (line.trim() === '') return;
    this.seen++;
    this.kept.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    if (this.kept.length > MAX_LINES) this.kept.shift();
  }
}

/**
 * What audio stacks print when there is no device or sound server. mpv's own verdict,
 * then ALSA (aplay, SDL), PulseAudio and ffplay/SDL, as seen on a machine without a sound card.
 */
const NO_AUDIO_PATTERNS: readonly RegExp[] = [
  /Could not open\/initialize audio device/i, // mpv, after trying every --ao
  /\[ao\] Failed to initialize audio driver/i, // mpv, one per driver
  /audio open (error|failed)/i, // aplay; ffplay's "No more combinations to try, audio open failed"
  /SDL_OpenAudio|Couldn't open audio device|could not open audio/i, // ffplay, mpv's sdl output
  /Playback open error/i, // mpv --ao=alsa
  /pa_context_connect|Connection failure: Connection refused/i, // PulseAudio clients (paplay)
  /no audio (device|output)/i,
];

/** Library noise that says nothing by itself (it is printed even when a fallback works). */
const NOISE_PATTERNS: readonly RegExp[] = [
  /^ALSA lib /,
  /^\[[EWIDT]\]\[[\d.]+\] /, // PipeWire's log lines
  /jack|JackShm|Cannot connect to server/i,
  /^Exiting\.\.\./,
  /^\s*\(\+\)|^File tags:|^ [A-Z][a-z]+: /, // mpv's track and tag lines at higher verbosity
];

/** True when the output says that no audio output could be opened. */
export function saysNoAudio(lines: readonly string[]): boolean {
  return lines.some((line) => NO_AUDIO_PATTERNS.some((p) => p.test(line)));
}

/** The line that best says what went wrong: the last one that is not library noise. */
export function lastMeaningfulLine(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line && !NOISE_PATTERNS.some((p) => p.test(line))) return line;
  }
  return undefined;
}

function describeExit(exit: PlayerExit | undefined): string {
  if (!exit) return 'the player failed';
  if (exit.signal) return `the player was stopped by ${exit.signal}`;
  return `the player exited with status ${exit.code}`;
}

/**
 * One line for a player that failed, as an error with a stable code: PLAYER_NO_AUDIO when
 * no audio output could be opened (whatever the exit status: ffplay exits 0 then), else
 * PLAYER_FAILED with the exit status and the player's last meaningful line. Undefined when
 * the player ended normally and said nothing alarming. The player's words are escaped:
 * they can quote tags, which come from the file.
 */
export function summarisePlayerFailure(lines: readonly string[], exit: PlayerExit | undefined): AudioStreamError | undefined {
  if (saysNoAudio(lines)) return new AudioStreamError('PLAYER_NO_AUDIO', NO_AUDIO_MESSAGE);
  const failed = exit === undefined || exit.signal !== null || exit.code !== 0;
  if (!failed) return undefined;
  const said = lastMeaningfulLine(lines);
  if (said && /Failed to recognize file format/i.test(said)) {
    return new AudioStreamError('PLAYER_FAILED', `${describeExit(exit)}: it could not recognise the audio format (the file may be damaged, or not audio)`);
  }
  return new AudioStreamError('PLAYER_FAILED', said ? `${describeExit(exit)}: ${displayText(said)}` : describeExit(exit));
}
