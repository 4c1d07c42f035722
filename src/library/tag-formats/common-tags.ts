/**
 * The part of music-metadata's MetadataCollector that decides the fields we keep (title,
 * artist, album, album artist, track, disc, year, genre, picture), for files whose tags come
 * from one tag type. Its rules, reproduced: the first artist wins (later ones only feed the
 * plural list), later title/album/album artist replace earlier ones, a date sets the year from
 * its first four characters, "3/12" is track 3, the first genre is kept. Where the outcome
 * depends on rules not reproduced here (two values for one field, plural artist keys, a
 * year and a date both), the collector gives up and the file goes to music-metadata.
 */
import { NOT_SURE, type NotSure } from './byte-source.js';

/** The common ids our fields come from (music-metadata's names). */
export type CommonId = 'title' | 'artist' | 'albumartist' | 'album' | 'date' | 'year' | 'track' | 'disk' | 'genre' | 'picture';

/** A picture as the collector sees it: what music-metadata's postFixPicture looks at. */
export interface PictureFacts {
  format: string;
  dataLength: number;
}

/** The subset of music-metadata's `common` result that tagsOf (tag-reader.ts) reads. */
export interface CommonFields {
  title?: string;
  artist?: string;
  album?: string;
  albumartist?: string;
  track: { no: number | null };
  disk: { no: number | null };
  year?: number;
  genre?: string[];
  picture?: unknown[];
}

export class CommonTagCollector {
  readonly common: CommonFields = { track: { no: null }, disk: { no: null } };
  private readonly seen = new Set<CommonId>();
  /** Set once anything was not reproduced exactly. */
  unsure = false;
  /** music-metadata's `hasAny()`: some native tag was seen (decides whether ID3v1 is read). */
  nativeTags = 0;

  /** A native tag that maps to nothing we keep. */
  other(): void {
    this.nativeTags++;
  }

  /** A native tag whose effect on our fields is not reproduced: the file is not for the fast path. */
  giveUp(): void {
    this.nativeTags++;
    this.unsure = true;
  }

  add(id: CommonId, value: string): void {
    this.nativeTags++;
    // Genres are a list of unique values: only the first decides genre[0].
    if (id === 'genre') {
      this.common.genre ??= [];
      if (this.common.genre.length === 0) this.common.genre.push(value);
      return;
    }
    if (this.seen.has(id)) {
      this.unsure = true;
      return;
    }
    this.seen.add(id);
    switch (id) {
      case 'title':
      case 'artist':
      case 'album':
      case 'albumartist':
        this.common[id] = value;
        return;
      case 'track':
      case 'disk':
        // CommonTagMapper.normalizeTrack
        this.common[id] = { no: Number.parseInt(value.toString().split('/')[0]!, 10) || null };
        return;
      case 'date': {
        if (this.seen.has('year')) this.unsure = true;
        const year = Number.parseInt(value.substr(0, 4), 10);
        if (!Number.isNaN(year)) this.common.year = year;
        return;
      }
      case 'year':
        if (this.seen.has('date')) this.unsure = true;
        this.common.year = Number.parseInt(value, 10);
        return;
      case 'picture':
        throw new Error('pictures go through addPicture');
    }
  }

  /** A picture: kept as music-metadata's postFixPicture keeps it (data, and a format or a sniffed type). */
  addPicture(picture: PictureFacts): void {
    this.nativeTags++;
    if (picture.dataLength <= 0) return; // "Empty picture tag found": dropped
    // Without a format music-metadata sniffs the bytes (file-type): not reproduced.
    if (!picture.format) {
      this.unsure = true;
      return;
    }
    (this.common.picture ??= []).push(picture);
  }

  result(): CommonFields | NotSure {
    return this.unsure ? NOT_SURE : this.common;
  }
}

/** The subset of music-metadata's `format` result that tagsOf reads. */
export interface FormatFields {
  duration?: number;
  codec?: string;
  sampleRate?: number;
  bitrate?: number;
}

/** What a fast-path parser returns: the two halves of music-metadata's result that tagsOf maps. */
export interface FastMetadata {
  common: CommonFields;
  format: FormatFields;
}
