import fs from 'node:fs/promises';
import path from 'node:path';
import type tls from 'node:tls';
import { AudioStreamError } from '../protocol/index.js';

/** What a client does with a certificate no CA vouches for and no pin names. */
export type NewServerTrust = 'accept' | 'ask' | 'refuse';

export interface TlsTrustOptions {
  /** The host name the user gave: the certificate must name it (unless it is pinned). */
  host: string;
  port: number;
  /** PEM of the CAs to trust instead of the system's (`--ca FILE`); pins are then not used. */
  ca?: Buffer;
  /** The client's state directory; pins are kept in `known-servers.json` there. */
  stateDir: string;
  newServer: NewServerTrust;
  /** Asks the user a yes/no question (for `ask`). */
  ask?: (question: string) => Promise<boolean>;
  /** Where notices go (a new pin saved). */
  notice?: (line: string) => void;
}

/** Certificate errors that mean "no CA I trust signed this": the case trust on first use is for. */
const UNKNOWN_ISSUER = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
const MAX_PINS_BYTES = 1024 * 1024;

/**
 * Verifies a server's certificate the way the user asked (`--tls`, `--ca`, TOFU): a
 * certificate from a trusted CA for this host name passes; with no `--ca`, a self-signed one
 * passes if its SHA-256 fingerprint is pinned for this host and port, or, the first time, if
 * the user accepts it (then it is pinned, the way SSH's known_hosts works). A pinned server
 * whose certificate changed fails loudly.
 */
export class TlsTrust {
  private readonly options: TlsTrustOptions;
  readonly pinsFile: string;

  constructor(options: TlsTrustOptions) {
    this.options = options;
    this.pinsFile = path.join(options.stateDir, 'known-servers.json');
  }

  /** Options for tls.connect: verification is ours (after the handshake, before a byte is sent). */
  connectOptions(): tls.ConnectionOptions {
    return {
      servername: isIpAddress(this.options.host) ? undefined : this.options.host,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    };
  }

  private get key(): string {
    const { host, port } = this.options;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** Resolves if the server is to be trusted; throws TLS_UNTRUSTED or TLS_CHANGED otherwise. */
  async verify(socket: tls.TLSSocket): Promise<void> {
    const cert = socket.getPeerCertificate();
    const fingerprint = cert?.fingerprint256;
    if (!fingerprint) throw new AudioStreamError('TLS_UNTRUSTED', `${this.key} sent no certificate`);
    if (socket.authorized) return; // a trusted CA, this host name, in date
    const why = String(socket.authorizationError ?? 'unknown');
    if (!UNKNOWN_ISSUER.has(why) || this.options.ca) throw new AudioStreamError('TLS_UNTRUSTED', `the certificate of ${this.key} is not valid: ${describe(why, this.options.host)}`);
    const pins = await this.readPins();
    const pinned = pins[this.key];
    if (pinned === fingerprint) return;
    if (pinned !== undefined) {
      throw new AudioStreamError(
        'TLS_CHANGED',
        `THE CERTIFICATE OF ${this.key} HAS CHANGED. It may be someone in between you and the server. ` +
          `Pinned SHA-256 ${pinned}, now ${fingerprint}. If the server's owner replaced it on purpose, remove the line for ${this.key} from ${this.pinsFile}`,
      );
    }
    const question = `${this.key} presents a certificate no CA vouches for (self-signed), SHA-256 fingerprint\n  ${fingerprint}\nTrust it from now on?`;
    let accepted = this.options.newServer === 'accept';
    if (this.options.newServer === 'ask' && this.options.ask) accepted = await this.options.ask(question);
    if (!accepted) {
      throw new AudioStreamError('TLS_UNTRUSTED', `${this.key} presents a self-signed certificate, SHA-256 ${fingerprint}; compare it with the server's (as-server prints it) and pass --trust-new-server to pin it`);
    }
    pins[this.key] = fingerprint;
    await this.writePins(pins);
    this.options.notice?.(`pinned the certificate of ${this.key} (SHA-256 ${fingerprint}) in ${this.pinsFile}`);
  }

  private async readPins(): Promise<Record<string, string>> {
    let text: string;
    try {
      const handle = await fs.open(this.pinsFile, 'r');
      try {
        const { size } = await handle.stat();
        if (size > MAX_PINS_BYTES) throw new AudioStreamError('TLS_UNTRUSTED', `${this.pinsFile} is larger than 1 MiB: not a pin file`);
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      }
    } catch {
      // fall through
    }
    throw new AudioStreamError('TLS_UNTRUSTED', `${this.pinsFile} is damaged: fix or remove it (every server will then be new again)`);
  }

  private async writePins(pins: Record<string, string>): Promise<void> {
    await fs.mkdir(this.options.stateDir, { recursive: true, mode: 0o700 });
    const temp = `${this.pinsFile}.${process.pid}.tmp`;
    await fs.writeFile(temp, `${JSON.stringify(pins, null, 2)}\n`, { mode: 0o600 });
    await fs.rename(temp, this.pinsFile);
  }
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

function describe(code: string, host: string): string {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'it has expired';
    case 'CERT_NOT_YET_VALID':
      return 'it is not valid yet (check the clock)';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `it is not made out to "${host}" (connect by the name it names)`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      return 'no CA in --ca signed it';
    default:
      return code;
  }
}
