/**
 * MPEG-4 audio (.m4a), atom by atom as music-metadata's MP4Parser walks it: 8-byte headers
 * (32-bit big-endian size including itself, four-character name), container atoms entered,
 * `trak` read for its sample description (codec, sample rate), media header (duration =
 * duration ÷ time scale) and sample sizes (bitrate = their sum × 8 ÷ duration), and the
 * iTunes `ilst` items mapped as its MP4TagMapper maps them. One audio track only; 64-bit
 * or open-ended atoms, fragments (moof), chapters, numeric genres, anything music-metadata
 * would reject or warn about are "not sure". `moov` after `mdat` costs one more read.
 */
import { MAX_TAG_READ_BYTES } from '../tag-read-limit.js';
import { fourCC, NOT_SURE, u16be, u32be, type ByteSource, type NotSure } from './byte-source.js';
import { CommonTagCollector, type CommonId, type FastMetadata, type FormatFields } from './common-tags.js';

const CONTAINERS = new Set(['moov', 'udta', 'mdia', 'minf', 'stbl', '<id>', 'ilst', 'tref', 'moof']);
/** music-metadata's encoderDict, by sample description format. */
const CODECS: Record<string, string> = {
  raw: 'raw',
  MAC3: 'MACE 3:1',
  MAC6: 'MACE 6:1',
  ima4: 'IMA 4:1',
  ulaw: 'uLaw 2:1',
  alaw: 'uLaw 2:1',
  Qclp: 'QUALCOMM PureVoice',
  '.mp3': 'MPEG-1 layer 3',
  alac: 'ALAC',
  'ac-3': 'AC-3',
  mp4a: 'MPEG-4/AAC',
  mp4s: 'MP4S',
  c608: 'CEA-608',
  c708: 'CEA-708',
};
/** MP4TagMapper's entries that reach our fields, by upper-cased key (it matches case-insensitively). */
const ITEM_KEYS: Record<string, CommonId> = {
  '©NAM': 'title',
  '©ART': 'artist',
  AART: 'albumartist',
  '----:COM.APPLE.ITUNES:BAND': 'albumartist',
  '©ALB': 'album',
  '©DAY': 'date',
  TRKN: 'track',
  DISK: 'disk',
  '©GEN': 'genre',
  COVR: 'picture',
};
/** Keys reaching our fields through rules not reproduced: ID3v1 genre numbers, plural artists. */
const UNREPRODUCED_KEYS = new Set(['GNRE', '----:COM.APPLE.ITUNES:ARTISTS']);
const VALID_FOURCC = /^[\x21-\x7e©][\x20-\x7e\x00()]{3}/;

class Unsure extends Error {}

interface Track {
  trackId?: number;
  handlerType?: string;
  timeScale?: number;
  duration?: number;
  formats?: { dataFormat: string; sampleRate?: number; channels?: number }[];
  sampleSizes?: number[];
}

const utf8 = new TextDecoder('utf-8');
const i32 = (b: Uint8Array, o: number): number => u32be(b, o) | 0;

export function readMp4(source: ByteSource): FastMetadata | NotSure {
  try {
    return walk(source);
  } catch (err) {
    if (err instanceof Unsure) return NOT_SURE;
    throw err;
  }
}

function walk(source: ByteSource): FastMetadata | NotSure {
  const collector = new CommonTagCollector();
  const tracks: Track[] = [];
  let current: Track | undefined;
  // What music-metadata reads whole (tables, headers, item values) counts against its limit
  // even where this reads only a few bytes of it.
  let charged = 0;
  const charge = (length: number): void => {
    charged += length;
    if (charged > MAX_TAG_READ_BYTES / 2) throw new Unsure();
  };
  const need = (offset: number, length: number): Uint8Array => {
    const b = source.read(offset, length);
    if (!b) throw new Unsure();
    return b;
  };

  /** Atom.readAtom: returns the atom's length. `onLeaf` handles a non-container atom's payload. */
  const readAtom = (offset: number, remaining: number, parent: string | null, onLeaf: (name: string, at: number, length: number, parent: string | null) => void): number => {
    remaining = Math.min(remaining, source.size - offset);
    if (remaining < 8) throw new Unsure();
    const header = need(offset, 8);
    const size = u32be(header, 0);
    const name = fourCC(header, 4);
    if (size < 8 || size > remaining) throw new Unsure(); // 0 (to the end), 1 (64-bit) or invalid
    const payload = size - 8;
    const at = offset + 8;
    if (CONTAINERS.has(name)) readAtoms(at, payload, name, onLeaf);
    else if (name === 'meta') {
      if (payload < 8) throw new Unsure();
      const padding = fourCC(need(at + 4, 4), 0) === 'hdlr' ? 0 : 4;
      readAtoms(at + padding, payload - padding, name, onLeaf);
    } else onLeaf(name, at, payload, parent);
    return size;
  };
  const readAtoms = (offset: number, size: number, parent: string, onLeaf: (name: string, at: number, length: number, parent: string | null) => void): void => {
    while (size > 0) {
      const length = readAtom(offset, size, parent, onLeaf);
      offset += length;
      size -= length;
    }
  };

  const onTrackChild = (name: string, at: number, length: number): void => {
    const track = current!;
    if (['tkhd', 'hdlr', 'mdhd', 'stco', 'stsc', 'stts', 'stsd', 'stsz'].includes(name)) charge(length);
    switch (name) {
      case 'chap':
        throw new Unsure();
      case 'tkhd': {
        const b = need(at, length);
        if (length < 4) throw new Unsure();
        const version = b[0];
        if (version === 0 && length >= 38) track.trackId = u32be(b, 12);
        else if (version === 1 && length >= 50) track.trackId = u32be(b, 20);
        else throw new Unsure();
        return;
      }
      case 'hdlr': {
        if (length < 12) throw new Unsure();
        track.handlerType = utf8.decode(need(at + 8, 4));
        return;
      }
      case 'mdhd': {
        if (length < 24) throw new Unsure();
        const b = need(at, length);
        if (b[0] === 0) {
          track.timeScale = u32be(b, 12);
          track.duration = u32be(b, 16);
        } else if (b[0] === 1 && length >= 36) {
          track.timeScale = u32be(b, 20);
          track.duration = Number(new DataView(b.buffer, b.byteOffset, b.length).getBigUint64(24));
        } else throw new Unsure();
        return;
      }
      case 'stco':
        return table(at, length, 8, 4);
      case 'stsc':
        return table(at, length, 8, 12);
      case 'stts':
        return table(at, length, 8, 8);
      case 'stsd': {
        const b = need(at, length);
        if (length < 8) throw new Unsure();
        const entries = u32be(b, 4);
        let off = 8;
        track.formats = [];
        for (let n = 0; n < entries; n++) {
          if (length - off < 4) throw new Unsure();
          const size = u32be(b, off);
          if (size < 16 || size > length - off) throw new Unsure();
          const dataFormat = fourCC(b, off + 4);
          if (!VALID_FOURCC.test(dataFormat)) throw new Unsure();
          const description = b.subarray(off + 16, off + size);
          const entry: { dataFormat: string; sampleRate?: number; channels?: number } = { dataFormat };
          // SoundSampleDescriptionVersion (8 bytes), then V0 (12) for versions 0 and 1.
          if (description.length >= 8) {
            const version = (u16be(description, 0) << 16) >> 16;
            if ((version === 0 || version === 1) && description.length >= 20) {
              entry.channels = (u16be(description, 8) << 16) >> 16;
              entry.sampleRate = u16be(description, 16) + u16be(description, 18) / 10000;
            }
          }
          track.formats.push(entry);
          off += size;
        }
        return;
      }
      case 'stsz': {
        if (length < 12) throw new Unsure();
        const b = need(at, length);
        const count = i32(b, 8);
        const rest = length - 12;
        if (rest === 0) track.sampleSizes = [];
        else {
          if (rest !== count * 4) throw new Unsure();
          track.sampleSizes = [];
          for (let i = 0; i < count; i++) track.sampleSizes.push(i32(b, 12 + 4 * i));
        }
        return;
      }
      default:
        return; // skipped, as music-metadata skips it
    }
  };
  /** SimpleTableAtom: an entry count at 4, entries after 8; music-metadata refuses a mismatch. */
  const table = (at: number, length: number, headerLength: number, entryLength: number): void => {
    if (length < headerLength) throw new Unsure();
    const count = i32(need(at, 8), 4);
    const rest = length - headerLength;
    if (rest !== 0 && rest !== count * entryLength) throw new Unsure();
  };

  const onItem = (key: string, at: number, length: number): void => {
    let tagKey = key;
    readAtoms(at, length, key, (name, childAt, childLength) => {
      charge(childLength);
      if (name === 'data') return readValue(tagKey, childAt, childLength);
      if (name === 'name' || name === 'mean' || name === 'rate') {
        if (childLength < 4) throw new Unsure();
        tagKey += `:${utf8.decode(need(childAt + 4, childLength - 4))}`;
        return;
      }
      // "Unsupported meta-item": a warning, nothing kept.
    });
  };
  const readValue = (tagKey: string, at: number, length: number): void => {
    if (length < 8) throw new Unsure();
    const head = need(at, 8);
    if (head[0] !== 0) throw new Unsure(); // type set != 0: music-metadata throws
    const type = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
    const valueLength = length - 8;
    const upper = tagKey.toUpperCase();
    const id = ITEM_KEYS[upper];
    if (UNREPRODUCED_KEYS.has(upper)) throw new Unsure();
    switch (type) {
      case 0:
        if (upper === 'TRKN' || upper === 'DISK') {
          if (valueLength < 6) throw new Unsure();
          const v = need(at + 8, 6);
          collector.add(id!, `${v[3]}/${v[5]}`);
        } else if (id) throw new Unsure();
        else collector.other();
        return;
      case 1:
      case 18: {
        const text = utf8.decode(need(at + 8, valueLength));
        if (id === 'picture') throw new Unsure();
        if (id) collector.add(id, text);
        else collector.other();
        return;
      }
      case 13:
      case 14:
        if (id === 'picture') collector.addPicture({ format: type === 13 ? 'image/jpeg' : 'image/png', dataLength: valueLength });
        else if (id) throw new Unsure();
        else collector.other();
        return;
      case 21:
      case 22:
        if (id || ![1, 2, 3, 4, 8].includes(valueLength)) throw new Unsure();
        collector.other();
        return;
      case 65:
      case 66:
      case 67:
        if (id || valueLength < [1, 2, 4][type - 65]!) throw new Unsure();
        collector.other();
        return;
      default:
        if (id) throw new Unsure(); // a warning in music-metadata; not reproduced for our keys
        collector.other();
    }
  };

  const onLeaf = (name: string, at: number, length: number, parent: string | null): void => {
    if (parent === 'ilst' || parent === '<id>') return onItem(name, at, length);
    if (parent === 'moov' && name === 'trak') {
      current = {};
      readAtoms(at, length, name, onTrackChild);
      if (current.trackId === undefined || tracks.some((t) => t.trackId === current!.trackId)) throw new Unsure();
      tracks.push(current);
      current = undefined;
      return;
    }
    if (parent === 'moof') throw new Unsure();
    switch (name) {
      case 'mvhd':
        charge(length);
        if (length < 100) throw new Unsure();
        need(at, length);
        return;
      case 'ftyp':
        charge(length);
        if (length < 8 || length % 4 !== 0) throw new Unsure();
        return;
      case 'chap':
      case 'stsd':
      case 'stsz':
      case 'date':
        throw new Unsure();
      default:
        return; // mdat and the rest: skipped
    }
  };

  // MP4Parser.parse: atoms until the end; fewer than 8 bytes left or a zero name ends it.
  let remaining = source.size;
  let offset = 0;
  while (remaining > 0) {
    if (source.size - offset < 8) break;
    if (fourCC(need(offset + 4, 4), 0) === '\0\0\0\0') break;
    const length = readAtom(offset, remaining, null, onLeaf);
    offset += length;
    remaining -= length;
  }

  // Post-processing, for one audio track.
  if (tracks.length !== 1) return NOT_SURE;
  const track = tracks[0]!;
  if (!track.formats || track.formats.length === 0) return NOT_SURE;
  const first = track.formats[0]!;
  const isAudio = track.handlerType !== undefined ? track.handlerType === 'audi' || track.handlerType === 'soun' : first.channels !== undefined && first.channels > 0;
  if (!isAudio || !track.timeScale || track.duration === undefined || !track.sampleSizes) return NOT_SURE;
  const format: FormatFields = {};
  const names = track.formats.map((f) => CODECS[f.dataFormat]).filter((n): n is string => n !== undefined);
  if (names.length > 0) format.codec = names.join('/');
  if (first.sampleRate !== undefined) format.sampleRate = first.sampleRate;
  if (track.duration > 0) {
    const duration = track.duration / track.timeScale;
    format.duration = duration;
    const bytes = track.sampleSizes.reduce((sum, n) => sum + n, 0);
    if (bytes) format.bitrate = (8 * bytes) / duration;
  }
  const common = collector.result();
  return common === NOT_SURE ? NOT_SURE : { common, format };
}
