import { AudioStreamError } from '../protocol/index.js';
import type { BackgroundPlayer } from './background-player.js';
import type { RemoteEntry } from './client-connection.js';
import { describeTrack, formatProgress } from './player/now-playing.js';
import type { ShellOutput } from './shell-output.js';

/** The shell's playback commands, as typed. */
export const PLAYER_COMMANDS = ['play', 'add', 'queue', 'next', 'prev', 'pause', 'resume', 'toggle', 'seek', 'vol', 'stop', 'status'] as const;

export const PLAYER_HELP = `  play N...     play in the background, replacing the queue: play 3, play 3 5 7,
                play 3-9, play all, play FOLDER, or play find WORDS
  add N...      add to the end of the queue (same choices as play)
  queue         show the queue; > marks what plays
  next, prev    the next or the previous track in the queue
  pause, resume pause or go on (toggle does either)
  seek T        seek +10, seek -10 (seconds from here), seek 1:30 or seek 90 (from the start);
                beyond what has arrived too, for mp3 and wav (the rest is fetched from there)
  vol N         the volume, 0 to 100 (mpv goes to 130); vol alone shows it
  stop          stop playing (the queue stays: play or next goes on)
  status        what plays: title — artist — album, elapsed / total, place in the queue
`;

/** Chooses the files a `play`/`add` names, from the shell's listing. */
export type EntrySelector = (command: string, args: string[], signal: AbortSignal) => Promise<RemoteEntry[]>;

/**
 * `play`, `add`, `queue`, `next`, `prev`, `pause`, `resume`, `toggle`, `seek`, `vol`,
 * `stop` and `status`: each turned into a call on the BackgroundPlayer, with its answer
 * printed as one line. Controls the player cannot do fail with its PLAYER_UNSUPPORTED line.
 */
export class PlayerCommands {
  constructor(
    private readonly player: BackgroundPlayer,
    private readonly out: ShellOutput,
    private readonly select: EntrySelector,
  ) {}

  /** True when `command` is one of PLAYER_COMMANDS (and was run). */
  async run(command: string, args: string[], signal: AbortSignal): Promise<boolean> {
    switch (command) {
      case 'play':
        await this.player.play(await this.select(command, args, signal));
        return true;
      case 'add': {
        const entries = await this.select(command, args, signal);
        await this.player.add(entries);
        this.out.line(`added ${plural(entries.length, 'file')} (the queue has ${plural(this.player.queue.length, 'file')})`);
        return true;
      }
      case 'queue':
        this.noArguments(command, args);
        await this.showQueue(signal);
        return true;
      case 'next':
        this.noArguments(command, args);
        if (!(await this.player.next())) this.out.line('(the end of the queue)');
        return true;
      case 'prev':
        this.noArguments(command, args);
        await this.player.prev();
        return true;
      case 'pause':
        this.noArguments(command, args);
        await this.player.control().pause();
        this.out.line('paused');
        return true;
      case 'resume':
        this.noArguments(command, args);
        await this.player.control().resume();
        this.out.line('playing');
        return true;
      case 'toggle':
        this.noArguments(command, args);
        this.out.line((await this.player.control().togglePause()) ? 'paused' : 'playing');
        return true;
      case 'seek':
        await this.seek(args);
        return true;
      case 'vol':
        await this.volume(args);
        return true;
      case 'stop':
        this.noArguments(command, args);
        await this.player.stop();
        this.out.line('stopped');
        return true;
      case 'status':
        this.noArguments(command, args);
        this.out.line(await this.statusLine());
        return true;
      default:
        return false;
    }
  }

  /** `Title — Artist — Album   0:42 / 3:00   [2/12]`, or what the queue holds. */
  async statusLine(): Promise<string> {
    const entry = this.player.currentEntry;
    const control = this.player.currentControl;
    if (!entry || !control) {
      const n = this.player.queue.length;
      return n ? `nothing is playing (the queue has ${plural(n, 'file')})` : 'nothing is playing';
    }
    // The player may exit between two questions: its state is then simply unknown.
    const [elapsed, duration, paused, volume] = await Promise.all([
      control.getTimePos().catch(() => undefined),
      control.getDuration().catch(() => undefined),
      control.isPaused().catch(() => false),
      control.getVolume().catch(() => undefined),
    ]);
    const parts = [describeTrack(entry), formatProgress(elapsed, duration ?? entry.duration)];
    if (paused) parts.push('paused');
    parts.push(`[${this.player.queue.position + 1}/${this.player.queue.length}]`);
    if (volume !== undefined) parts.push(`vol ${Math.round(volume)}`);
    if (this.player.currentSource?.kind === 'local') parts.push('(local copy)');
    return parts.join('   ');
  }

  private async showQueue(signal: AbortSignal): Promise<void> {
    const { entries, position } = this.player.queue;
    if (entries.length === 0) {
      this.out.line('(the queue is empty: play N or add N)');
      return;
    }
    const width = String(entries.length).length;
    const lines = function* (): Generator<string> {
      for (const [i, e] of entries.entries()) yield `${i === position ? '>' : ' '} ${String(i + 1).padStart(width)}  ${describeTrack(e)}  (file ${e.index})`;
    };
    await this.out.lines(lines(), signal);
  }

  private async seek(args: string[]): Promise<void> {
    const control = this.player.control();
    const target = args.length === 1 ? parseSeek(args[0]!) : undefined;
    if (!target) throw new AudioStreamError('USAGE', 'say where to: seek +10, seek -10, seek 1:30 or seek 90');
    if (target.relative) await control.seekBy(target.seconds);
    else await control.seekTo(target.seconds);
    const at = await control.getTimePos().catch(() => undefined);
    this.out.line(`at ${formatProgress(at, await control.getDuration().catch(() => undefined))}`);
  }

  private async volume(args: string[]): Promise<void> {
    const control = this.player.control();
    if (args.length === 0) {
      const v = await control.getVolume();
      this.out.line(v === undefined ? 'this player does not say its volume' : `volume ${Math.round(v)}`);
      return;
    }
    if (args.length !== 1 || !/^\d{1,3}$/.test(args[0]!)) throw new AudioStreamError('USAGE', 'give the volume as a number from 0 to 100: vol 50');
    await control.setVolume(Number(args[0]));
    const v = await control.getVolume();
    this.out.line(`volume ${Math.round(v ?? Number(args[0]))}`);
  }

  private noArguments(command: string, args: string[]): void {
    if (args.length > 0) throw new AudioStreamError('USAGE', `${command} takes no arguments: type ${command}`);
  }
}

/** `+10`/`-10`: seconds from here; `90`, `1:30`, `1:02:03`: from the start. */
export function parseSeek(arg: string): { relative: boolean; seconds: number } | undefined {
  const relative = /^([+-])(\d{1,6}(?:\.\d+)?)$/.exec(arg);
  if (relative) return { relative: true, seconds: Number(relative[2]) * (relative[1] === '-' ? -1 : 1) };
  if (/^\d{1,6}(\.\d+)?$/.test(arg)) return { relative: false, seconds: Number(arg) };
  const clock = /^(?:(\d{1,3}):)?(\d{1,3}):(\d{2})$/.exec(arg);
  if (clock && Number(clock[3]) < 60) return { relative: false, seconds: Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]) };
  return undefined;
}

/** "1 file", "2 files". */
export function plural(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}
