import net from 'node:net';
import type { Authenticator } from '../accounts/index.js';
import { AudioStreamError } from '../protocol/index.js';

/** v1 peers cannot log in; once accounts exist they are served only from these (`--allow-v1-from`). */
export const DEFAULT_ALLOW_V1_FROM = ['127.0.0.0/8', '::1/128'];

/**
 * What a plain-text connection may do on a server started with `--require-tls`: v2 is
 * refused (ERR TLS_REQUIRED, then the connection closes), and v1, which cannot use TLS, is
 * served only to the `--allow-v1-from` addresses, with or without accounts.
 */
export interface PlainTextPolicy {
  v1AllowedFrom(address: string | undefined): boolean;
  readonly v1AllowedText: string;
}

/** The `--allow-v1-from` ranges as a policy: AccessPolicy's v1 rule, and `--require-tls`'s (see PlainTextPolicy). */
export function plainTextPolicy(allowV1From: string[]): PlainTextPolicy {
  const list = parseCidrList(allowV1From);
  return { v1AllowedFrom: (address) => addressIn(list, address), v1AllowedText: allowV1From.join(' ') || 'nowhere' };
}

function addressIn(list: net.BlockList, address: string | undefined): boolean {
  if (!address) return false;
  // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; the ranges name it as IPv4.
  const mapped = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return list.check(mapped, net.isIPv6(mapped) ? 'ipv6' : 'ipv4');
}

/**
 * Who is served what (docs/SECURITY.md, "Policy"). With no accounts, everyone is served as
 * before. Once any account exists, v2 requests need a login, and v1 requests are served only
 * to addresses in the v1 allow list.
 */
export class AccessPolicy implements PlainTextPolicy {
  readonly authenticator: Authenticator;
  private readonly v1: PlainTextPolicy;
  readonly v1AllowedText: string;

  constructor(options: { authenticator: Authenticator; allowV1From?: string[] }) {
    this.authenticator = options.authenticator;
    this.v1 = plainTextPolicy(options.allowV1From ?? DEFAULT_ALLOW_V1_FROM);
    this.v1AllowedText = this.v1.v1AllowedText;
  }

  /** Asked per request, so accounts added or removed while the server runs apply at once. */
  loginRequired(): Promise<boolean> {
    return this.authenticator.store.hasAccounts();
  }

  v1AllowedFrom(address: string | undefined): boolean {
    return this.v1.v1AllowedFrom(address);
  }
}

/** `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`; a bare address is one host. USAGE on anything else. */
export function parseCidrList(cidrs: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const text of cidrs) {
    const [address, prefixText, extra] = text.split('/');
    const family = net.isIPv4(address ?? '') ? 'ipv4' : net.isIPv6(address ?? '') ? 'ipv6' : undefined;
    const max = family === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!family || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      throw new AudioStreamError('USAGE', `--allow-v1-from takes addresses or CIDR ranges (127.0.0.0/8, 192.168.1.0/24, ::1), not "${text}"`);
    }
    list.addSubnet(address!, prefix, family);
  }
  return list;
}
