/**
 * The player page in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
 * playwright-core, against a real server on a real library. Logs in, sees the sample
 * library's tags, searches, plays (currentTime advances), seeks (a Range request reaches
 * the server and the position lands within 1 s), goes to the next track (the bytes the
 * server sent for it are that file), and leaves screenshots in test-output/browser/ (with
 * AS_DOC_SCREENSHOTS=1, also the ones in docs/screenshots/).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Library } from '../../src/library/index.js';
import { REPO_ROOT } from '../client/support/paths.js';
import { TestAuthenticatorWithFixedAccount, WebHarness, sha256 } from './support/web-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = path.join(REPO_ROOT, 'test-output', 'browser');
const DOC_SCREENSHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
const QUEUE_TRACKS = ['Queue One', 'Queue Two', 'Queue Three', 'Queue Four'];
const harness = new WebHarness();
after(() => harness.cleanup());

/** What the server sent for one /files/:id request, seen from the server's side. */
interface ServedFile {
  id: number;
  range: string | undefined;
  status: number;
  start: number;
  bytes: number;
  sha256: string;
}

/** Records every file body the server writes (test instrumentation on the real server). */
function recordServedFiles(server: import('node:http').Server, served: ServedFile[]): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/files\/(\d+)/.exec(req.url ?? '');
    if (!match) return;
    const hash = createHash('sha256');
    let bytes = 0;
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (Buffer.isBuffer(chunk)) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.on('close', () => {
      const contentRange = res.getHeader('content-range');
      const start = typeof contentRange === 'string' ? Number(/^bytes (\d+)-/.exec(contentRange)?.[1] ?? 0) : 0;
      served.push({ id: Number(match[1]), range: req.headers.range, status: res.statusCode, start, bytes, sha256: hash.digest('hex') });
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function screenshot(page: Page, name: string, forDocs = false): Promise<void> {
  await fsp.mkdir(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, `${name}.png`) });
  if (forDocs && process.env.AS_DOC_SCREENSHOTS === '1') {
    await fsp.mkdir(DOC_SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(DOC_SCREENSHOTS, `${name}.png`) });
  }
}

describe('the player page in Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, () => {
  let library: Library;
  let port: number;
  let root: string;
  const served: ServedFile[] = [];
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    root = await harness.sampleLibrary();
    // A long track (5 minutes of 44.1 kHz stereo WAV, 53 MB) so that a seek needs bytes the
    // browser has not buffered, and a short one after it in the same album.
    const album = path.join(root, 'Test Tones');
    await fsp.mkdir(album);
    const tag = (title: string, track: number) => ['-metadata', `title=${title}`, '-metadata', 'artist=Aurora Tones', '-metadata', 'album=Test Tones', '-metadata', `track=${track}`];
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=300:sample_rate=44100', '-ac', '2', ...tag('Long Tone', 1), path.join(album, '01 Long Tone.wav')]);
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=550:duration=4:sample_rate=22050', ...tag('Next Tone', 2), path.join(album, '02 Next Tone.flac')]);
    // Four 20-second tracks for the queue: shuffle, repeat, keys and Media Session actions.
    const queueAlbum = path.join(root, 'Queue Album');
    await fsp.mkdir(queueAlbum);
    for (const [i, name] of QUEUE_TRACKS.entries()) {
      const tags = ['-metadata', `title=${name}`, '-metadata', 'artist=Queue Band', '-metadata', 'album=Queue Album', '-metadata', `track=${i + 1}`];
      execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${300 + 100 * i}:duration=20:sample_rate=22050`, ...tags, path.join(queueAlbum, `0${i + 1} ${name}.flac`)]);
    }
    library = await harness.openLibrary(root);
    const started = await harness.start(library, { auth: new TestAuthenticatorWithFixedAccount() });
    port = started.port;
    recordServedFiles(started.server.server, served);
    context = await chromium.launchPersistentContext(await harness.tempDir('as-chromium-profile-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
      viewport: { width: 1100, height: 720 },
    });
    // The page registers its Media Session handlers with the browser, which offers no way to
    // press a lock-screen button; this records what the page registers (before its script
    // runs) so the test can call exactly those handlers. The page itself has no test hook.
    await context.addInitScript(() => {
      const handlers: Record<string, MediaSessionActionHandler | null> = {};
      (window as unknown as { mediaSessionHandlers: typeof handlers }).mediaSessionHandlers = handlers;
      const register = MediaSession.prototype.setActionHandler;
      MediaSession.prototype.setActionHandler = function (action: MediaSessionAction, handler: MediaSessionActionHandler | null) {
        handlers[action] = handler;
        register.call(this, action, handler);
      };
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  });

  after(async () => {
    await context?.close();
  });

  test('logs in, browses, searches, plays, seeks, skips, logs out', { timeout: 120_000 }, async () => {
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator('#login-form').waitFor({ state: 'visible' });
    await screenshot(page, '01-login');
    await page.fill('#login-name', TestAuthenticatorWithFixedAccount.NAME);
    await page.fill('#login-password', 'wrong');
    await page.click('#login-form button');
    await page.getByText('wrong name or password').waitFor();
    await page.fill('#login-password', TestAuthenticatorWithFixedAccount.PASSWORD);
    await page.click('#login-form button');

    // The sample library, with its tags: artists, then an album's tracks in order.
    await page.locator('#list li', { hasText: 'Émilie Ölund' }).waitFor();
    assert.deepEqual(await page.locator('#list li .grow > div:first-child').allTextContents(), ['Aurora Tones', 'Queue Band', 'The Testers', 'Various Artists', 'Émilie Ölund']);

    // A reload draws the artists from the page's own data: no API request before the rows.
    const asked: string[] = [];
    const onRequest = (r: import('playwright-core').Request): void => void asked.push(new URL(r.url()).pathname);
    page.on('request', onRequest);
    await page.reload();
    await page.locator('#list li', { hasText: 'Émilie Ölund' }).waitFor();
    page.off('request', onRequest);
    assert.deepEqual(asked.filter((p) => p.startsWith('/api/')), [], `requests of the reload: ${asked.join(' ')}`);
    assert.equal(await page.locator('#user').textContent(), TestAuthenticatorWithFixedAccount.NAME);
    await page.click('button[data-view="albums"]');
    await page.locator('#list li', { hasText: 'First Light' }).click();
    await page.locator('#list li', { hasText: 'Sunrise' }).waitFor();
    assert.deepEqual(await page.locator('#list li .grow > div:first-child').allTextContents(), ['1. Sunrise', '2. Morning Chord', '3. Noon Hum']);
    await page.click('button[data-view="folders"]');
    await page.locator('#list li', { hasText: 'Singles/' }).click();
    await page.locator('#list li', { hasText: 'Short Beep' }).waitFor();

    // Search as you type, accents ignored.
    await page.fill('#search', 'emilie creme');
    await page.locator('#view-title', { hasText: 'Search: emilie creme (1)' }).waitFor();
    assert.deepEqual(await page.locator('#list li .grow > div:first-child').allTextContents(), ['2. Crème Brûlée']);
    await page.fill('#search', 'test tones');
    await page.locator('#view-title', { hasText: '(2)' }).waitFor();

    // Play: currentTime advances.
    await page.locator('#list li', { hasText: 'Long Tone' }).click();
    const longId = library.store.track('Test Tones/01 Long Tone.wav')!.id;
    const nextId = library.store.track('Test Tones/02 Next Tone.flac')!.id;
    await until('playback to advance', () => page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 1));
    assert.equal(await page.locator('#now-title').textContent(), 'Long Tone');
    await until('elapsed time to show', async () => (await page.locator('#elapsed').textContent()) !== '0:00');
    assert.equal(await page.locator('#total').textContent(), '5:00');
    assert.equal(await page.evaluate(() => navigator.mediaSession.metadata?.title), 'Long Tone');
    assert.equal(await page.evaluate(() => navigator.mediaSession.metadata?.album), 'Test Tones');
    await screenshot(page, '02-playing', true);

    // Seek near the end through the seek bar: a Range request for the unbuffered part.
    const before = served.length;
    const target = 280;
    await page.evaluate((t) => {
      const seek = document.getElementById('seek') as HTMLInputElement;
      seek.value = String(t);
      seek.dispatchEvent(new Event('change'));
    }, target);
    await until('the seek to finish', () => page.evaluate(() => !(document.getElementById('audio') as HTMLAudioElement).seeking));
    const position = await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);
    assert.ok(Math.abs(position - target) < 1, `position ${position} after seeking to ${target}`);
    const rangeRequests = await until('a Range request after the seek', async () => {
      const found = served.slice(before).filter((s) => s.id === longId && s.status === 206 && s.start > 0);
      return found.length > 0 ? found : undefined;
    });
    const wav = await fsp.readFile(path.join(root, 'Test Tones/01 Long Tone.wav'));
    assert.ok(rangeRequests[0]!.start > wav.length / 2, `the seek asked from byte ${rangeRequests[0]!.start} of ${wav.length}`);
    assert.match(rangeRequests[0]!.range!, /^bytes=\d+-/);

    // Next track: the bytes the server sent for it are that file.
    await page.click('#next');
    await until('the next track to play', () => page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 0.3));
    assert.equal(await page.locator('#now-title').textContent(), 'Next Tone');
    const flac = await fsp.readFile(path.join(root, 'Test Tones/02 Next Tone.flac'));
    const whole = await until('the next file to be sent', async () => served.find((s) => s.id === nextId && s.start === 0 && s.bytes === flac.length));
    assert.equal(whole.sha256, sha256(flac));

    // Keyboard: Space pauses.
    await page.locator('body').press('Space');
    await until('pause', () => page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).paused));
    // The button follows the audio element's 'pause' event, which fires after `paused` is set.
    await until('the button to offer Play', async () => (await page.getAttribute('#play', 'aria-label')) === 'Play');

    // Phone-sized: everything still on screen.
    await page.setViewportSize({ width: 390, height: 780 });
    await page.click('button[data-view="queue"]');
    await screenshot(page, '03-phone-queue', true);
    const footer = await page.locator('footer').boundingBox();
    assert.ok(footer && footer.x >= 0 && footer.x + footer.width <= 391, `footer ${JSON.stringify(footer)} fits 390 px`);
    await page.setViewportSize({ width: 1100, height: 720 });
    await page.click('button[data-view="albums"]');
    await page.locator('#list li', { hasText: 'Café Noir' }).waitFor();
    await screenshot(page, '04-albums', true);

    await page.click('#logout');
    await page.locator('#login-form').waitFor({ state: 'visible' });
    assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), [], 'no script errors or CSP violations');
  });
  test('the queue: shuffle, repeat one and all, arrow keys, Media Session metadata and actions', { timeout: 120_000 }, async () => {
    await page.goto(`http://127.0.0.1:${port}/`);
    if (await page.locator('#login-form').isVisible()) {
      await page.fill('#login-name', TestAuthenticatorWithFixedAccount.NAME);
      await page.fill('#login-password', TestAuthenticatorWithFixedAccount.PASSWORD);
      await page.click('#login-form button');
    }
    const rel = (i: number): string => `Queue Album/0${i + 1} ${QUEUE_TRACKS[i]}.flac`;
    const ids = QUEUE_TRACKS.map((_, i) => library.store.track(rel(i))!.id);
    const bytes = await Promise.all(QUEUE_TRACKS.map((_, i) => fsp.readFile(path.join(root, rel(i)))));
    const audio = () =>
      page.evaluate(() => {
        const a = document.getElementById('audio') as HTMLAudioElement;
        return { src: a.currentSrc, currentTime: a.currentTime, paused: a.paused, volume: a.volume, ended: a.ended };
      });
    const idPlaying = async (): Promise<number> => Number(/\/files\/(\d+)$/.exec((await audio()).src)?.[1]);
    /** Waits until track `i` is the audio element's source, is advancing, and its bytes were fetched whole. */
    const playing = async (i: number, what: string): Promise<void> => {
      let last: unknown;
      await until(`${what}: ${QUEUE_TRACKS[i]} playing`, async () => {
        const a = await audio();
        last = a;
        return a.src.endsWith(`/files/${ids[i]}`) && !a.paused && a.currentTime > 0.2;
      }).catch((err: Error) => {
        throw new Error(`${err.message} (audio: ${JSON.stringify(last)}, now showing ${JSON.stringify(served.slice(-3))})`);
      });
      assert.equal(await page.locator('#now-title').textContent(), QUEUE_TRACKS[i], what);
      const fetched = await until(`${what}: ${QUEUE_TRACKS[i]}'s bytes sent`, async () => served.find((s) => s.id === ids[i] && s.start === 0 && s.bytes === bytes[i]!.length));
      assert.equal(fetched.sha256, sha256(bytes[i]!), what);
    };
    const press = (key: string) => page.locator('body').press(key);
    const time = async () => (await audio()).currentTime;

    await page.click('button[data-view="albums"]');
    await page.locator('#list li', { hasText: 'Queue Album' }).click();
    await page.locator('#list li', { hasText: 'Queue Four' }).waitFor();
    await page.locator('#list li', { hasText: 'Queue One' }).click();
    await playing(0, 'first track');

    // Media Session metadata: the track's title, artist, album and cover.
    const metadata = await page.evaluate(() => {
      const m = navigator.mediaSession.metadata!;
      return { title: m.title, artist: m.artist, album: m.album, artwork: m.artwork.map((a) => a.src) };
    });
    assert.deepEqual(metadata, { title: 'Queue One', artist: 'Queue Band', album: 'Queue Album', artwork: [`http://127.0.0.1:${port}/api/tracks/${ids[0]}/cover`] });
    assert.equal(await page.evaluate(() => navigator.mediaSession.playbackState), 'playing');

    // Arrow keys: Right and Left seek 5 s; Up and Down change the volume; Shift+Right and
    // Shift+Left go to the next and previous track (the page's button titles say so). The
    // seeks are checked while paused, so that playing on cannot pass for a seek.
    const near = (a: number, b: number) => Math.abs(a - b) < 0.05;
    await until('1 s played', async () => (await time()) > 1);
    await press('Space');
    await until('paused by Space', async () => (await audio()).paused);
    const t0 = await time();
    await press('ArrowRight');
    await until(`ArrowRight: ${t0} + 5 s`, async () => near(await time(), t0 + 5));
    await press('ArrowLeft');
    await press('ArrowLeft');
    await until(`ArrowLeft twice: ${t0} + 5 - 10 s, not below 0`, async () => near(await time(), Math.max(0, t0 - 5)));
    await press('ArrowDown');
    await press('ArrowDown');
    assert.ok(Math.abs((await audio()).volume - 0.9) < 1e-9, `volume ${(await audio()).volume}`);
    await press('ArrowUp');
    assert.ok(Math.abs((await audio()).volume - 0.95) < 1e-9, `volume ${(await audio()).volume}`);
    await press('Space');
    await until('playing again after Space', async () => !(await audio()).paused);
    await press('Shift+ArrowRight');
    await playing(1, 'Shift+ArrowRight');
    await press('Shift+ArrowLeft'); // under 3 s into the track: the previous track
    await playing(0, 'Shift+ArrowLeft');

    // Media Session actions, through the handlers the page registered.
    const action = (name: string, details: Record<string, unknown> = {}) =>
      page.evaluate(([n, d]) => {
        const handler = (window as unknown as { mediaSessionHandlers: Record<string, ((d: unknown) => void) | null> }).mediaSessionHandlers[n as string];
        if (!handler) throw new Error(`no ${n as string} handler`);
        handler({ action: n, ...(d as object) });
      }, [name, details] as const);
    await action('nexttrack');
    await playing(1, 'nexttrack action');
    await action('previoustrack');
    await playing(0, 'previoustrack action');
    await action('pause');
    await until('paused by the pause action', async () => (await audio()).paused);
    await until('playbackState paused', async () => (await page.evaluate(() => navigator.mediaSession.playbackState)) === 'paused');
    const pausedAt = await time();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await time(), pausedAt, 'no progress while paused');
    await action('seekto', { seekTime: 12 });
    await until('the seekto action: 12 s', async () => near(await time(), 12));
    await action('seekbackward', { seekOffset: 4 });
    await until('the seekbackward action: 8 s', async () => near(await time(), 8));
    await action('seekforward', {});
    await until('the seekforward action: 18 s (10 s by default)', async () => near(await time(), 18));
    assert.equal((await audio()).paused, true, 'seeking did not start playback');
    await action('play');
    await until('playing again by the play action', async () => (await time()) > 18.2);
    assert.equal(await idPlaying(), ids[0]);

    // Repeat all: past the last track, the first; repeat one: the track again; off: it stops.
    await page.locator('#list li', { hasText: 'Queue Four' }).click();
    await playing(3, 'Queue Four clicked');
    await page.click('#repeat');
    assert.equal(await page.locator('#repeat').textContent(), 'Repeat: all');
    const seekNearEnd = () => page.evaluate(() => {
      const a = document.getElementById('audio') as HTMLAudioElement;
      a.currentTime = a.duration - 0.6;
    });
    await seekNearEnd();
    await playing(0, 'repeat all, the last track ended');
    await page.click('#repeat');
    assert.equal(await page.locator('#repeat').textContent(), 'Repeat: one');
    await seekNearEnd();
    await until('repeat one: the end reached', async () => (await time()) < 5);
    await until('repeat one: playing again from the start', async () => {
      const a = await audio();
      return !a.paused && a.currentTime > 0.3 && a.currentTime < 5;
    });
    assert.equal(await idPlaying(), ids[0], 'repeat one stays on the track');
    await page.click('#repeat');
    assert.equal(await page.locator('#repeat').textContent(), 'Repeat: off');
    await page.locator('#list li', { hasText: 'Queue Four' }).click();
    await playing(3, 'Queue Four again');
    await seekNearEnd();
    await until('repeat off: stopped after the last track', async () => (await audio()).ended);
    assert.equal(await idPlaying(), ids[3]);
    assert.equal((await audio()).paused, true);

    // Shuffle: every track once, the current one first, in some order; off again, album order.
    await page.locator('#list li', { hasText: 'Queue Two' }).click();
    await playing(1, 'Queue Two clicked');
    await page.click('#shuffle');
    assert.equal(await page.getAttribute('#shuffle', 'aria-pressed'), 'true');
    const order = [await idPlaying()];
    for (let n = 1; n < QUEUE_TRACKS.length; n++) {
      const before = order[order.length - 1];
      await page.click('#next');
      const next = await until('the next shuffled track', async () => {
        const id = await idPlaying();
        return id !== before ? id : undefined;
      });
      await playing(ids.indexOf(next), `shuffled track ${n + 1}`);
      order.push(next);
    }
    assert.deepEqual([...order].sort((a, b) => a - b), [...ids].sort((a, b) => a - b), `shuffled order ${order.join(' ')} plays each track once`);
    assert.equal(order[0], ids[1]);
    // And it is shuffled: starting again from Queue Two (a click reshuffles), the next track is
    // not always Queue Three (a correct shuffle picks it 1 time in 3: 12 in a row, 2e-6).
    const afterTwo: number[] = [];
    for (let attempt = 0; attempt < 12 && afterTwo.every((id) => id === ids[2]); attempt++) {
      await page.locator('#list li', { hasText: 'Queue Two' }).click();
      await until('Queue Two again', async () => (await idPlaying()) === ids[1]);
      await page.click('#next');
      afterTwo.push(await until('a track after Queue Two', async () => ((id) => (id !== ids[1] ? id : undefined))(await idPlaying())));
    }
    assert.ok(afterTwo.some((id) => id !== ids[2]), `after Queue Two with shuffle on, always Queue Three: ${afterTwo.join(' ')}`);
    // Shuffle off: album order again from the current track.
    await page.click('#shuffle');
    assert.equal(await page.getAttribute('#shuffle', 'aria-pressed'), 'false');
    await page.locator('#list li', { hasText: 'Queue One' }).click();
    await playing(0, 'Queue One clicked, shuffle off');
    for (let i = 1; i < QUEUE_TRACKS.length; i++) {
      await page.click('#next');
      await playing(i, `shuffle off: next in album order (${i + 1})`);
    }
    assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), [], 'no script errors');
  });
});
