import { coverUrl, fileUrl, type Track } from './api.js';
import type { PlayQueue } from './queue.js';

export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '0:00';
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function trackTitle(t: Track): string {
  return t.title ?? t.path.split('/').pop() ?? t.path;
}

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/**
 * Drives the audio element from the queue and shows what plays: title, cover, elapsed and
 * total, the seek bar, volume; and tells the operating system (Media Session API: lock
 * screen, media keys).
 */
export class Player {
  readonly audio = byId<HTMLAudioElement>('audio');
  private readonly seek = byId<HTMLInputElement>('seek');
  private loadedId: number | undefined;
  private seeking = false;

  constructor(private readonly queue: PlayQueue) {
    queue.onChange(() => this.sync());
    const a = this.audio;
    a.addEventListener('timeupdate', () => this.showTime());
    a.addEventListener('durationchange', () => this.showTime());
    a.addEventListener('play', () => this.showPlaying());
    a.addEventListener('pause', () => this.showPlaying());
    a.addEventListener('ended', () => {
      if (!queue.next(true)) this.showPlaying();
      else if (queue.repeat === 'one') void this.restart();
    });
    this.seek.addEventListener('input', () => {
      this.seeking = true;
      byId('elapsed').textContent = formatTime(Number(this.seek.value));
    });
    this.seek.addEventListener('change', () => {
      this.seeking = false;
      a.currentTime = Number(this.seek.value);
    });
    const volume = byId<HTMLInputElement>('volume');
    volume.addEventListener('input', () => (a.volume = Number(volume.value)));
    byId('play').addEventListener('click', () => this.toggle());
    byId('next').addEventListener('click', () => queue.next());
    byId('prev').addEventListener('click', () => this.previous());
    if ('mediaSession' in navigator) {
      const ms = navigator.mediaSession;
      ms.setActionHandler('play', () => void a.play());
      ms.setActionHandler('pause', () => a.pause());
      ms.setActionHandler('nexttrack', () => queue.next());
      ms.setActionHandler('previoustrack', () => this.previous());
      ms.setActionHandler('seekto', (d) => {
        if (d.seekTime !== undefined) a.currentTime = d.seekTime;
      });
      ms.setActionHandler('seekbackward', (d) => this.skip(-(d.seekOffset ?? 10)));
      ms.setActionHandler('seekforward', (d) => this.skip(d.seekOffset ?? 10));
    }
  }

  toggle(): void {
    if (!this.queue.current) return;
    if (this.audio.paused) void this.audio.play();
    else this.audio.pause();
  }

  skip(seconds: number): void {
    const a = this.audio;
    a.currentTime = Math.max(0, Math.min((a.duration || 0), a.currentTime + seconds));
  }

  /** Back to the start of the track after 3 s, else the previous track (as most players do). */
  previous(): void {
    if (this.audio.currentTime > 3) this.audio.currentTime = 0;
    else if (!this.queue.previous()) this.audio.currentTime = 0;
  }

  private async restart(): Promise<void> {
    this.audio.currentTime = 0;
    await this.audio.play().catch(() => {});
  }

  /** Loads the queue's current track if it changed, and shows it. */
  private sync(): void {
    const t = this.queue.current;
    if (t && t.id !== this.loadedId) {
      this.loadedId = t.id;
      this.audio.src = fileUrl(t);
      void this.audio.play().catch(() => this.showPlaying());
    }
    byId('now-title').textContent = t ? trackTitle(t) : 'Nothing playing';
    byId('now-sub').textContent = t ? [t.artist, t.album].filter(Boolean).join(' — ') : '';
    byId<HTMLImageElement>('cover').src = coverUrl(t);
    byId('shuffle').setAttribute('aria-pressed', String(this.queue.shuffle));
    byId('repeat').setAttribute('aria-pressed', String(this.queue.repeat !== 'off'));
    byId('repeat').textContent = `Repeat: ${this.queue.repeat}`;
    if (t && 'mediaSession' in navigator) {
      navigator.mediaSession.metadata = new MediaMetadata({
        title: trackTitle(t),
        artist: t.artist ?? '',
        album: t.album ?? '',
        artwork: [{ src: coverUrl(t), sizes: '512x512' }],
      });
    }
    document.dispatchEvent(new CustomEvent('queuechange'));
  }

  private showTime(): void {
    const a = this.audio;
    const duration = Number.isFinite(a.duration) ? a.duration : (this.queue.current?.duration ?? 0);
    this.seek.max = String(duration);
    if (!this.seeking) {
      this.seek.value = String(a.currentTime);
      byId('elapsed').textContent = formatTime(a.currentTime);
    }
    byId('total').textContent = formatTime(duration);
    if ('mediaSession' in navigator && duration > 0 && a.currentTime <= duration) {
      navigator.mediaSession.setPositionState({ duration, position: a.currentTime, playbackRate: a.playbackRate });
    }
  }

  private showPlaying(): void {
    const playing = !this.audio.paused;
    const button = byId('play');
    button.textContent = playing ? 'Pause' : 'Play';
    button.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    if ('mediaSession' in navigator) navigator.mediaSession.playbackState = playing ? 'playing' : 'paused';
  }
}
