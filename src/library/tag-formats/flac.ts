/**
 * FLAC: "fLaC", then metadata blocks (a 4-byte header: last-block flag, 7-bit type, 24-bit
 * big-endian length). STREAMINFO gives the sample rate and the total samples; the
 * VORBIS_COMMENT block the tags; PICTURE blocks the cover. The bitrate is music-metadata's:
 * the bytes after the last block, over the duration.
 */
import { MAX_TAG_READ_BYTES } from '../tag-read-limit.js';
import { NOT_SURE, u24be, u32be, type ByteSource, type NotSure } from './byte-source.js';
import { CommonTagCollector, type FastMetadata, type FormatFields } from './common-tags.js';
import { readVorbisComments } from './vorbis-comment.js';

const STREAMINFO = 0;
const VORBIS_COMMENT = 4;
const PICTURE = 6;
const STREAMINFO_LENGTH = 34;

export function readFlac(source: ByteSource): FastMetadata | NotSure {
  const magic = source.read(0, 4);
  if (!magic || magic[0] !== 0x66 || magic[1] !== 0x4c || magic[2] !== 0x61 || magic[3] !== 0x43) return NOT_SURE; // "fLaC" (an ID3v2 tag in front: not here)
  const collector = new CommonTagCollector();
  const format: FormatFields = {};
  let position = 4;
  // What music-metadata reads whole (comments, pictures) counts against its limit.
  let readWhole = 0;
  let last = false;
  let streamInfo = false;
  while (!last) {
    const header = source.read(position, 4);
    if (!header) return NOT_SURE;
    last = (header[0]! & 0x80) !== 0;
    const type = header[0]! & 0x7f;
    const length = u24be(header, 1);
    position += 4;
    if (position + length > source.size) return NOT_SURE;
    if (type === STREAMINFO) {
      if (length !== STREAMINFO_LENGTH || streamInfo) return NOT_SURE;
      const info = source.read(position, length);
      if (!info) return NOT_SURE;
      streamInfo = true;
      format.codec = 'FLAC';
      format.sampleRate = u24be(info, 10) >> 4;
      const totalSamples = (info[13]! & 0x0f) * 2 ** 32 + u32be(info, 14);
      if (totalSamples > 0) format.duration = totalSamples / format.sampleRate;
    } else if (type === VORBIS_COMMENT) {
      readWhole += length;
      if (readWhole > MAX_TAG_READ_BYTES / 2) return NOT_SURE;
      const data = source.read(position, length);
      if (!data || !readVorbisComments(data, collector)) return NOT_SURE;
    } else if (type === PICTURE) {
      readWhole += length;
      if (readWhole > MAX_TAG_READ_BYTES / 2 || !readPicture(source, position, length, collector)) return NOT_SURE;
    }
    position += length;
  }
  // Without any tag music-metadata goes on to look for ID3v1 and APE tags at the end.
  if (!streamInfo || collector.nativeTags === 0) return NOT_SURE;
  if (format.duration) format.bitrate = (8 * (source.size - position)) / format.duration;
  const common = collector.result();
  return common === NOT_SURE ? NOT_SURE : { common, format };
}

/**
 * A PICTURE block (also the payload of METADATA_BLOCK_PICTURE): type, MIME type, description,
 * four dimensions, then the data, lengths 32-bit big-endian. Only the MIME type and the data's
 * length matter here, so the picture's bytes themselves are never read.
 */
function readPicture(source: ByteSource, start: number, length: number, collector: CommonTagCollector): boolean {
  const end = start + length;
  const at = (offset: number): number | undefined => {
    const b = offset + 4 <= end ? source.read(offset, 4) : undefined;
    return b ? u32be(b, 0) : undefined;
  };
  const mimeLength = at(start + 4);
  if (mimeLength === undefined || start + 8 + mimeLength > end) return false;
  const mime = source.read(start + 8, mimeLength);
  if (!mime) return false;
  const format = new TextDecoder('utf-8').decode(mime);
  const descLength = at(start + 8 + mimeLength);
  if (descLength === undefined) return false;
  const dataLengthAt = start + 12 + mimeLength + descLength + 16;
  const dataLength = at(dataLengthAt);
  if (dataLength === undefined || dataLengthAt + 4 + dataLength > end) return false;
  collector.addPicture({ format, dataLength });
  return true;
}
