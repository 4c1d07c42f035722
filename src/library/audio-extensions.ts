/** The file types the server offers, matched case-insensitively on the extension. */
export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set(['.wav', '.mp3', '.flac', '.ogg', '.m4a']);

export function isAudioFileName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return false; // ".mp3" alone is a hidden file with no name
  return AUDIO_EXTENSIONS.has(name.slice(dot).toLowerCase());
}
