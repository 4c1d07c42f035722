/**
 * RIFF/WAVE: "RIFF", size, "WAVE", then chunks (4-byte id, 32-bit little-endian size, data
 * padded to an even length). "fmt " gives the format, "data" the duration (its size over the
 * block alignment) and "LIST"/"INFO" the tags, latin1 as music-metadata reads them when no
 * CSET chunk says otherwise. A "fact" chunk (compressed formats), CSET, BWF or embedded ID3
 * is "not sure".
 */
import { MAX_TAG_READ_BYTES } from '../tag-read-limit.js';
import { fourCC, NOT_SURE, u16le, u32le, type ByteSource, type NotSure } from './byte-source.js';
import { CommonTagCollector, type CommonId, type FastMetadata, type FormatFields } from './common-tags.js';

/** music-metadata's riffInfoTagMap, the entries that reach our fields. */
const INFO_KEYS: Record<string, CommonId> = {
  IART: 'artist',
  ICRD: 'date',
  INAM: 'title',
  TITL: 'title',
  IPRD: 'album',
  IRPD: 'album',
  ITRK: 'track',
  IPRT: 'track',
  GNRE: 'genre',
  IGNR: 'genre',
  YEAR: 'year',
};

/** music-metadata's WaveFormatNameMap; other format tags are "non-PCM (n)". */
const FORMAT_NAMES: Record<number, string> = {
  0x0001: 'PCM',
  0x0002: 'ADPCM',
  0x0003: 'IEEE_FLOAT',
  0x0006: 'ALAW',
  0x0007: 'MULAW',
  0x0011: 'DVI_ADPCM',
  0x0031: 'GSM610',
  0x1600: 'MPEG_ADTS_AAC',
  0x1602: 'MPEG_LOAS',
  0x00ff: 'RAW_AAC1',
  0x0092: 'DOLBY_AC3_SPDIF',
  0x2000: 'DVM',
  0x0240: 'RAW_SPORT',
  0x0241: 'ESST_AC3',
  0x0009: 'DRM',
  0x2001: 'DTS2',
  0x0050: 'MPEG',
  0x0055: 'MPEGLAYER3',
};

export function readWave(source: ByteSource): FastMetadata | NotSure {
  const head = source.read(0, 12);
  if (!head || fourCC(head, 0) !== 'RIFF' || fourCC(head, 8) !== 'WAVE') return NOT_SURE;
  const collector = new CommonTagCollector();
  const format: FormatFields = {};
  let remaining = u32le(head, 4) - 4;
  let position = 12;
  let blockAlign = 0;
  let avgBytesPerSec = 0;
  let sawFmt = false;
  let sawData = false;
  while (remaining >= 8) {
    const header = source.read(position, 8);
    if (!header) return NOT_SURE;
    const id = fourCC(header, 0);
    const size = u32le(header, 4);
    position += 8;
    remaining -= 8 + size;
    // A chunk past the file's end: music-metadata reads up to the end and stops (not reproduced).
    if (position + size + (size % 2) > source.size) {
      if (id !== 'data') return NOT_SURE;
    }
    switch (id) {
      case 'fmt ': {
        const fmt = size >= 16 && !sawFmt ? source.read(position, 16) : undefined;
        if (!fmt) return NOT_SURE;
        sawFmt = true;
        const tag = u16le(fmt, 0);
        format.codec = FORMAT_NAMES[tag] ?? `non-PCM (${tag})`;
        format.sampleRate = u32le(fmt, 4);
        avgBytesPerSec = u32le(fmt, 8);
        blockAlign = u16le(fmt, 12);
        break;
      }
      case 'LIST': {
        if (size < 4 || size > MAX_TAG_READ_BYTES / 2) return NOT_SURE;
        const list = source.read(position, size);
        if (!list) return NOT_SURE;
        if (fourCC(list, 0) === 'INFO' && !readInfo(list.subarray(4), collector)) return NOT_SURE;
        break;
      }
      case 'data': {
        if (!sawFmt || sawData || blockAlign === 0) return NOT_SURE;
        sawData = true;
        let dataSize = size;
        if (source.size - position < dataSize) return NOT_SURE; // "data chunk length exceeding file length"
        if (dataSize === 0xffffffff) return NOT_SURE;
        const samples = dataSize / blockAlign;
        if (samples && format.sampleRate) format.duration = samples / format.sampleRate;
        if (avgBytesPerSec > 0) format.bitrate = avgBytesPerSec * 8;
        else if (format.duration) format.bitrate = (dataSize * 8) / format.duration;
        break;
      }
      case 'fact':
      case 'CSET':
      case 'id3 ':
      case 'ID3 ':
      case 'bext':
        return NOT_SURE;
      default:
        break; // skipped, as music-metadata skips it
    }
    position += size + (size % 2);
  }
  if (!sawData) return NOT_SURE;
  const common = collector.result();
  return common === NOT_SURE ? NOT_SURE : { common, format };
}

/** LIST/INFO sub-chunks: id, size, latin1 text (to the first NUL), padded to even. */
function readInfo(info: Uint8Array, collector: CommonTagCollector): boolean {
  let offset = 0;
  let left = info.length;
  while (left >= 8) {
    const id = fourCC(info, offset);
    const size = u32le(info, offset + 4);
    const padded = size + (size & 1);
    if (offset + 8 + padded > info.length) return false;
    const bytes = info.subarray(offset + 8, offset + 8 + size);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1').split('\0', 1)[0]!;
    const key = INFO_KEYS[id];
    if (key) collector.add(key, text);
    else collector.other();
    offset += 8 + padded;
    left -= 8 + padded;
  }
  return left === 0;
}
