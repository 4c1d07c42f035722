import { createHash, randomBytes } from 'node:crypto';

/** Longest `apiKey` looked at; ours are 43 characters. */
export const MAX_API_KEY_LENGTH = 256;

/**
 * A new API key: 256 random bits, base64url. It is shown once; the server keeps only its
 * SHA-256 ({@link apiKeyHash}). A plain hash is enough here, unlike for passwords: a random
 * 256-bit key cannot be guessed from its hash, so no slow key derivation is needed, and a
 * login is one indexed lookup.
 */
export function makeApiKey(): string {
  return randomBytes(32).toString('base64url');
}

export function apiKeyHash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
