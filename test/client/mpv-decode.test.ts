import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { quote } from 'shell-quote';
import { exists, makeTempDir, removeDir } from './support/files.js';
import { SAMPLE_LIBRARY } from './support/paths.js';
import { clientArgs, describeRun, runClient } from './support/run-client.js';
import { indexesByPath, startServer, type RunningServer } from './support/loopback-server.js';

/**
 * mpv decoding its stdin to raw s16 PCM (docs/notes-mpv.md): deterministic, no audio
 * device needed. MP3 decodes differently from a pipe than from a file, so the reference
 * is decoded from a pipe too.
 */
function mpvToPcm(out: string): string[] {
  return ['mpv', '--no-config', '--no-video', '--really-quiet', '--ao=pcm', '--ao-pcm-waveheader=no', '--audio-format=s16', `--ao-pcm-file=${out}`, '-'];
}

const mpvInstalled = spawnSync('mpv', ['--version'], { stdio: 'ignore' }).status === 0;

/** Pipes `file` into mpv ourselves: the reference decode. */
async function decodeThroughPipe(file: string, out: string): Promise<void> {
  const [program, ...args] = mpvToPcm(out);
  // detached: a session of its own, so mpv cannot open the developer's terminal for keys.
  const child = spawn(program!, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  try {
    await pipeline(createReadStream(file), child.stdin);
  } catch {
    // mpv may stop reading early; its exit status tells us whether that was a failure
  }
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, `mpv decoding ${file} from a pipe exited ${code}: ${stderr}`);
}

describe('REAL mpv: what the client pipes in decodes to the same PCM as the original file piped in', () => {
  let work: string;
  let server: RunningServer;
  let indexes: Map<string, number>;

  before(async () => {
    if (!mpvInstalled) return;
    work = await makeTempDir('mpv');
    server = await startServer(SAMPLE_LIBRARY);
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await server?.close();
    if (work) await removeDir(work);
  });

  test('the sample library has all five formats', { timeout: 20_000 }, async (t) => {
    if (!mpvInstalled) {
      t.skip('mpv not installed: apt-get install mpv');
      return;
    }
    const extensions = new Set([...indexes.keys()].map((p) => path.extname(p).toLowerCase()));
    assert.deepEqual([...extensions].sort(), ['.flac', '.m4a', '.mp3', '.ogg', '.wav']);
  });

  const samples = [
    'Aurora Tones/First Light/01 Sunrise.flac',
    'Aurora Tones/First Light/02 Morning Chord.mp3',
    'Aurora Tones/First Light/03 Noon Hum.wav',
    "Singles/Don't Panic.m4a",
    'Singles/Short Beep.wav',
    'Various Artists/Noise Études/Disc 1/01 Pink Noise.flac',
    'Various Artists/Noise Études/Disc 1/02 Brown Noise.MP3',
    'Various Artists/Noise Études/Disc 1/03 White Noise.ogg',
    'Émilie Ölund/Café Noir/01 Café Noir.ogg',
    'Émilie Ölund/Café Noir/02 Crème Brûlée.m4a',
  ];
  for (const [n, remote] of samples.entries()) {
    test(`stream of ${remote} through mpv gives byte-identical, non-empty PCM`, { timeout: 20_000 }, async (t) => {
      if (!mpvInstalled) {
        t.skip('mpv not installed: apt-get install mpv');
        return;
      }
      const index = indexes.get(remote);
      assert.notEqual(index, undefined, `the server lists ${remote}`);
      const viaClient = path.join(work, `client-${n}.raw`);
      const reference = path.join(work, `reference-${n}.raw`);
      // mpv neither creates nor truncates its output when it fails: start without one.
      await fsp.rm(viaClient, { force: true });
      await fsp.rm(reference, { force: true });

      const run = await runClient(clientArgs(server.port, path.join(work, 'library'), quote(mpvToPcm(viaClient))), `stream ${index}\n`);
      assert.equal(run.code, 0, describeRun(run));
      assert.match(run.stdout, /^played /m);
      assert.equal(await exists(path.join(work, 'library')), false, 'stream saved nothing');
      await decodeThroughPipe(path.join(SAMPLE_LIBRARY, remote), reference);

      const [got, want] = await Promise.all([fsp.readFile(viaClient), fsp.readFile(reference)]);
      assert.ok(want.length > 0, 'the reference decode is not empty');
      assert.equal(got.length, want.length, 'same number of PCM bytes');
      assert.ok(got.equals(want), 'PCM is byte-identical');
    });
  }
});
