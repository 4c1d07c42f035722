import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ClientConnection, LocalLibrary, Shell } from '../../src/client/index.js';
import { HeadCapture, rangeSeekerFor } from '../../src/client/player/byte-range-seek.js';
import { Mp3FrameSync, mp3ByteAt, mp3TimeAt, readMp3Layout, type Mp3Layout } from '../../src/client/player/mp3-layout.js';
import { cutWav, readWavLayout, type WavLayout } from '../../src/client/player/wav-layout.js';
import { makeTempDir, removeDir } from './support/files.js';
import { startServer, indexesByPath, type RunningServer } from './support/loopback-server.js';
import { getReplyBody, ThrottlingProxy } from './support/throttling-proxy.js';
import { sleep, waitFor } from '../support/wait-for.js';

/**
 * `seek` beyond what has arrived: the track restarts from a byte range over v2 (WAV exactly,
 * MP3 by its table of contents or bitrate, at a frame boundary); other formats say so in one
 * line. Real ffmpeg-made files, a real server, REAL mpv (`--ao=null`), and between client and
 * server a SLOW NETWORK STAND-IN (a throttling proxy) so that the seek target has not arrived.
 */
const tools = ['mpv', 'ffmpeg', 'ffprobe'].every((t) => spawnSync(t, ['-version'], { stdio: 'ignore' }).status === 0 || spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools ? false : 'mpv, ffmpeg and ffprobe are needed';
const MPV = ['mpv', '--no-config', '--no-video', '--msg-level=all=error', '--ao=null'];

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  assert.equal(r.status, 0, `ffmpeg failed: ${r.stderr}`);
}

function tone(seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`];
}

/** Each audio packet's byte position and time, as ffprobe (not our code) finds them. */
function packets(file: string): { pos: number; time: number }[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=pts_time,pos', '-of', 'csv=p=0', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(','))
    .map(([time, pos]) => ({ time: Number(time), pos: Number(pos) }));
}

async function captureOf(file: string): Promise<{ capture: HeadCapture; size: number; bytes: Buffer }> {
  const bytes = await fsp.readFile(file);
  const capture = new HeadCapture();
  // In pieces, as a transfer delivers it.
  for (let at = 0; at < bytes.length; at += 7_000) capture.take(bytes.subarray(at, at + 7_000), at);
  return { capture, size: bytes.length, bytes };
}

describe('where a time lies in a file (ffmpeg-made files, ffprobe as the judge)', { skip }, () => {
  let work: string;
  before(async () => {
    work = await makeTempDir('range-layout');
    ffmpeg([...tone(120), '-ar', '8000', '-ac', '1', path.join(work, 'tone.wav')]);
    ffmpeg([...tone(120), '-ac', '2', '-q:a', '9', path.join(work, 'vbr.mp3')]);
    ffmpeg([...tone(120), '-ac', '1', '-b:a', '64k', '-write_xing', '0', path.join(work, 'cbr.mp3')]);
    // Cover art makes the ID3v2 tag longer than the captured head: the first frame lies beyond it.
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=640x640:duration=1', '-frames:v', '1', path.join(work, 'cover.bmp')]);
    ffmpeg([...tone(60), '-i', path.join(work, 'cover.bmp'), '-map', '0:a', '-map', '1:v', '-c:v', 'bmp', '-id3v2_version', '3', '-b:a', '128k', path.join(work, 'art.mp3')]);
    ffmpeg([...tone(20), path.join(work, 'tone.flac')]);
    ffmpeg([...tone(20), '-c:a', 'libvorbis', path.join(work, 'tone.ogg')]);
    ffmpeg([...tone(20), '-c:a', 'aac', path.join(work, 'tone.m4a')]);
  });
  after(() => removeDir(work));

  test('WAV: the cut is header + time × byte rate on a block, and the header sent first says what is left', async () => {
    const { bytes, size } = await captureOf(path.join(work, 'tone.wav'));
    const layout = readWavLayout(bytes.subarray(0, 65536), size) as WavLayout;
    assert.equal(typeof layout, 'object', String(layout));
    assert.equal(layout.dataStart, bytes.indexOf('data', 12, 'latin1') + 8, 'the data chunk found past the LIST chunk ffmpeg writes');
    assert.equal(layout.byteRate, 16_000);
    const cut = cutWav(layout, 100.30007);
    assert.equal((cut.offset - layout.dataStart) % layout.blockAlign, 0);
    assert.equal(cut.offset, layout.dataStart + 100.3 * 16_000);
    assert.equal(cut.seconds, 100.3);
    const rest = size - cut.offset;
    assert.equal(cut.prefix.readUInt32LE(layout.dataStart - 4), rest);
    assert.equal(cut.prefix.readUInt32LE(4), cut.prefix.length - 8 + rest);
    // What a player gets (prefix + the bytes from the cut) is a WAV ffprobe reads as the rest.
    const cutFile = path.join(work, 'cut.wav');
    await fsp.writeFile(cutFile, Buffer.concat([cut.prefix, bytes.subarray(cut.offset)]));
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', cutFile], { encoding: 'utf8' });
    assert.ok(Math.abs(Number(probe.stdout) - 19.7) < 0.01, `the cut plays the last 19.7 s (${probe.stdout})`);
  });

  async function checkMp3(file: string, index: Mp3Layout['index'], targets: number[]): Promise<void> {
    const { capture, size, bytes } = await captureOf(file);
    const { bytes: frameBytes, at } = capture.frameBytes();
    const layout = readMp3Layout(frameBytes, at, size) as Mp3Layout;
    assert.equal(typeof layout, 'object', String(layout));
    assert.equal(layout.index, index);
    const truth = packets(file);
    const total = truth[truth.length - 1]!.time;
    assert.ok(Math.abs(layout.duration - total) < 1, `duration ${layout.duration} vs ffprobe ${total}`);
    for (const [n, target] of targets.entries()) {
      const byte = mp3ByteAt(layout, target);
      const sync = new Mp3FrameSync(layout.first);
      const rest = bytes.subarray(byte, byte + 20_000);
      // Once byte by byte, the others in one piece: the result must not depend on the split.
      const out = n === 0 ? [...rest].flatMap((b) => sync.feed(Buffer.from([b]))) : sync.feed(rest);
      assert.ok(sync.synced);
      const boundary = byte + sync.skipped;
      assert.deepEqual(Buffer.concat(out), bytes.subarray(boundary, byte + 20_000), 'everything from the boundary is passed on, in order');
      const packet = truth.find((p) => p.pos === boundary);
      assert.ok(packet, `byte ${boundary} (for ${target} s) is a frame boundary as ffprobe sees it`);
      assert.ok(Math.abs(packet.time - target) < 1, `the frame at ${boundary} plays at ${packet.time}, asked ${target}`);
      assert.ok(Math.abs(mp3TimeAt(layout, boundary) - packet.time) < 1, `its time is reckoned as ${mp3TimeAt(layout, boundary)}, ffprobe says ${packet.time}`);
    }
  }

  test('MP3 with a Xing table of contents (VBR): the frame boundary found plays within 1 s of the target', async () => {
    await checkMp3(path.join(work, 'vbr.mp3'), 'xing', [33.3, 70, 110]);
  });

  test('MP3 without a Xing header (CBR): by its bitrate', async () => {
    await checkMp3(path.join(work, 'cbr.mp3'), 'bitrate', [5, 61.5, 100]);
  });

  test('MP3 behind an ID3v2 tag longer than the captured head (cover art): the first frame is still found', async () => {
    const { bytes } = await captureOf(path.join(work, 'art.mp3'));
    assert.ok(bytes.readUInt8(9) + (bytes.readUInt8(8) << 7) + (bytes.readUInt8(7) << 14) > 65536, 'the tag is over 64 KiB');
    await checkMp3(path.join(work, 'art.mp3'), 'xing', [30]);
  });

  test('a frame boundary is not found in bytes that hold none: an error, not a wait for ever', () => {
    const sync = new Mp3FrameSync({ version: 3, sampleRate: 44100, bitrate: 128, samplesPerFrame: 1152, length: 417, mono: false }, 4096);
    assert.deepEqual(sync.feed(Buffer.alloc(4000)), []);
    assert.throws(() => sync.feed(Buffer.alloc(200)), /no MP3 frame boundary within 4096 bytes/);
  });

  test('FLAC, Ogg and M4A are refused, naming the format and the ones that work', async () => {
    for (const [file, name] of [['tone.flac', 'FLAC'], ['tone.ogg', 'OGG'], ['tone.m4a', 'M4A']] as const) {
      const { capture, size } = await captureOf(path.join(work, file));
      assert.equal(rangeSeekerFor(capture, size), `a ${name} file cannot be sought beyond what has arrived (only mp3 and wav can)`);
    }
  });
});

/** An in-process shell whose connections go through the proxy. */
class TestShell {
  readonly shell: Shell;
  stdout = '';
  stderr = '';

  constructor(port: number, library: string) {
    const output = new PassThrough();
    const errors = new PassThrough();
    output.on('data', (c: Buffer) => (this.stdout += c.toString()));
    errors.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.shell = new Shell({
      connection: new ClientConnection({ host: '127.0.0.1', port }),
      playbackConnection: new ClientConnection({ host: '127.0.0.1', port }),
      library: new LocalLibrary(library),
      player: MPV,
      input: Readable.from([]),
      output,
      errors,
      interactive: false,
    });
  }

  async run(line: string): Promise<void> {
    await this.shell.execute(line);
  }

  /** The track's time as the shell reports it (mpv's time-pos plus where the stream was cut). */
  async time(): Promise<number | undefined> {
    return this.shell.background.currentControl?.getTimePos().catch(() => undefined);
  }
}

describe('seek beyond what has arrived, by a byte range (REAL mpv --ao=null, a real server behind a SLOW NETWORK STAND-IN)', { skip }, () => {
  let work: string;
  let server: RunningServer;
  let indexes: Map<string, number>;
  const proxies: ThrottlingProxy[] = [];
  const shells: TestShell[] = [];

  before(async () => {
    work = await makeTempDir('range-seek');
    const dir = path.join(work, 'server');
    await fsp.mkdir(path.join(dir, 'Long'), { recursive: true });
    // 5 minutes each: at a few times the playing rate, minute 3 is far from having arrived.
    ffmpeg([...tone(300), '-ar', '8000', '-ac', '1', path.join(dir, 'Long', 'tone.wav')]);
    ffmpeg([...tone(300), '-ac', '2', '-q:a', '9', path.join(dir, 'Long', 'tone.mp3')]);
    ffmpeg([...tone(300), '-ar', '8000', '-ac', '1', path.join(dir, 'Long', 'tone.flac')]);
    server = await startServer(dir);
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await Promise.all(shells.map((s) => s.shell.background.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await server.close();
    await removeDir(work);
  });

  async function shellBehind(bytesPerSecond: number): Promise<{ s: TestShell; proxy: ThrottlingProxy }> {
    const proxy = new ThrottlingProxy(server.port, bytesPerSecond);
    await proxy.listen();
    proxies.push(proxy);
    const s = new TestShell(proxy.port, path.join(work, `lib-${shells.length}`));
    shells.push(s);
    return { s, proxy };
  }

  async function playing(s: TestShell, after: number): Promise<number> {
    return waitFor(`the track time past ${after}`, 20_000, async () => {
      const t = await s.time();
      return t !== undefined && t > after ? t : undefined;
    });
  }

  /** The ranged GET the seek sent, and the bytes that came for it, against the file's own. */
  async function checkRangeBytes(proxy: ThrottlingProxy, remote: string, offset: number): Promise<void> {
    const original = await fsp.readFile(path.join(work, 'server', ...remote.split('/')));
    const connection = await waitFor('the ranged GET with some body', 15_000, () => {
      const c = proxy.connections.find((x) => x.sent.includes(`GET ${JSON.stringify(remote)} ${offset}\r\n`));
      return c && (getReplyBody(c)?.body.length ?? 0) > 10_000 ? c : undefined;
    });
    const reply = getReplyBody(connection)!;
    assert.equal(reply.offset, offset);
    assert.ok(reply.body.equals(original.subarray(offset, offset + reply.body.length)), `the ${reply.body.length} bytes fetched are the file's bytes from ${offset}`);
  }

  test('WAV: seek 3:20 long before it has arrived lands within 1 s of it, in track time, and plays on', async () => {
    const { s, proxy } = await shellBehind(48_000); // 3 × the file's 16,000 bytes/s
    await s.run(`play ${indexes.get('Long/tone.wav')}`);
    await playing(s, 0.2);
    await s.run('seek 3:20');
    assert.equal(s.stderr, '');
    const at = (await s.time())!;
    assert.ok(Math.abs(at - 200) < 1, `seek 3:20 landed at ${at}`);
    assert.match(s.stdout, /^at 3:2\d \/ 5:00$/m);
    const cut = s.shell.background.lastRangeStart!;
    assert.equal(cut.offset % 2, 0, 'on a block boundary (mono 16-bit: 2 bytes)');
    assert.equal(cut.seconds, 200);
    await checkRangeBytes(proxy, 'Long/tone.wav', cut.offset);
    await playing(s, at + 0.5);
    await s.run('status');
    assert.match(s.stdout, /tone\.wav {3}3:2\d \/ 5:00 {3}\[1\/1\]/);
    // Back before the cut: that part was never fetched by this stream, so another range.
    await s.run('seek 0:10');
    assert.equal(s.stderr, '');
    const back = (await s.time())!;
    assert.ok(Math.abs(back - 10) < 1, `seek 0:10 landed at ${back}`);
    assert.equal(s.shell.background.lastRangeStart!.seconds, 10);
    await checkRangeBytes(proxy, 'Long/tone.wav', s.shell.background.lastRangeStart!.offset);
    // A relative seek within what has arrived of the new stream is mpv's own.
    await s.run('seek +1');
    const plus = (await s.time())!;
    assert.ok(Math.abs(plus - (back + 1)) < 1, `seek +1 from ${back} landed at ${plus}`);
    await s.run('seek 9:00');
    assert.match(s.stderr, /^error: this track is only 5:00 long$/m);
    await s.run('help');
    assert.match(s.stdout, /beyond what has arrived too, for mp3 and wav/);
  });

  test('MP3 (Xing table): seek 3:00 lands within 1 s of it, at a frame boundary ffprobe agrees with', async () => {
    const { s, proxy } = await shellBehind(30_000); // about 3 × the file's bitrate
    await s.run(`play ${indexes.get('Long/tone.mp3')}`);
    await playing(s, 0.2);
    await s.run('seek 3:00');
    assert.equal(s.stderr, '');
    const at = (await s.time())!;
    assert.ok(Math.abs(at - 180) < 1, `seek 3:00 landed at ${at}`);
    const cut = s.shell.background.lastRangeStart!;
    const truth = packets(path.join(work, 'server', 'Long', 'tone.mp3'));
    const frame = truth.find((p) => p.pos === cut.offset + cut.skipped);
    assert.ok(frame, `the stream starts at a frame boundary (byte ${cut.offset + cut.skipped})`);
    assert.ok(Math.abs(frame.time - 180) < 1, `that frame plays at ${frame.time} in the file`);
    await checkRangeBytes(proxy, 'Long/tone.mp3', cut.offset);
    await playing(s, at + 0.5);
    assert.match(s.stdout, /^at 3:0\d \/ 5:00$/m);
  });

  test('FLAC: a seek beyond what has arrived says, in one line, which formats can', async () => {
    const { s } = await shellBehind(20_000);
    await s.run(`play ${indexes.get('Long/tone.flac')}`);
    await playing(s, 0.2);
    await s.run('seek 4:00');
    assert.match(s.stderr, /^error: 4:00 has not arrived yet, and a FLAC file cannot be sought beyond what has arrived \(only mp3 and wav can\): wait, or get the file and play the saved copy\n$/);
    await sleep(100);
    assert.ok(((await s.time()) ?? 99) < 30, 'it plays on from where it was');
  });
});
