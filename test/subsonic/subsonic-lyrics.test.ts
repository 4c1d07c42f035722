/**
 * Lyrics: embedded (FLAC's LYRICS comment, MP3 lyrics as ffmpeg writes them) and `.lrc`
 * files beside the track (synced lines with their times, offset, artist), through the real
 * `subsonic-api` client; a `.lrc` that is a link out of the library, or too large, gives
 * nothing. JSON validated against the OpenAPI schemas, getLyrics' XML against the XSD.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { MAX_LRC_BYTES } from '../../src/library/lyrics.js';
import { parseLrc } from '../../src/library/lrc-parser.js';
import { WebHarness } from '../http/support/web-harness.js';
import { assertValidJson, assertValidXml, rest, startSubsonicServer, subsonicClient, TOKEN_AUTH, type Recorded, type SubsonicServer } from './support/subsonic-harness.js';

const run = promisify(execFile);
const harness = new WebHarness();
after(() => harness.cleanup());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked by the schemas instead
type Loose = Record<string, (params?: Record<string, unknown>) => Promise<any>>;

const TIMED_LRC = ['[ar:LRC Artist]', '[ti:Timed Song]', '[offset:+250]', '[00:01.50]second line', '[00:00.20][00:03.000]first and again', '', '[00:02]third'].join('\n');

async function tone(file: string, metadata: Record<string, string>): Promise<void> {
  const args = ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=1'];
  for (const [key, value] of Object.entries(metadata)) args.push('-metadata', `${key}=${value}`);
  await run('ffmpeg', [...args, file]);
}

describe('LRC parsing', () => {
  test('synced lines sorted by time, several times on one line, tenths/hundredths/ms, tags; no time tag is plain text', () => {
    const parsed = parseLrc(TIMED_LRC);
    assert.equal(parsed.synced, true);
    assert.deepEqual(parsed.lines, [
      { startMs: 200, text: 'first and again' },
      { startMs: 1500, text: 'second line' },
      { startMs: 2000, text: 'third' },
      { startMs: 3000, text: 'first and again' },
    ]);
    assert.equal(parsed.offsetMs, 250);
    assert.equal(parsed.artist, 'LRC Artist');
    assert.equal(parsed.title, 'Timed Song');
    assert.deepEqual(parseLrc('[01:02.5]x').lines, [{ startMs: 62_500, text: 'x' }]);
    const plain = parseLrc('\n\nverse one\n\nverse two\n\n');
    assert.equal(plain.synced, false);
    assert.deepEqual(plain.lines.map((l) => l.text), ['verse one', '', 'verse two']);
    assert.equal(parseLrc('[00:01.00]a\n'.repeat(10_000)).lines.length, 5_000, 'lines are bounded');
  });
});

describe('Subsonic lyrics (subsonic-api client)', () => {
  let server: SubsonicServer;
  let client: Loose;
  const recorded: Recorded[] = [];
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startSubsonicServer(harness, {
      prepare: async (root) => {
        const dir = path.join(root, 'Lyrics');
        await fsp.mkdir(dir);
        await tone(path.join(dir, 'Sung.flac'), { title: 'Sung', artist: 'Singer', lyrics: 'flac line one\nflac line two' });
        await tone(path.join(dir, 'Spoken.mp3'), { title: 'Spoken', artist: 'Singer', lyrics: 'mp3 words' });
        await tone(path.join(dir, 'Timed.flac'), { title: 'Timed', artist: 'Singer' });
        await fsp.writeFile(path.join(dir, 'Timed.lrc'), TIMED_LRC);
        await tone(path.join(dir, 'Linked.flac'), { title: 'Linked', artist: 'Singer' });
        const outside = path.join(path.dirname(root), 'outside-secret.lrc');
        await fsp.writeFile(outside, '[00:01.00]secret from outside the library');
        await fsp.symlink(outside, path.join(dir, 'Linked.lrc'));
        await tone(path.join(dir, 'Big.flac'), { title: 'Big', artist: 'Singer' });
        await fsp.writeFile(path.join(dir, 'Big.lrc'), '[00:01.00]' + 'x'.repeat(MAX_LRC_BYTES));
      },
    });
    client = subsonicClient(server, recorded) as unknown as Loose;
    for (const song of (await client.search3({ query: 'singer', songCount: 50 })).searchResult3.song) ids[song.title] = song.id;
    assert.deepEqual(Object.keys(ids).sort(), ['Big', 'Linked', 'Spoken', 'Sung', 'Timed']);
  });

  test('getLyricsBySongId: embedded FLAC and MP3 lyrics, unsynced, language und', async () => {
    const sung = (await client.getLyricsBySongId({ id: ids.Sung })).lyricsList.structuredLyrics;
    assert.deepEqual(sung, [{ displayArtist: 'Singer', displayTitle: 'Sung', lang: 'und', synced: false, line: [{ value: 'flac line one' }, { value: 'flac line two' }] }]);
    const spoken = (await client.getLyricsBySongId({ id: ids.Spoken })).lyricsList.structuredLyrics;
    assert.deepEqual(spoken.map((l: { line: { value: string }[] }) => l.line.map((x) => x.value)), [['mp3 words']]);
  });

  test('getLyricsBySongId: a .lrc beside the file gives synced lines with start times, its offset and artist', async () => {
    const timed = (await client.getLyricsBySongId({ id: ids.Timed })).lyricsList.structuredLyrics;
    assert.deepEqual(timed, [
      {
        displayArtist: 'LRC Artist',
        displayTitle: 'Timed Song',
        lang: 'und',
        offset: 250,
        synced: true,
        line: [
          { start: 200, value: 'first and again' },
          { start: 1500, value: 'second line' },
          { start: 2000, value: 'third' },
          { start: 3000, value: 'first and again' },
        ],
      },
    ]);
    const xml = await rest(server, 'getLyricsBySongId', { ...TOKEN_AUTH(), id: ids.Timed });
    assert.match(xml.text, /<lyricsList><structuredLyrics displayArtist="LRC Artist" displayTitle="Timed Song" lang="und" offset="250" synced="true"><line start="200">first and again<\/line>/);
  });

  test('a .lrc that links out of the library, or is over the size limit, gives no lyrics; nor does a file without any', async () => {
    for (const name of ['Linked', 'Big']) assert.deepEqual((await client.getLyricsBySongId({ id: ids[name] })).lyricsList.structuredLyrics ?? [], [], name);
    const linked = await rest(server, 'getLyricsBySongId', { ...TOKEN_AUTH(), id: ids.Linked!, f: 'json' });
    assert.doesNotMatch(linked.text, /secret/);
    assert.deepEqual((await client.getLyricsBySongId({ id: ids.Big })).lyricsList.structuredLyrics ?? [], []);
    assert.equal((await client.getLyricsBySongId({ id: 'tr-999999' })).error.code, 70);
    assert.equal((await client.getLyricsBySongId({})).error.code, 10);
  });

  test('getLyrics by artist and title: the plain text; nothing found is an empty lyrics element', async () => {
    const found = (await client.getLyrics({ artist: 'singer', title: 'SUNG' })).lyrics;
    assert.deepEqual(found, { artist: 'Singer', title: 'Sung', value: 'flac line one\nflac line two' });
    assert.equal((await client.getLyrics({ artist: 'Someone Else', title: 'Sung' })).lyrics.value, '');
    assert.equal((await client.getLyrics({ title: 'Timed' })).lyrics.value, 'first and again\nsecond line\nthird\nfirst and again');
    assert.equal((await client.getLyrics({})).lyrics.value, '');
  });

  test('every JSON answer is valid for the OpenAPI schema; getLyrics in XML for the XSD', async () => {
    assert.ok(recorded.length >= 12);
    for (const answer of recorded) assertValidJson(answer.endpoint, answer.body.toString('utf8'));
    for (const params of [{ artist: 'Singer', title: 'Sung' }, { title: 'nothing' }, {}] as Record<string, string>[]) {
      await assertValidXml(harness, (await rest(server, 'getLyrics', { ...TOKEN_AUTH(), ...params })).text);
    }
  });
});
