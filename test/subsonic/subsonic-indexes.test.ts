/**
 * getIndexes' `lastModified` and `ifModifiedSince`: the time is when a scan last found the
 * library changed, so it stays put while nothing changes; asked with it, the answer has no
 * folders; after a change (a new top folder, found by a rescan) it moves and the full
 * listing comes back. Real server, real client, schema-valid JSON and XML.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebHarness } from '../http/support/web-harness.js';
import { assertValidJson, assertValidXml, rest, startSubsonicServer, subsonicClient, TOKEN_AUTH, type Recorded, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked by the schemas instead
type Loose = Record<string, (params?: Record<string, unknown>) => Promise<any>>;

describe('getIndexes lastModified / ifModifiedSince', () => {
  let server: SubsonicServer;
  let client: Loose;
  const recorded: Recorded[] = [];

  before(async () => {
    server = await startSubsonicServer(harness);
    client = subsonicClient(server, recorded) as unknown as Loose;
  });

  test('lastModified stays the same while the library is unchanged; ifModifiedSince at it answers no folders, before it everything', async () => {
    const first = (await client.getIndexes()).indexes;
    assert.ok(first.index.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    await server.library.rescan(); // nothing changed on disk
    const second = (await client.getIndexes()).indexes;
    assert.equal(second.lastModified, first.lastModified, 'an unchanged library keeps its time');
    assert.ok(first.lastModified <= Date.now());

    const unchanged = (await client.getIndexes({ ifModifiedSince: first.lastModified })).indexes;
    assert.deepEqual(unchanged, { lastModified: first.lastModified, ignoredArticles: first.ignoredArticles });
    const later = (await client.getIndexes({ ifModifiedSince: first.lastModified + 60_000 })).indexes;
    assert.equal(later.index, undefined);
    const earlier = (await client.getIndexes({ ifModifiedSince: first.lastModified - 1 })).indexes;
    assert.deepEqual(earlier.index, first.index);
    const xml = await rest(server, 'getIndexes', { ...TOKEN_AUTH(), ifModifiedSince: String(first.lastModified) });
    assert.match(xml.text, new RegExp(`<indexes lastModified="${first.lastModified}" ignoredArticles="[^"]+"/>`));
    await assertValidXml(harness, xml.text);
  });

  test('a change found by a rescan moves lastModified, and ifModifiedSince the old time lists the folders again', async () => {
    const before = (await client.getIndexes()).indexes;
    await new Promise((r) => setTimeout(r, 20));
    const folder = path.join(server.root, 'Zebra Band');
    await fsp.mkdir(folder);
    await fsp.copyFile(path.join(server.root, 'Singles', 'Short Beep.wav'), path.join(folder, 'Beep Again.wav'));
    await server.library.rescan();
    const after = (await client.getIndexes({ ifModifiedSince: before.lastModified })).indexes;
    assert.ok(after.lastModified > before.lastModified, `${after.lastModified} > ${before.lastModified}`);
    assert.ok(after.index.flatMap((i: { artist: { name: string }[] }) => i.artist.map((a) => a.name)).includes('Zebra Band'));
    assert.equal((await client.getIndexes({ ifModifiedSince: after.lastModified })).indexes.index, undefined);
  });

  test('every JSON answer is valid for the OpenAPI schema', () => {
    assert.ok(recorded.length >= 8);
    for (const answer of recorded) assertValidJson(answer.endpoint, answer.body.toString('utf8'));
  });
});
