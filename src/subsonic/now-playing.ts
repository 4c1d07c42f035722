/** How long a "now playing" report stands without another (longer than most tracks). */
export const NOW_PLAYING_TTL_MS = 30 * 60_000;
/** Most players listed at once (every length limited). */
export const MAX_NOW_PLAYING = 200;
/** Longest client name kept. */
const MAX_PLAYER_NAME = 128;

export interface NowPlayingEntry {
  username: string;
  playerName: string;
  playerId: number;
  trackId: number;
  atMs: number;
}

/**
 * What each user's players reported playing (scrobble with submission=false), in memory
 * only: it describes this moment, so a restart rightly forgets it. One entry per user and
 * client name; entries expire after NOW_PLAYING_TTL_MS.
 */
export class NowPlayingBoard {
  private readonly entries = new Map<string, NowPlayingEntry>();
  private nextPlayerId = 1;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  report(username: string, playerName: string, trackId: number): void {
    const name = playerName.slice(0, MAX_PLAYER_NAME);
    const key = JSON.stringify([username, name]);
    const previous = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, { username, playerName: name, playerId: previous?.playerId ?? this.nextPlayerId++, trackId, atMs: this.now() });
    // The oldest report goes first when the board is full (a Map keeps insertion order).
    while (this.entries.size > MAX_NOW_PLAYING) this.entries.delete(this.entries.keys().next().value!);
  }

  /** A play submitted ends that player's "now playing" for the same file. */
  finished(username: string, playerName: string, trackId: number): void {
    const key = JSON.stringify([username, playerName.slice(0, MAX_PLAYER_NAME)]);
    if (this.entries.get(key)?.trackId === trackId) this.entries.delete(key);
  }

  /** The standing entries, newest first. */
  list(): NowPlayingEntry[] {
    const cutoff = this.now() - NOW_PLAYING_TTL_MS;
    for (const [key, entry] of this.entries) if (entry.atMs < cutoff) this.entries.delete(key);
    return [...this.entries.values()].reverse();
  }
}
