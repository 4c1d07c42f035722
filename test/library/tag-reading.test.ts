import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { Library, type LibraryEntry } from '../../src/library/index.js';
import { parseFile } from 'music-metadata';
import { readTagsBlocking, TAG_PARSE_OPTIONS, tagsOf, type AudioTags } from '../../src/library/tag-reader.js';
import { TagWorkerPool } from '../../src/library/tag-worker-pool.js';
import { SAMPLE_LIBRARY } from '../client/support/paths.js';
import { TestHarness } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** The sample library with its links resolved, and a sample file's path below it: how readers name files. */
const SAMPLE_ROOT = fs.realpathSync(SAMPLE_LIBRARY);
const below = (file: string): string => path.relative(SAMPLE_LIBRARY, file).split(path.sep).join('/');

/** The reference: music-metadata reading the file its own way (async reads), mapped the same way. */
async function readTags({ absolutePath }: { absolutePath: string }): Promise<AudioTags> {
  return tagsOf(await parseFile(absolutePath, TAG_PARSE_OPTIONS));
}

/** The sample library's audio files (real files made by ffmpeg, with tags), by path. */
async function sampleFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fsp.readdir(SAMPLE_LIBRARY, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /\.(wav|mp3|flac|ogg|m4a)$/i.test(entry.name)) files.push(path.join(entry.parentPath, entry.name));
  }
  return files.sort();
}

test('blocking reads (for worker threads) give the same tags as music-metadata reading the file itself, for every sample format', async () => {
  const files = await sampleFiles();
  assert.equal(files.length, 10);
  for (const file of files) {
    const inline = await readTags({ absolutePath: file });
    assert.ok(inline.codec, `${file}: the sample file has format details`);
    assert.deepEqual(await readTagsBlocking(SAMPLE_ROOT, below(file)), inline, file);
  }
});

test('blocking reads give no tags, not an error, for a file that is not audio; and nothing (undefined: not to be remembered) for one missing or a FIFO', async () => {
  const dir = fs.realpathSync(await harness.tempDir());
  await fsp.writeFile(path.join(dir, 'junk.mp3'), 'not audio at all');
  assert.deepEqual(await readTagsBlocking(dir, 'junk.mp3'), {});
  assert.equal(await readTagsBlocking(dir, 'missing.flac'), undefined);
  spawnSync('mkfifo', [path.join(dir, 'pipe.ogg')]);
  // Opened non-blocking and refused as not a regular file: the thread never waits on it.
  assert.equal(await readTagsBlocking(dir, 'pipe.ogg'), undefined);
});

test('TagWorkerPool reads the same tags as inline, several files in flight over two workers, and closes', { timeout: 20_000 }, async () => {
  const files = await sampleFiles();
  const pool = new TagWorkerPool({ workers: 2 });
  try {
    const pooled = await Promise.all([...files, ...files].map((f) => pool.read(SAMPLE_ROOT, below(f))));
    for (const [i, file] of [...files, ...files].entries()) assert.deepEqual(pooled[i], await readTags({ absolutePath: file }), file);
  } finally {
    await pool.close();
  }
  assert.deepEqual(await pool.read(SAMPLE_ROOT, below(files[0]!)), {}, 'a closed pool reads nothing');
});

test('TagWorkerPool: a read over the time limit resolves with no tags instead of waiting (its worker is stopped)', { timeout: 20_000 }, async () => {
  const [file] = await sampleFiles();
  // 1 ms: a worker's start-up alone takes longer, so the first read times out.
  const errors: string[] = [];
  const pool = new TagWorkerPool({ workers: 1, timeoutMs: 1, onWorkerError: (err) => errors.push(err.message) });
  try {
    assert.deepEqual(await pool.read(SAMPLE_ROOT, below(file!)), {}, 'given up: the file itself has tags');
    assert.deepEqual(errors, [`gave up reading the tags of ${JSON.stringify(below(file!))} after 0.001 s`], 'and the log is told why');
  } finally {
    await pool.close();
  }
  // The same file with the default limit: it was the limit, not the file.
  const patient = new TagWorkerPool({ workers: 1 });
  try {
    assert.ok((await patient.read(SAMPLE_ROOT, below(file!)))?.codec);
  } finally {
    await patient.close();
  }
});

for (const [bad, what] of [
  ['loops-forever.mp3', 'never finishes'],
  ['kills-its-worker.mp3', 'kills its worker'],
] as const) {
  test(`TagWorkerPool (test double of the worker): a file that ${what} gets no tags, and the other files of its batch still get theirs`, { timeout: 30_000 }, async () => {
    const files = (await sampleFiles()).map(below);
    const errors: string[] = [];
    const pool = new TagWorkerPool({
      workers: 1,
      timeoutMs: 1_000,
      workerUrl: new URL('./support/misbehaving-tag-worker.js', import.meta.url),
      onWorkerError: (err) => errors.push(err.message),
    });
    try {
      // Asked for in one turn: one batch, the bad file in its middle.
      const asked = [...files.slice(0, 5), bad, ...files.slice(5)];
      const got = await Promise.all(asked.map((f) => pool.read(SAMPLE_ROOT, f)));
      for (const [i, file] of asked.entries()) {
        if (file === bad) assert.deepEqual(got[i], {}, 'the bad file: no tags');
        else assert.deepEqual(got[i], await readTags({ absolutePath: path.join(SAMPLE_ROOT, file) }), file);
      }
      if (bad === 'loops-forever.mp3') assert.deepEqual(errors, [`gave up reading the tags of ${JSON.stringify(bad)} after 1 s`]);
      assert.ok((await pool.read(SAMPLE_ROOT, files[0]!))?.codec, 'and the pool reads on with a new worker');
    } finally {
      await pool.close();
    }
  });
}

test('TagWorkerPool.readMany (test double of the worker for one file): every result in the order asked, a missing file undefined, the file that kills its worker no tags; a closed pool reads nothing', { timeout: 30_000 }, async () => {
  const files = (await sampleFiles()).map(below);
  const pool = new TagWorkerPool({ workers: 1, workerUrl: new URL('./support/misbehaving-tag-worker.js', import.meta.url) });
  try {
    const asked = [...files.slice(0, 3), 'no such file.mp3', 'kills-its-worker.mp3', ...files.slice(3)];
    const got = await pool.readMany(SAMPLE_ROOT, asked);
    assert.equal(got.length, asked.length);
    for (const [i, file] of asked.entries()) {
      if (file === 'no such file.mp3') assert.equal(got[i], undefined, 'not opened: nothing to remember');
      else if (file === 'kills-its-worker.mp3') assert.deepEqual(got[i], {}, 'the bad file: no tags');
      else assert.deepEqual(got[i], await readTags({ absolutePath: path.join(SAMPLE_ROOT, file) }), file);
    }
    assert.deepEqual(await pool.readMany(SAMPLE_ROOT, []), []);
  } finally {
    await pool.close();
  }
  assert.deepEqual(await pool.readMany(SAMPLE_ROOT, files.slice(0, 2)), [{}, {}], 'closed');
});

test('TagWorkerPool sends reads asked for together in batches, not one message per file', { timeout: 20_000 }, async () => {
  const files = (await sampleFiles()).map(below);
  const pool = new TagWorkerPool({ workers: 1 });
  try {
    const asked = Array.from({ length: 100 }, (_, i) => files[i % files.length]!);
    await Promise.all(asked.map((f) => pool.read(SAMPLE_ROOT, f)));
    assert.equal(pool.batchesSent, 2, '100 reads: a batch of 64 and one of 36');
  } finally {
    await pool.close();
  }
});

test('a tag pass (on worker threads) reads every file\'s tags, as inline reading would, and INFO-style single reads too', { timeout: 60_000 }, async () => {
  const files = await sampleFiles();
  const root = await harness.tempDir();
  const copies = 300;
  for (let i = 0; i < copies; i++) {
    const source = files[i % files.length]!;
    const dir = path.join(root, `Artist ${i % 7}`, `Album ${i % 13}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(source, path.join(dir, `${String(i).padStart(4, '0')} ${path.basename(source)}`));
  }
  fs.writeFileSync(path.join(root, 'broken.mp3'), 'not audio');
  const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0 });
  harness.defer(() => library.close());
  await library.tagsSettled();
  const inline = new Map<string, AudioTags>();
  for (const file of files) inline.set(path.basename(file), await readTags({ absolutePath: file }));
  const entries: readonly LibraryEntry[] = library.current.entries;
  assert.equal(entries.length, copies + 1);
  for (const entry of entries) {
    const expected = entry.path === 'broken.mp3' ? {} : inline.get(path.basename(entry.path).slice(5));
    assert.deepEqual(library.tags.get(entry), expected, entry.path);
  }
  assert.equal(library.tagFilesRead, copies + 1, 'each file read once');
  assert.deepEqual(await library.readTags(entries[0]!), library.tags.get(entries[0]!), 'a single read is served from the cache');
  assert.equal(library.tagFilesRead, copies + 1);
});

test('TagWorkerPool: idle workers stop by themselves and start again when needed', { timeout: 20_000 }, async () => {
  const [file] = await sampleFiles();
  const pool = new TagWorkerPool({ workers: 2, idleMs: 50 });
  try {
    assert.ok((await pool.read(SAMPLE_ROOT, below(file!)))?.codec);
    assert.equal(pool.running, 1, 'one read starts one worker');
    const deadline = Date.now() + 5_000;
    while (pool.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pool.running, 0, 'stopped once idle');
    assert.ok((await pool.read(SAMPLE_ROOT, below(file!)))?.codec, 'and started again');
  } finally {
    await pool.close();
  }
});

test('a process awaiting only tags stays alive until they arrive, and exits by itself once idle', { timeout: 20_000 }, async () => {
  const [file] = await sampleFiles();
  const moduleUrl = new URL('../../src/library/tag-worker-pool.js', import.meta.url).href;
  const script = `
    const { TagWorkerPool } = await import(${JSON.stringify(moduleUrl)});
    const pool = new TagWorkerPool({ idleMs: 60_000 });
    const tags = await pool.read(${JSON.stringify(SAMPLE_ROOT)}, ${JSON.stringify(below(file!))});
    console.log(tags?.codec ? 'tags' : 'none');
  `;
  // A script file, not --eval: workers inherit the parent's flags, and --input-type would
  // stop them from loading their own file.
  const scriptFile = path.join(await harness.tempDir(), 'await-tags.mjs');
  await fsp.writeFile(scriptFile, script);
  const run = spawnSync(process.execPath, [scriptFile], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'tags\n', 'the read finished before exit, and a 60 s idle timer did not hold the process');
});
