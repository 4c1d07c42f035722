import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The bench's temporary directory under os.tmpdir(), removed at exit (even on failure). */
let tempRoot: string | undefined;

export function benchTempDir(): string {
  tempRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), 'audiostream-bench-'));
  return tempRoot;
}

export function removeBenchTempDir(): void {
  if (!tempRoot) return;
  try {
    fs.rmSync(tempRoot, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    process.stderr.write(`bench: could not remove ${tempRoot}: ${(err as Error).message}\n`);
  }
  tempRoot = undefined;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** A random 1 MiB block, drawn once per bench run: every big file repeats it. */
let block: Buffer | undefined;

/**
 * Creates `file` of `size` bytes by repeating one random 1 MiB block (random-ish content:
 * nothing on the path compresses or dedupes, and creating 1 GiB takes about a second).
 */
export function createRandomFile(file: string, size: number): string {
  block ??= randomBytes(MiB);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(block.length, size - written);
      fs.writeSync(fd, block, 0, n);
      written += n;
    }
    // Flushed now, so that its writeback does not compete with what the bench measures.
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** A directory holding one file (a library of one), created on first use and shared after. */
export function libraryOfOne(name: string, fileName: string, size: number): { root: string; file: string } {
  const root = path.join(benchTempDir(), name);
  const file = path.join(root, fileName);
  if (!fs.existsSync(file) || fs.statSync(file).size !== size) createRandomFile(file, size);
  return { root, file };
}

export interface GeneratedLibrary {
  root: string;
  /** Audio files (what LIST returns). */
  audioFiles: number;
  /** Other files (covers, notes) that the scan must skip. */
  otherFiles: number;
  directories: number;
  ms: number;
}

const AUDIO_KINDS = ['.mp3', '.flac', '.mp3', '.flac', '.mp3', '.flac', '.ogg', '.m4a', '.mp3', '.wav'];

/**
 * A library shaped like a big real one: `artists` × `albumsPerArtist` album directories
 * (two levels), `tracksPerAlbum` audio files each (mostly .mp3 and .flac, 16 bytes of
 * content), plus a cover and a notes file per album that the scan must skip.
 */
export function generateLibrary(root: string, artists: number, albumsPerArtist: number, tracksPerAlbum: number): GeneratedLibrary {
  const started = performance.now();
  const content = Buffer.from('ID3-bench-file\r\n');
  let audioFiles = 0;
  let otherFiles = 0;
  let directories = 0;
  for (let a = 0; a < artists; a++) {
    const artist = `Artist ${String(a).padStart(4, '0')} and the Benchmarks`;
    for (let b = 0; b < albumsPerArtist; b++) {
      const album = path.join(root, artist, `Album ${String(b).padStart(2, '0')} - Live at the Loopback`);
      fs.mkdirSync(album, { recursive: true });
      directories++;
      for (let t = 0; t < tracksPerAlbum; t++) {
        const ext = AUDIO_KINDS[t % AUDIO_KINDS.length]!;
        fs.writeFileSync(path.join(album, `${String(t + 1).padStart(3, '0')} Track number ${t + 1}${ext}`), content);
        audioFiles++;
      }
      fs.writeFileSync(path.join(album, 'cover.jpg'), content);
      fs.writeFileSync(path.join(album, 'notes.txt'), content);
      otherFiles += 2;
    }
    directories++;
  }
  return { root, audioFiles, otherFiles, directories, ms: performance.now() - started };
}
