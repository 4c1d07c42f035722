import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AudioStreamError } from '../protocol/index.js';

/** An app password as stored: AES-256-GCM's nonce, tag and ciphertext. */
export interface SealedSecret {
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/**
 * Seals app passwords with a key derived from the server secret, so a copy of the accounts
 * (a backup of the database) alone does not give them away; anyone who can read the whole
 * data directory can recover them, which is what "recoverable" means (docs/SECURITY.md).
 * The scheme is the one accounts.json used, so imported accounts keep their app passwords.
 */
export class AppPasswordSeal {
  private readonly key: Buffer;

  constructor(serverSecret: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), 'audiostream app-password seal', 32));
  }

  seal(secret: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return { iv, tag: cipher.getAuthTag(), data };
  }

  /** @throws AudioStreamError ACCOUNTS_FAILED when the seal does not open (another secret, a damaged value). */
  unseal(sealed: SealedSecret, name: string): string {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.iv);
      decipher.setAuthTag(sealed.tag);
      return Buffer.concat([decipher.update(sealed.data), decipher.final()]).toString('utf8');
    } catch {
      // Not the message of the crypto error: it says nothing more, and nothing secret may leak.
      throw new AudioStreamError('ACCOUNTS_FAILED', `the app password of "${name}" cannot be opened (the server secret changed?): set it again with user passwd --app-password`);
    }
  }
}
