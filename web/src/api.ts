/** The server's JSON API, typed as the page uses it (shapes in src/library/catalog-queries.ts). */

export interface Page<T> { items: T[]; offset: number; total: number }
export interface Artist { id: number; name: string; albums: number }
export interface Album { id: number; name: string; artistId: number; artist: string; tracks: number; year?: number }
export interface Track {
  id: number; path: string; size: number; title?: string; artist?: string; album?: string; albumArtist?: string;
  albumId?: number; track?: number; disc?: number; duration?: number; codec?: string;
}
export interface SessionInfo { loginRequired: boolean; user: { name: string; role: string } | null; csrfToken: string | null }
export interface FolderListing { folder: string; folders: string[]; tracks: Track[]; truncated: boolean }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

let csrfToken: string | null = null;

/** What the server puts inside the page (src/http/page-boot.ts): the session, and the first artists when browsing is allowed. */
export interface BootData { session: SessionInfo; artists?: Page<Artist> }

/**
 * The page's first data, taken once: later views (after a log-in, say) ask the API. The
 * element is a JSON data block, not a script, so the CSP's ban on inline scripts holds.
 */
export function takeBootData(): BootData | undefined {
  const element = document.getElementById('boot');
  if (!element) return undefined;
  element.remove();
  try {
    const boot = JSON.parse(element.textContent ?? '') as BootData;
    csrfToken = boot.session.csrfToken;
    return boot;
  } catch {
    return undefined;
  }
}

async function request<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method === 'POST') {
    headers['Content-Type'] = 'application/json';
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  }
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  const value = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new ApiError(res.status, value.error?.code ?? 'SERVER_ERROR', value.error?.message ?? res.statusText);
  return value as T;
}

function page(offset: number, limit: number): string {
  return `offset=${offset}&limit=${limit}`;
}

export const api = {
  async session(): Promise<SessionInfo> {
    const s = await request<SessionInfo>('GET', '/api/session');
    csrfToken = s.csrfToken;
    return s;
  },
  async login(name: string, password: string): Promise<SessionInfo> {
    const s = await request<SessionInfo>('POST', '/api/login', { name, password });
    csrfToken = s.csrfToken;
    return s;
  },
  async logout(): Promise<void> {
    await request('POST', '/api/logout', {});
    csrfToken = null;
  },
  artists: (offset: number, limit: number) => request<Page<Artist>>('GET', `/api/artists?${page(offset, limit)}`),
  artist: (id: number) => request<{ artist: Artist; albums: Page<Album> }>('GET', `/api/artists/${id}?limit=500`),
  albums: (offset: number, limit: number) => request<Page<Album>>('GET', `/api/albums?${page(offset, limit)}`),
  album: (id: number) => request<{ album: Album; tracks: Track[] }>('GET', `/api/albums/${id}`),
  folder: (path: string) => request<FolderListing>('GET', `/api/folders?path=${encodeURIComponent(path)}`),
  search: (text: string, offset: number, limit: number) => request<Page<Track>>('GET', `/api/search?q=${encodeURIComponent(text)}&${page(offset, limit)}`),
};

export function fileUrl(track: Track): string {
  return `/files/${track.id}`;
}

/** A track's cover art (the server answers with a placeholder where there is none). */
export function coverUrl(track: Track | undefined): string {
  return track ? `/api/tracks/${track.id}/cover` : '/assets/placeholder-cover.svg';
}

export function albumCoverUrl(album: Album): string {
  return `/api/albums/${album.id}/cover`;
}
