import path from 'node:path';

/**
 * The Content-Type of each audio format the library serves (by extension, any letter case,
 * as the scan chose the files). Browsers pick a decoder by it; `audio/mp4` rather than
 * `audio/x-m4a`, which Chromium does not play.
 */
const AUDIO_TYPES: Readonly<Record<string, string>> = {
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.m4a': 'audio/mp4',
};

export function audioContentType(relativePath: string): string {
  return AUDIO_TYPES[path.extname(relativePath).toLowerCase()] ?? 'application/octet-stream';
}
