import { albumCoverUrl, api, ApiError, coverUrl, takeBootData, type Artist, type BootData, type Page, type Track } from './api.js';
import { Player, formatTime, trackTitle } from './player.js';
import { PlayQueue } from './queue.js';

/** Rows asked for per page: a screenful and some (the page arrives with as many artists: src/http/page-boot.ts). */
const PAGE = 100;

const queue = new PlayQueue();
const player = new Player(queue);

function byId<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

const list = byId<HTMLUListElement>('list');
const more = byId<HTMLButtonElement>('more');
let moreAction: (() => Promise<void>) | undefined;
/** What is listed now, so a late answer for an older view is dropped. */
let viewToken = 0;

function showView(title: string, tab: string): number {
  byId('view-title').textContent = title;
  for (const b of document.querySelectorAll<HTMLButtonElement>('.tab')) b.classList.toggle('active', b.dataset.view === tab);
  list.replaceChildren();
  more.hidden = true;
  moreAction = undefined;
  return ++viewToken;
}

function row(main: string, sub: string, onClick: () => void, cover?: string): HTMLLIElement {
  const li = el('li');
  if (cover) {
    const img = el('img');
    img.src = cover;
    img.alt = '';
    img.loading = 'lazy';
    li.append(img);
  }
  const text = el('div', undefined, 'grow');
  text.append(el('div', main), el('div', sub, 'sub'));
  li.append(text);
  li.addEventListener('click', onClick);
  return li;
}

/** Lists tracks; a click plays the list from that track. */
function trackRows(tracks: Track[], all: () => Track[]): void {
  for (const t of tracks) {
    const li = row(
      `${t.track !== undefined ? `${t.track}. ` : ''}${trackTitle(t)}`,
      [t.artist, t.album, t.duration !== undefined ? formatTime(t.duration) : undefined].filter(Boolean).join(' — '),
      () => {
        const tracksNow = all();
        queue.play(tracksNow, tracksNow.indexOf(t));
      },
    );
    li.dataset.trackId = String(t.id);
    if (queue.current?.id === t.id) li.classList.add('playing');
    list.append(li);
  }
}

async function showArtists(offset = 0, first?: Page<Artist>): Promise<void> {
  const token = offset === 0 ? showView('Artists', 'artists') : viewToken;
  const page = first ?? (await api.artists(offset, PAGE));
  if (token !== viewToken) return;
  for (const a of page.items) list.append(row(a.name, `${a.albums} album${a.albums === 1 ? '' : 's'}`, () => void showArtist(a.id)));
  paged(page.offset + page.items.length, page.total, (next) => showArtists(next));
}

async function showArtist(id: number): Promise<void> {
  const token = showView('', 'artists');
  const { artist, albums } = await api.artist(id);
  if (token !== viewToken) return;
  byId('view-title').textContent = artist.name;
  for (const al of albums.items) list.append(row(al.name, [al.year, `${al.tracks} tracks`].filter(Boolean).join(' · '), () => void showAlbum(al.id), albumCoverUrl(al)));
}

async function showAlbums(offset = 0): Promise<void> {
  const token = offset === 0 ? showView('Albums', 'albums') : viewToken;
  const page = await api.albums(offset, PAGE);
  if (token !== viewToken) return;
  for (const al of page.items) list.append(row(al.name, `${al.artist} · ${al.tracks} tracks`, () => void showAlbum(al.id), albumCoverUrl(al)));
  paged(page.offset + page.items.length, page.total, (next) => showAlbums(next));
}

async function showAlbum(id: number): Promise<void> {
  const token = showView('', 'albums');
  const { album, tracks } = await api.album(id);
  if (token !== viewToken) return;
  byId('view-title').textContent = `${album.name} — ${album.artist}`;
  trackRows(tracks, () => tracks);
}

async function showFolder(path: string): Promise<void> {
  const token = showView(path === '' ? 'Folders' : path, 'folders');
  const listing = await api.folder(path);
  if (token !== viewToken) return;
  if (path !== '') list.append(row('..', 'up', () => void showFolder(path.split('/').slice(0, -1).join('/'))));
  for (const f of listing.folders) list.append(row(`${f}/`, 'folder', () => void showFolder(path === '' ? f : `${path}/${f}`)));
  trackRows(listing.tracks, () => listing.tracks);
}

async function showSearch(text: string, offset = 0, found: Track[] = []): Promise<void> {
  const token = offset === 0 ? showView(`Search: ${text}`, '') : viewToken;
  const page = await api.search(text, offset, PAGE);
  if (token !== viewToken) return;
  found.push(...page.items);
  trackRows(page.items, () => found);
  byId('view-title').textContent = `Search: ${text} (${page.total})`;
  paged(page.offset + page.items.length, page.total, (next) => showSearch(text, next, found));
}

function showQueue(): void {
  showView('Queue', 'queue');
  list.replaceChildren();
  queue.tracks.forEach((t, i) => {
    const li = row(trackTitle(t), [t.artist, t.album].filter(Boolean).join(' — '), () => queue.select(i), coverUrl(t));
    if (queue.current === t) li.classList.add('playing');
    list.append(li);
  });
}

function paged(shown: number, total: number, load: (offset: number) => Promise<void>): void {
  more.hidden = shown >= total;
  moreAction = () => load(shown);
}

function reportError(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    void start();
    return;
  }
  byId('view-title').textContent = `Error: ${(err as Error).message}`;
}

function guarded(action: () => Promise<void> | void): () => void {
  return () => {
    Promise.resolve()
      .then(action)
      .catch(reportError);
  };
}

function wireUi(): void {
  const views: Record<string, () => Promise<void> | void> = { artists: () => showArtists(), albums: () => showAlbums(), folders: () => showFolder(''), queue: showQueue };
  for (const b of document.querySelectorAll<HTMLButtonElement>('.tab')) b.addEventListener('click', guarded(views[b.dataset.view ?? 'artists']!));
  more.addEventListener('click', guarded(() => moreAction?.()));
  const search = byId<HTMLInputElement>('search');
  let timer: number | undefined;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    // Search as you type, without a request per keystroke.
    timer = window.setTimeout(guarded(() => (search.value.trim() === '' ? showArtists() : showSearch(search.value.trim()))), 150);
  });
  byId('shuffle').addEventListener('click', () => queue.toggleShuffle());
  byId('repeat').addEventListener('click', () => queue.cycleRepeat());
  byId('logout').addEventListener('click', guarded(async () => {
    player.audio.pause();
    await api.logout();
    await start();
  }));
  document.addEventListener('queuechange', () => {
    for (const li of list.querySelectorAll<HTMLLIElement>('li[data-track-id]')) li.classList.toggle('playing', li.dataset.trackId === String(queue.current?.id));
  });
  document.addEventListener('keydown', (e) => {
    const target = e.target as HTMLElement;
    if (target instanceof HTMLInputElement && target.type !== 'range') return;
    if (e.key === ' ') player.toggle();
    else if (e.key === 'ArrowRight' && e.shiftKey) queue.next();
    else if (e.key === 'ArrowLeft' && e.shiftKey) player.previous();
    else if (e.key === 'ArrowRight') player.skip(5);
    else if (e.key === 'ArrowLeft') player.skip(-5);
    else if (e.key === 'ArrowUp') player.audio.volume = Math.min(1, player.audio.volume + 0.05);
    else if (e.key === 'ArrowDown') player.audio.volume = Math.max(0, player.audio.volume - 0.05);
    else return;
    e.preventDefault();
  });
  byId<HTMLFormElement>('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = byId<HTMLInputElement>('login-name').value;
    const password = byId<HTMLInputElement>('login-password').value;
    api.login(name, password).then(
      () => start(),
      (err: unknown) => (byId('login-error').textContent = (err as Error).message),
    );
  });
}

/** Shows the login form or the player, as the session says (from the page's own data the first time). */
async function start(boot?: BootData): Promise<void> {
  const session = boot?.session ?? (await api.session());
  const needLogin = session.loginRequired && !session.user;
  byId('login').hidden = !needLogin;
  byId('app').hidden = needLogin;
  byId('logout').hidden = !session.user;
  byId('user').textContent = session.user?.name ?? '';
  if (needLogin) {
    byId('login-error').textContent = '';
    byId<HTMLInputElement>('login-password').value = '';
    byId('login-name').focus();
    return;
  }
  await showArtists(0, boot?.artists);
}

wireUi();
start(takeBootData()).catch(reportError);
