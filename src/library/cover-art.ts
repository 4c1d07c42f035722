import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { CoverWorkerReply, CoverWorkerRequest } from './cover-art-worker.js';
import type { Library } from './library.js';
import { RequestWorker } from './request-worker.js';
import type { LibraryEntry } from './scan.js';

/** Images beside the audio files taken as the album's cover, in this order (any letter case). */
export const FOLDER_IMAGE_NAMES = ['cover.jpg', 'cover.jpeg', 'cover.png', 'folder.jpg', 'folder.jpeg', 'folder.png', 'front.jpg', 'front.jpeg', 'front.png'];
/** The largest picture served (every length limited); larger ones count as none. */
export const MAX_COVER_BYTES = 16 * 1024 * 1024;
/** Covers kept in memory, and their bytes in all. */
const MAX_CACHED_COVERS = 256;
const MAX_CACHED_BYTES = 64 * 1024 * 1024;
/** A picture read taking longer than this is given up (the worker is replaced). */
const READ_TIMEOUT_MS = 5_000;

export interface CoverImage {
  body: Buffer;
  contentType: string;
  /** Strong, from the image's bytes. */
  etag: string;
}

const IMAGE_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png' };

/**
 * Cover art of a library file: its embedded picture (read by music-metadata on a worker
 * thread), else cover.jpg / folder.jpg / front.png beside it (opened through the library's
 * checked open), cached by the file's stat so a changed file or image is read again.
 */
export class CoverArtReader {
  private readonly library: Library;
  private readonly cache = new Map<string, CoverImage | null>();
  private cachedBytes = 0;
  private readonly reads = new RequestWorker<Omit<CoverWorkerRequest, 'id'>, CoverWorkerReply>({
    url: new URL('./cover-art-worker.js', import.meta.url),
    maxOldGenerationSizeMb: 256,
    timeoutMs: READ_TIMEOUT_MS,
    failed: (id) => ({ id }),
  });

  constructor(library: Library) {
    this.library = library;
  }

  /** The cover of `entry`, or undefined when it has none. `embedded`: the database says it embeds a picture. */
  async coverOf(entry: LibraryEntry, embedded: boolean): Promise<CoverImage | undefined> {
    const key = `${entry.path}\0${entry.size}\0${entry.mtimeMs}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const image = (embedded ? await this.embedded(entry) : undefined) ?? (await this.besideFile(entry));
    this.remember(key, image ?? null);
    return image;
  }

  private remember(key: string, image: CoverImage | null): void {
    while (this.cache.size >= MAX_CACHED_COVERS || (image && this.cachedBytes + image.body.length > MAX_CACHED_BYTES && this.cache.size > 0)) {
      const [oldKey, old] = this.cache.entries().next().value!;
      this.cache.delete(oldKey);
      if (old) this.cachedBytes -= old.body.length;
    }
    this.cache.set(key, image);
    if (image) this.cachedBytes += image.body.length;
  }

  private async embedded(entry: LibraryEntry): Promise<CoverImage | undefined> {
    const reply = await this.ask(entry.path);
    if (!reply.picture) return undefined;
    const body = Buffer.from(reply.picture.data);
    const contentType = /^image\/(jpeg|png|gif|webp)$/.test(reply.picture.format) ? reply.picture.format : 'application/octet-stream';
    return imageOf(body, contentType);
  }

  /** The first folder image beside the file, by the names above, any letter case. */
  private async besideFile(entry: LibraryEntry): Promise<CoverImage | undefined> {
    const dir = path.dirname(entry.absolutePath);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return undefined;
    }
    const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
    for (const wanted of FOLDER_IMAGE_NAMES) {
      const name = byLower.get(wanted);
      if (!name) continue;
      const relative = path.posix.join(path.posix.dirname(entry.path), name);
      try {
        const { handle: file, stat } = await this.library.openFile({ ...entry, path: relative, absolutePath: path.join(dir, name) });
        try {
          const { size } = stat;
          if (size === 0 || size > MAX_COVER_BYTES) continue;
          const body = Buffer.alloc(size);
          const { bytesRead } = await file.read(body, 0, size, 0);
          return imageOf(body.subarray(0, bytesRead), IMAGE_TYPES[path.extname(wanted)]!);
        } finally {
          await file.close();
        }
      } catch {
        continue; // vanished, a link out of the library, unreadable: try the next name
      }
    }
    return undefined;
  }

  private ask(relativePath: string): Promise<CoverWorkerReply> {
    return this.reads.ask({ realRoot: this.library.resolvedRoot, path: relativePath, maxBytes: MAX_COVER_BYTES });
  }

  close(): void {
    this.reads.close();
  }
}

function imageOf(body: Buffer, contentType: string): CoverImage {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"` };
}
