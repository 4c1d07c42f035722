import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { CoverImage } from '../library/cover-art.js';
import { imageDimensions } from './image-dimensions.js';

/** Sizes getCoverArt scales to; a larger one is clamped (no app shows a bigger cover). */
export const MIN_COVER_SIZE = 16;
export const MAX_COVER_SIZE = 2048;
/** One ffmpeg run may take this long and write this much before it is killed. */
export const SCALE_TIMEOUT_MS = 10_000;
export const MAX_SCALED_BYTES = 8 * 1024 * 1024;
/** ffmpeg runs at once (the machine's cores are the limit); more waiting than this get the original. */
const MAX_RUNNING = 2;
const MAX_WAITING = 32;
/** Scaled covers kept on disk; the oldest go first. */
export const MAX_CACHED_SCALED = 2_000;
const MAX_STDERR = 4096;

export interface CoverScalerOptions {
  /** Where scaled covers are kept (`<data dir>/cover-cache`); none: scaled again each time. */
  cacheDir?: string;
  /** The ffmpeg program (default `ffmpeg` on PATH). */
  ffmpeg?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * getCoverArt's `size`: the cover scaled down with ffmpeg to fit a size×size square, its
 * aspect kept, never scaled up (an image already that small is sent as it is, known from
 * its header). Scaled covers are cached in the data directory under the original's content
 * hash and the size, written under a temporary name and renamed, so a crash leaves no
 * half image at a final name. Whatever fails (no ffmpeg, a timeout, an image ffmpeg cannot
 * read) sends the original: a cover never turns into an error.
 */
export class CoverScaler {
  private readonly options: CoverScalerOptions;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inFlight = new Map<string, Promise<CoverImage>>();
  private cachedCount: number | undefined;

  constructor(options: CoverScalerOptions = {}) {
    this.options = options;
  }

  async scaled(image: CoverImage, size: number): Promise<CoverImage> {
    const target = Math.min(MAX_COVER_SIZE, Math.max(MIN_COVER_SIZE, Math.round(size)));
    const dims = imageDimensions(image.body);
    if (dims && dims.width <= target && dims.height <= target) return image;
    const png = image.contentType !== 'image/jpeg';
    const key = `${image.etag.replace(/[^A-Za-z0-9_-]/g, '')}-${target}.${png ? 'png' : 'jpg'}`;
    const shared = this.inFlight.get(key);
    if (shared) return shared;
    const work = this.scaleOnce(image, target, png, key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, work);
    return work;
  }

  private async scaleOnce(image: CoverImage, target: number, png: boolean, key: string): Promise<CoverImage> {
    const contentType = png ? 'image/png' : 'image/jpeg';
    const etag = `"${key}"`;
    const file = this.options.cacheDir ? path.join(this.options.cacheDir, key) : undefined;
    if (file) {
      const body = await fsp.readFile(file).catch(() => undefined);
      if (body && body.length > 0) return { body, contentType, etag };
    }
    if (this.running >= MAX_RUNNING) {
      if (this.waiting.length >= MAX_WAITING) return image;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    let body: Buffer | undefined;
    try {
      body = await this.runFfmpeg(image.body, target, png);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
    if (!body) return image;
    if (file) await this.store(file, body);
    return { body, contentType, etag };
  }

  /** The scaled image, or undefined (logged) when ffmpeg fails, runs too long or writes too much. */
  private runFfmpeg(input: Buffer, target: number, png: boolean): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-vf', `scale='min(${target},iw)':'min(${target},ih)':force_original_aspect_ratio=decrease`, '-frames:v', '1', '-f', 'image2pipe', '-c:v', png ? 'png' : 'mjpeg', ...(png ? [] : ['-q:v', '3']), 'pipe:1'];
      const child = spawn(this.options.ffmpeg ?? 'ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let size = 0;
      let stderr = '';
      let done = false;
      const finish = (result: Buffer | undefined, problem?: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (problem) this.options.log?.(`cover scaling: ${problem}; the original is sent`);
        if (child.exitCode === null) child.kill('SIGKILL');
        resolve(result);
      };
      const timer = setTimeout(() => finish(undefined, `ffmpeg took over ${this.options.timeoutMs ?? SCALE_TIMEOUT_MS} ms`), this.options.timeoutMs ?? SCALE_TIMEOUT_MS);
      child.on('error', (err) => finish(undefined, `cannot run ffmpeg (${(err as NodeJS.ErrnoException).code ?? err})`));
      child.stdout.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_SCALED_BYTES) finish(undefined, `ffmpeg wrote over ${MAX_SCALED_BYTES} bytes`);
        else chunks.push(chunk);
      });
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        if (stderr.length < MAX_STDERR) stderr += text.slice(0, MAX_STDERR - stderr.length);
      });
      child.on('close', (code) => {
        if (code === 0 && size > 0) finish(Buffer.concat(chunks));
        else finish(undefined, `ffmpeg failed (exit ${code}): ${stderr.trim().split('\n')[0]?.slice(0, 200) ?? ''}`);
      });
      // A broken pipe (ffmpeg gave up early) is reported by its exit status instead.
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    });
  }

  private async store(file: string, body: Buffer): Promise<void> {
    const dir = path.dirname(file);
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      await fsp.writeFile(temporary, body, { mode: 0o600, flag: 'wx' });
      await fsp.rename(temporary, file);
      this.cachedCount = (this.cachedCount ?? (await fsp.readdir(dir)).length - 1) + 1;
      if (this.cachedCount > MAX_CACHED_SCALED) await this.prune(dir);
    } catch (err) {
      await fsp.rm(temporary, { force: true }).catch(() => {});
      this.options.log?.(`cover scaling: cannot cache a scaled cover in ${dir} (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
  }

  /** Drops the oldest tenth of the cache. */
  private async prune(dir: string): Promise<void> {
    const names = await fsp.readdir(dir);
    const stats = await Promise.all(names.map(async (name) => ({ name, mtime: (await fsp.stat(path.join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
    stats.sort((a, b) => a.mtime - b.mtime);
    const drop = stats.slice(0, Math.max(1, names.length - Math.floor(MAX_CACHED_SCALED * 0.9)));
    await Promise.all(drop.map((s) => fsp.rm(path.join(dir, s.name), { force: true })));
    this.cachedCount = names.length - drop.length;
  }
}
