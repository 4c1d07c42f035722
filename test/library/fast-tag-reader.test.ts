import assert from 'node:assert/strict';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { parseBuffer, parseFile } from 'music-metadata';
import { readTagsBlocking, TAG_PARSE_OPTIONS, tagsOf, type AudioTags } from '../../src/library/tag-reader.js';
import { bytesSource, type ByteSource } from '../../src/library/tag-formats/byte-source.js';
import { NOT_SURE, readFastTags } from '../../src/library/tag-formats/fast-tag-reader.js';
import { FileWindowSource, WINDOW_BYTES } from '../../src/library/tag-formats/file-window-source.js';
import { MAX_TAG_READ_BYTES } from '../../src/library/tag-read-limit.js';
import { SAMPLE_LIBRARY } from '../client/support/paths.js';
import { TestHarness } from '../support/server-harness.js';
import { CORPUS, makeCorpus } from './support/tag-corpus.js';
import { sampleAudio } from './support/tagged-library.js';

const harness = new TestHarness();
after(() => harness.cleanup());

let corpusDir = '';
before(async () => {
  corpusDir = fs.realpathSync(await harness.tempDir());
  await makeCorpus(corpusDir);
});

/** music-metadata's answer for a file, mapped as the library maps it (the reference). */
async function reference(file: string): Promise<AudioTags> {
  try {
    return tagsOf(await parseFile(file, TAG_PARSE_OPTIONS));
  } catch {
    return {};
  }
}

/** The same from bytes in memory (for cut and mutated files), with the file's name for its parser choice. */
async function referenceOf(bytes: Uint8Array, name: string): Promise<AudioTags> {
  try {
    return tagsOf(await parseBuffer(bytes, { path: name, size: bytes.length }, TAG_PARSE_OPTIONS));
  } catch {
    return {};
  }
}

function fast(bytes: Uint8Array, name: string): AudioTags | typeof NOT_SURE {
  const answer = readFastTags(bytesSource(bytes), name);
  return answer === NOT_SURE ? NOT_SURE : tagsOf(answer);
}

async function corpusAndSamples(): Promise<string[]> {
  return [...CORPUS.map((v) => path.join(corpusDir, v.name)), ...(await sampleAudio()).map((f) => path.join(SAMPLE_LIBRARY, f))];
}

test('the fast path answers for every common variant (mp3 v2.3/v2.4, CBR/VBR, covers; FLAC; Ogg Vorbis; WAV; m4a AAC/ALAC), each time exactly as music-metadata', { timeout: 120_000 }, async () => {
  for (const v of CORPUS) {
    const file = path.join(corpusDir, v.name);
    const expected = await reference(file);
    const got = fast(fs.readFileSync(file), v.name);
    if (v.common) assert.notEqual(got, NOT_SURE, `${v.name}: the fast path should answer`);
    if (got !== NOT_SURE) assert.deepEqual(got, expected, v.name);
  }
});

test('unusual files go to music-metadata: numeric genres, "/"-split artists, mp3 without ID3v2, Opus', async () => {
  for (const name of ['numeric-genre.mp3', 'slash-artist-v23.mp3', 'no-id3v2.mp3', 'opus.ogg', 'opus.opus']) {
    assert.equal(fast(fs.readFileSync(path.join(corpusDir, name)), name), NOT_SURE, name);
  }
});

/**
 * What readTagsBlocking must give: music-metadata's tags, and for Ogg Vorbis and Opus files
 * that parse gives no duration for (it has one only after reading every page), the duration
 * music-metadata finds when it does read every page.
 */
async function endToEndReference(file: string): Promise<AudioTags> {
  const tags = await reference(file);
  if (tags.duration === undefined && (tags.codec === 'Vorbis I' || tags.codec === 'Opus')) {
    const whole = await parseFile(file, { ...TAG_PARSE_OPTIONS, duration: true });
    if (whole.format.duration !== undefined) tags.duration = Math.round(whole.format.duration * 1000) / 1000;
  }
  return tags;
}

test('readTagsBlocking gives music-metadata\'s tags for every corpus and sample file, fast path or not', { timeout: 120_000 }, async () => {
  for (const file of await corpusAndSamples()) {
    const root = path.dirname(file);
    assert.deepEqual(await readTagsBlocking(fs.realpathSync(root), path.basename(file)), await endToEndReference(file), file);
  }
});

test('Ogg Vorbis and Opus files of any length have a duration (from the last page), as music-metadata finds reading every page', { timeout: 60_000 }, async () => {
  const dir = fs.realpathSync(await harness.tempDir());
  await makeCorpus(dir, [
    { name: 'vorbis-200s.ogg', args: ['-c:a', 'libvorbis', '-q:a', '0'], seconds: 200, common: true },
    { name: 'vorbis-22k.ogg', args: ['-c:a', 'libvorbis'], seconds: 61, sampleRate: 22050, common: true },
    { name: 'opus-90s.opus', args: ['-c:a', 'libopus', '-b:a', '32k'], seconds: 90, sampleRate: 48000, common: false },
  ]);
  for (const [name, seconds] of [['vorbis-200s.ogg', 200], ['vorbis-22k.ogg', 61], ['opus-90s.opus', 90]] as const) {
    assert.equal((await reference(path.join(dir, name))).duration, undefined, `${name}: music-metadata's header-only parse gives no duration`);
    const tags = await readTagsBlocking(dir, name);
    assert.equal(tags?.duration, (await endToEndReference(path.join(dir, name))).duration, name);
    assert.ok(Math.abs(tags!.duration! - seconds) < 0.05, `${name}: ${tags!.duration} s`);
  }

  // Bytes after the last page that look like a page ("OggS", a wrong checksum) are not taken
  // for one; a file cut inside its last page gives the last whole page's time.
  const bytes = fs.readFileSync(path.join(dir, 'vorbis-200s.ogg'));
  const fake = Buffer.from(bytes.subarray(bytes.lastIndexOf('OggS')));
  fake.writeUInt32LE(0xffff, 6); // another granule...
  fake.writeUInt32LE(0x12345678, 22); // ...and a checksum that does not match
  fs.writeFileSync(path.join(dir, 'junk-after.ogg'), Buffer.concat([bytes, fake]));
  assert.equal((await readTagsBlocking(dir, 'junk-after.ogg'))?.duration, (await readTagsBlocking(dir, 'vorbis-200s.ogg'))?.duration);
  fs.writeFileSync(path.join(dir, 'cut.ogg'), bytes.subarray(0, bytes.lastIndexOf('OggS') + 40));
  const cut = (await readTagsBlocking(dir, 'cut.ogg'))?.duration;
  assert.ok(cut !== undefined && cut < 200 && cut > 190, `cut: ${cut}`);
});

test('every file of the sample library is answered by the fast path, equal to music-metadata', async () => {
  for (const rel of await sampleAudio()) {
    const file = path.join(SAMPLE_LIBRARY, rel);
    const got = fast(fs.readFileSync(file), rel);
    assert.notEqual(got, NOT_SURE, rel);
    assert.deepEqual(got, await reference(file), rel);
  }
});

/** A ByteSource that counts the bytes it hands out (reads past the file are refused, and counted apart). */
function countingSource(bytes: Uint8Array): { source: ByteSource; reads: () => number; outside: () => number } {
  const inner = bytesSource(bytes);
  let total = 0;
  let outside = 0;
  return {
    source: {
      size: inner.size,
      read(offset, length) {
        const got = inner.read(offset, length);
        if (got) total += length;
        else outside++;
        return got;
      },
    },
    reads: () => total,
    outside: () => outside,
  };
}

test('every corpus file cut at many lengths: the fast path never throws, stays within the file and the limit, and where it answers agrees with music-metadata on the cut file', { timeout: 300_000 }, async () => {
  for (const file of await corpusAndSamples()) {
    const whole = fs.readFileSync(file);
    const name = path.basename(file);
    const cuts = new Set<number>();
    for (let n = 0; n <= 64; n += 4) cuts.add(n);
    for (let i = 1; i < 24; i++) cuts.add(Math.floor((whole.length * i) / 24));
    for (const n of [whole.length - 1, whole.length - 128, whole.length - 129]) if (n > 0) cuts.add(n);
    for (const n of cuts) {
      const bytes = whole.subarray(0, n);
      const counting = countingSource(bytes);
      const answer = readFastTags(counting.source, name);
      assert.ok(counting.reads() <= MAX_TAG_READ_BYTES, `${name} cut at ${n}: read ${counting.reads()} bytes`);
      if (answer !== NOT_SURE) assert.deepEqual(tagsOf(answer), await referenceOf(bytes, name), `${name} cut at ${n}`);
    }
  }
});

test('random byte mutations (seeded): the fast path never throws, and where it answers agrees with music-metadata on the mutated bytes', { timeout: 300_000 }, async () => {
  const files = CORPUS.filter((v) => v.common).map((v) => path.join(corpusDir, v.name));
  for (const [i, file] of files.entries()) {
    const whole = fs.readFileSync(file);
    const name = path.basename(file);
    // Mutations land in the first 4 KiB most of the time: that is where the headers are.
    const mutation = fc.array(fc.tuple(fc.oneof(fc.nat({ max: Math.min(4095, whole.length - 1) }), fc.nat({ max: whole.length - 1 })), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(mutation, async (changes) => {
        const bytes = Buffer.from(whole);
        for (const [at, value] of changes) bytes[at] = value;
        const answer = readFastTags(bytesSource(bytes), name);
        if (answer !== NOT_SURE) assert.deepEqual(tagsOf(answer), await referenceOf(bytes, name), name);
      }),
      { seed: 1100 + i, numRuns: 150 },
    );
  }
});

test('an ID3v2 frame size with a high bit set (not syncsafe) is not sure: music-metadata reads such a size its own way', async () => {
  const name = 'cbr-v24.mp3';
  const bytes = Buffer.from(fs.readFileSync(path.join(corpusDir, name)));
  const trck = bytes.indexOf('TRCK');
  assert.ok(trck > 0);
  bytes[trck + 6] |= 0x80; // the size's third byte
  const got = fast(bytes, name);
  if (got !== NOT_SURE) assert.deepEqual(got, await referenceOf(bytes, name));
  assert.equal(got, NOT_SURE);
});

test('tags claiming huge sizes (ID3v2 of 200 MB, a FLAC block of 16 MB, an Ogg page past the end): not sure, and nothing read past the file', () => {
  const id3 = Buffer.concat([Buffer.from('ID3'), Buffer.from([4, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f]), Buffer.alloc(100)]);
  const flac = Buffer.concat([Buffer.from('fLaC'), Buffer.from([0x84, 0xff, 0xff, 0xff]), Buffer.alloc(100)]);
  const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.from([0, 2]), Buffer.alloc(20), Buffer.from([255]), Buffer.alloc(255, 255), Buffer.alloc(10)]);
  for (const [bytes, name] of [[id3, 'a.mp3'], [flac, 'a.flac'], [ogg, 'a.ogg']] as const) {
    const counting = countingSource(bytes);
    assert.equal(readFastTags(counting.source, name), NOT_SURE, name);
    assert.ok(counting.reads() < 4096, `${name}: read ${counting.reads()} bytes`);
  }
});

test('FileWindowSource: one pread for the first 64 KiB, one more for a window further on, the right bytes everywhere, and MAX_TAG_READ_BYTES in all', async () => {
  const dir = await harness.tempDir();
  const file = path.join(dir, 'big.bin');
  const size = MAX_TAG_READ_BYTES + 4 * WINDOW_BYTES;
  const content = Buffer.alloc(size);
  for (let i = 0; i < size; i++) content[i] = i % 251;
  await fsp.writeFile(file, content);
  const expect = (got: Uint8Array | undefined, offset: number, length: number, what: string): void =>
    assert.ok(got && Buffer.compare(Buffer.from(got), content.subarray(offset, offset + length)) === 0, what);
  const fd = fs.openSync(file, 'r');
  // Counting the reads the source makes (a spy on fs.readSync, which it calls through the module object).
  const readSync = fs.readSync;
  let preads = 0;
  fs.readSync = ((...args: Parameters<typeof fs.readSync>) => {
    preads++;
    return readSync(...args);
  }) as typeof fs.readSync;
  try {
    const source = new FileWindowSource(fd, size);
    assert.equal(preads, 1, 'the first window in one read');
    expect(source.read(0, 16), 0, 16, 'head');
    expect(source.read(WINDOW_BYTES - 8, 8), WINDOW_BYTES - 8, 8, 'end of the head');
    assert.equal(preads, 1);
    const far = 3 * WINDOW_BYTES + 100;
    expect(source.read(far, 8), far, 8, 'far');
    expect(source.read(far + 5000, 64), far + 5000, 64, 'near the far read');
    assert.equal(preads, 2, 'reads near each other past the head share one more read');
    expect(source.read(WINDOW_BYTES - 4, 8), WINDOW_BYTES - 4, 8, 'across the end of the head');
    assert.equal(source.read(size - 4, 8), undefined, 'past the end');
    assert.equal(source.read(-1, 4), undefined);
    assert.equal(source.read(WINDOW_BYTES, MAX_TAG_READ_BYTES), undefined, 'the windows and this together exceed the limit');
    expect(source.read(2 * WINDOW_BYTES, 2 * WINDOW_BYTES), 2 * WINDOW_BYTES, 2 * WINDOW_BYTES, 'a read larger than a window');
  } finally {
    fs.readSync = readSync;
    fs.closeSync(fd);
  }
});
