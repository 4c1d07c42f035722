import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseFile } from 'music-metadata';
import { TAG_PARSE_OPTIONS, tagsOf } from '../../../src/library/tag-reader.js';
import type { V2Entry } from '../../../src/protocol/index.js';
import { SAMPLE_LIBRARY } from '../../client/support/paths.js';

/** The sample library's real audio files (made by ffmpeg, with tags), relative paths. */
export async function sampleAudio(): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fsp.readdir(SAMPLE_LIBRARY, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /\.(wav|mp3|flac|ogg|m4a)$/i.test(entry.name)) files.push(path.relative(SAMPLE_LIBRARY, path.join(entry.parentPath, entry.name)));
  }
  return files.sort();
}

/**
 * Copies the sample library's audio `copies` times into `root` (folder `set-N/` each), every
 * copy but the m4a files given a few trailing bytes of its own, so that no two files share a
 * SHA-256 (a hash served for the wrong file would show). Returns the relative paths.
 */
export async function writeTaggedLibrary(root: string, copies: number): Promise<string[]> {
  const sources = await sampleAudio();
  const contents = await Promise.all(sources.map((s) => fsp.readFile(path.join(SAMPLE_LIBRARY, s))));
  const written: string[] = [];
  for (let n = 0; n < copies; n++) {
    for (const [i, source] of sources.entries()) {
      const rel = `set-${String(n).padStart(4, '0')}/${source}`;
      const abs = path.join(root, rel);
      await fsp.mkdir(path.dirname(abs), { recursive: true });
      const tail = /\.m4a$/i.test(source) ? Buffer.alloc(0) : Buffer.from(`\0copy ${n}\0`);
      await fsp.writeFile(abs, Buffer.concat([contents[i]!, tail]));
      written.push(rel);
    }
  }
  return written;
}

/** What a fresh read of the file gives for a listing record's tag fields (the reference). */
export async function freshListingTags(absolutePath: string): Promise<Partial<V2Entry>> {
  const tags = tagsOf(await parseFile(absolutePath, TAG_PARSE_OPTIONS));
  const fields: Partial<V2Entry> = {};
  for (const key of ['title', 'artist', 'album', 'track', 'duration', 'codec', 'sampleRate', 'bitrate'] as const) {
    if (tags[key] !== undefined) (fields as Record<string, unknown>)[key] = tags[key];
  }
  return fields;
}

/** The tag fields of a listing record (what freshListingTags gives for its file). */
export function listingTags(record: Partial<V2Entry>): Partial<V2Entry> {
  const fields: Partial<V2Entry> = {};
  for (const key of ['title', 'artist', 'album', 'track', 'duration', 'codec', 'sampleRate', 'bitrate'] as const) {
    if (record[key] !== undefined) (fields as Record<string, unknown>)[key] = record[key];
  }
  return fields;
}

export async function sha256OfFile(absolutePath: string): Promise<string> {
  return createHash('sha256').update(await fsp.readFile(absolutePath)).digest('hex');
}
