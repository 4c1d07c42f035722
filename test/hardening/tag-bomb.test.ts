/**
 * A tag bomb: small files (sparse, a few kB on disk) whose tag chunk claims a huge size. A
 * tag reader that believes the claim allocates and fills a buffer that size on each worker
 * thread (the worker heap limit does not cover ArrayBuffers). Measured on a real server in a
 * child process, through its own background tag pass: its peak memory stays bounded, and
 * normal files next to the bombs still get their tags.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { TestHarness } from '../support/server-harness.js';
import { requestLine } from '../support/wire.js';
import { ChildServer } from './support/child-server.js';
import { HAS_PROC_FD, peakRssKb } from './support/process-facts.js';
import { chunk, taggedWav, u32le } from './support/tagged-wav.js';
import { HELLO_PACKET, lineText, waitForV2Replies } from './support/v2-wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const GIB = 1024 * 1024 * 1024;

/**
 * A WAV whose `ID3 ` chunk (an ID3v2 tag inside RIFF, read whole by parsers) claims
 * `claimed` bytes; the file is extended (sparse) so the claim does not run past its end.
 */
async function riffBomb(file: string, claimed: number): Promise<void> {
  const fmt = chunk('fmt ', Buffer.from('01000100401f0000401f000001000800', 'hex'));
  const head = Buffer.concat([Buffer.from('RIFF'), u32le(0xfffffff0), Buffer.from('WAVE'), fmt, Buffer.from('ID3 '), u32le(claimed)]);
  await fsp.writeFile(file, head);
  await fsp.truncate(file, head.length + claimed + 16);
}

/** An MP3 whose ID3v2 header claims the largest size it can say (28 bits: 256 MiB), sparse likewise. */
async function id3v2Bomb(file: string): Promise<void> {
  const size = 0x0fffffff;
  const syncsafe = Buffer.from([(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
  const head = Buffer.concat([Buffer.from('ID3'), Buffer.from([4, 0, 0]), syncsafe]);
  await fsp.writeFile(file, head);
  await fsp.truncate(file, head.length + size + 1024);
}

test('files whose tag chunks claim 2 GiB and 256 MiB cost the server a few MB, not gigabytes; other files still get their tags', { skip: !HAS_PROC_FD && 'needs /proc', timeout: 60_000 }, async (t) => {
  const root = await harness.library({ 'normal.wav': taggedWav('Normal title', Buffer.alloc(4000, 0x40)) });
  await riffBomb(path.join(root, 'riff-bomb-1.wav'), 2 * GIB - 64);
  await riffBomb(path.join(root, 'riff-bomb-2.wav'), 2 * GIB - 64);
  await id3v2Bomb(path.join(root, 'id3-bomb.mp3'));
  const server = await ChildServer.start({ root, readTags: true });
  harness.defer(() => server.stop());
  const { tagFilesRead } = await server.command('tags');
  assert.equal(tagFilesRead, 4, 'every file went through the tag reader');
  const peakMb = peakRssKb(server.pid) / 1024;
  t.diagnostic(`server peak RSS over the tag pass: ${peakMb.toFixed(0)} MB`);
  assert.ok(peakMb < 200, `the server's peak RSS was ${peakMb.toFixed(0)} MB while reading the bombs' tags`);

  const client = await harness.connect(server.port);
  await client.send(Buffer.concat([HELLO_PACKET, requestLine('LIST2')]));
  const [count, ...records] = await waitForV2Replies(client, ['line', 'line', 'line', 'line', 'line'], 10_000);
  assert.equal(lineText(count), 'OK 4');
  const byPath = new Map(records.map((r) => JSON.parse(lineText(r)) as { path: string; title?: string }).map((r) => [r.path, r]));
  assert.equal(byPath.get('normal.wav')?.title, 'Normal title', 'a normal file keeps its tags');
  for (const bomb of ['riff-bomb-1.wav', 'riff-bomb-2.wav', 'id3-bomb.mp3']) assert.equal(byPath.get(bomb)?.title, undefined, bomb);
  assert.equal(server.exitStatus, undefined, 'the server is still running');
});
