/**
 * The fast path in front of music-metadata for the common formats as they are usually
 * written (mp3 with an ID3v2.3/2.4 tag and a Xing/Info header or CBR frames, FLAC, Ogg Vorbis, WAV, MPEG-4 audio).
 * It dispatches on the file's extension (music-metadata picks its parser by extension
 * first) and first bytes, and answers only when its answer is the one music-metadata would
 * give, field for field; anything else is NOT_SURE and the caller asks music-metadata.
 * Parsing only: the bytes come through a ByteSource (file-window-source.ts reads them).
 */
import { NOT_SURE, type ByteSource, type NotSure } from './byte-source.js';
import { CommonTagCollector, type FastMetadata } from './common-tags.js';
import { readFlac } from './flac.js';
import { ID3V2_HEADER_LENGTH, readId3v2, startsWithId3v2 } from './id3v2.js';
import { readMp4 } from './mp4-atoms.js';
import { readMpegAudio } from './mpeg-audio.js';
import { readOgg } from './ogg.js';
import { readWave } from './riff-wave.js';

export { NOT_SURE, type NotSure } from './byte-source.js';
export type { FastMetadata } from './common-tags.js';

/** Tags and format of the file behind `source`, named `relativePath`, or NOT_SURE. */
export function readFastTags(source: ByteSource, relativePath: string): FastMetadata | NotSure {
  const dot = relativePath.lastIndexOf('.');
  const extension = dot === -1 ? '' : relativePath.slice(dot + 1).toLowerCase();
  switch (extension) {
    case 'mp3':
      return readMp3(source);
    case 'flac':
      return readFlac(source);
    case 'wav':
      return readWave(source);
    case 'ogg':
      return readOgg(source);
    case 'm4a':
      return readMp4(source);
    default:
      return NOT_SURE;
  }
}

function readMp3(source: ByteSource): FastMetadata | NotSure {
  const collector = new CommonTagCollector();
  const end = readId3v2(source, collector);
  if (end === NOT_SURE) return NOT_SURE;
  // A second tag right after the first is read too by music-metadata: not here.
  const next = source.read(end, ID3V2_HEADER_LENGTH);
  if (next && startsWithId3v2(next)) return NOT_SURE;
  // A tag without frames: music-metadata goes on to ID3v1 and APE at the end.
  if (collector.nativeTags === 0) return NOT_SURE;
  const common = collector.result();
  if (common === NOT_SURE) return NOT_SURE;
  const format = readMpegAudio(source, end);
  if (format === NOT_SURE) return NOT_SURE;
  return { common, format };
}
