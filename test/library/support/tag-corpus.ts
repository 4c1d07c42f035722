import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One file of the corpus: how ffmpeg makes it, and whether the fast path must answer for it. */
export interface CorpusVariant {
  name: string;
  /** ffmpeg arguments after the inputs (the audio is input 0, a cover picture input 1 when `cover`). */
  args: string[];
  /** cover.png, cover.jpg (small) or noise.png (about 400 KB: a tag far larger than the first read). */
  cover?: 'png' | 'jpg' | 'noise';
  seconds?: number;
  sampleRate?: number;
  channels?: number;
  /** A common variant: the fast path must answer (equal to music-metadata) for it. */
  common: boolean;
}

const TAGS = { title: 'Song title', artist: 'An Artist', album: 'An Album', track: '3/12', disc: '1/2', date: '2021-05-04', genre: 'Ambient', album_artist: 'Various Artists' };
const NON_ASCII = { title: 'Crème Brûlée — 日本語 🎵', artist: 'Émilie Ölund', album: 'Café Noir', genre: 'Musique concrète', album_artist: 'Ölund & Co' };

function meta(tags: Record<string, string>): string[] {
  return Object.entries(tags).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
}

const MP3 = ['-c:a', 'libmp3lame'];
const COVER = ['-map', '0:a', '-map', '1:v', '-c:v', 'copy', '-disposition:v', 'attached_pic'];

/** The variants: every format's common shapes, and unusual ones the fast path must pass on. */
export const CORPUS: CorpusVariant[] = [
  { name: 'cbr-v24.mp3', args: [...MP3, '-b:a', '128k', ...meta(TAGS)], common: true },
  { name: 'cbr-v23.mp3', args: [...MP3, '-b:a', '128k', '-id3v2_version', '3', ...meta(TAGS)], common: true },
  { name: 'cbr-id3v1.mp3', args: [...MP3, '-b:a', '96k', '-write_id3v1', '1', ...meta(TAGS)], common: true },
  { name: 'vbr-v24.mp3', args: [...MP3, '-q:a', '4', ...meta(TAGS)], seconds: 3, common: true },
  { name: 'vbr-v23.mp3', args: [...MP3, '-q:a', '2', '-id3v2_version', '3', ...meta(TAGS)], seconds: 3, common: true },
  { name: 'cbr-no-xing.mp3', args: [...MP3, '-b:a', '64k', '-write_xing', '0', ...meta(TAGS)], common: true },
  { name: 'non-ascii-v24.mp3', args: [...MP3, '-b:a', '128k', ...meta(NON_ASCII)], common: true },
  { name: 'non-ascii-v23.mp3', args: [...MP3, '-b:a', '128k', '-id3v2_version', '3', ...meta(NON_ASCII)], common: true },
  { name: 'long-title.mp3', args: [...MP3, '-b:a', '128k', ...meta({ ...TAGS, title: 'Long '.repeat(2000) })], common: true },
  { name: 'cover-v23.mp3', args: [...COVER, ...MP3, '-b:a', '128k', '-id3v2_version', '3', ...meta(TAGS)], cover: 'png', common: true },
  { name: 'big-cover.mp3', args: [...COVER, ...MP3, '-b:a', '128k', ...meta(TAGS)], cover: 'noise', common: true },
  { name: 'big-cover.flac', args: [...COVER, '-c:a', 'flac', ...meta(TAGS)], cover: 'noise', common: true },
  { name: 'cover-v24.mp3', args: [...COVER, ...MP3, '-b:a', '128k', ...meta(TAGS)], cover: 'jpg', common: true },
  { name: 'mpeg2-mono.mp3', args: [...MP3, '-b:a', '32k', ...meta(TAGS)], sampleRate: 22050, channels: 1, common: true },
  { name: 'mpeg25.mp3', args: [...MP3, '-b:a', '16k', ...meta(TAGS)], sampleRate: 8000, channels: 1, common: true },
  { name: 'stereo-48k.mp3', args: [...MP3, '-b:a', '192k', ...meta(TAGS)], sampleRate: 48000, channels: 2, common: true },
  { name: 'year-only-v23.mp3', args: [...MP3, '-b:a', '128k', '-id3v2_version', '3', ...meta({ title: 'T', date: '1999' })], common: true },
  { name: 'numeric-genre.mp3', args: [...MP3, '-b:a', '128k', ...meta({ title: 'T', genre: '13' })], common: false },
  { name: 'slash-artist-v23.mp3', args: [...MP3, '-b:a', '128k', '-id3v2_version', '3', ...meta({ title: 'T', artist: 'AC/DC' })], common: false },
  { name: 'no-id3v2.mp3', args: [...MP3, '-b:a', '128k', '-id3v2_version', '0', '-write_id3v1', '1', ...meta(TAGS)], common: false },
  { name: 'tags.flac', args: ['-c:a', 'flac', ...meta(TAGS)], common: true },
  { name: 'cover.flac', args: [...COVER, '-c:a', 'flac', ...meta(TAGS)], cover: 'png', common: true },
  { name: 'hires.flac', args: ['-c:a', 'flac', '-sample_fmt', 's32', ...meta(NON_ASCII)], sampleRate: 96000, channels: 2, common: true },
  { name: 'vorbis.ogg', args: ['-c:a', 'libvorbis', '-q:a', '3', ...meta(TAGS)], common: true },
  { name: 'vorbis-long.ogg', args: ['-c:a', 'libvorbis', '-q:a', '0', ...meta(NON_ASCII)], seconds: 40, common: true },
  { name: 'opus.ogg', args: ['-c:a', 'libopus', ...meta(TAGS)], sampleRate: 48000, common: false },
  { name: 'opus.opus', args: ['-c:a', 'libopus', ...meta(TAGS)], sampleRate: 48000, common: false },
  { name: 'aac.m4a', args: ['-c:a', 'aac', '-b:a', '96k', ...meta(TAGS)], common: true },
  // moov after an mdat larger than the first read's window: one more read.
  { name: 'aac-long.m4a', args: ['-c:a', 'aac', '-b:a', '128k', ...meta(NON_ASCII)], seconds: 12, common: true },
  { name: 'aac-faststart.m4a', args: ['-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', ...meta(TAGS)], common: true },
  { name: 'alac-cover.m4a', args: [...COVER, '-c:a', 'alac', ...meta(TAGS)], cover: 'jpg', common: true },
  { name: 'pcm16.wav', args: ['-c:a', 'pcm_s16le', ...meta(TAGS)], common: true },
  { name: 'pcm24-stereo.wav', args: ['-c:a', 'pcm_s24le', ...meta(NON_ASCII)], channels: 2, common: true },
  { name: 'float.wav', args: ['-c:a', 'pcm_f32le', ...meta(TAGS)], common: false },
  { name: 'untagged.wav', args: ['-c:a', 'pcm_s16le', '-fflags', '+bitexact', '-map_metadata', '-1'], common: true },
];

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { timeout: 60_000 });
}

/** Makes the corpus in `dir` (two ffmpeg processes at a time); returns the files' names. */
export async function makeCorpus(dir: string, variants: readonly CorpusVariant[] = CORPUS): Promise<string[]> {
  await fsp.mkdir(dir, { recursive: true });
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=1', '-frames:v', '1', path.join(dir, 'cover.png')]);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=1', '-frames:v', '1', path.join(dir, 'cover.jpg')]);
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=400x400,noise=alls=100:allf=t', '-frames:v', '1', path.join(dir, 'noise.png')]);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < variants.length) {
      const v = variants[next++]!;
      const input = ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${v.sampleRate ?? 44100}:duration=${v.seconds ?? 1.5}`];
      const cover = v.cover ? ['-i', path.join(dir, v.cover === 'noise' ? 'noise.png' : `cover.${v.cover}`)] : [];
      await ffmpeg([...input, ...cover, '-ac', String(v.channels ?? 1), ...v.args, path.join(dir, v.name)]);
    }
  };
  await Promise.all([lane(), lane()]);
  return variants.map((v) => v.name);
}
