import type { Library } from '../library/index.js';
import type { Endpoint } from './endpoint.js';
import { SubsonicError, SubsonicErrorCode } from './responses.js';

/** Scans started by startScan and not finished yet (the library shares concurrent scans). */
const scansRunning = new WeakMap<Library, Promise<unknown>>();

/** OpenSubsonic extensions this server implements (getOpenSubsonicExtensions). */
export const OPEN_SUBSONIC_EXTENSIONS = [
  { name: 'formPost', versions: [1] },
  { name: 'apiKeyAuthentication', versions: [1] },
  { name: 'songLyrics', versions: [1] },
];

/**
 * System: ping, getLicense, getOpenSubsonicExtensions; and the spec's "media library
 * scanning": getScanStatus, startScan (admins only, error 50 for others).
 */
export const systemEndpoints: Record<string, Endpoint> = {
  ping: () => ({}),
  // Free software: always licensed.
  getLicense: () => ({ name: 'license', body: { valid: true } }),
  getOpenSubsonicExtensions: () => ({ name: 'openSubsonicExtensions', body: OPEN_SUBSONIC_EXTENSIONS }),
  /** Who an API key logs in as (the apiKeyAuthentication extension); any login answers for itself. */
  tokenInfo: ({ user }) => ({ name: 'tokenInfo', body: { username: user.name } }),
  getScanStatus: ({ services }) => ({ name: 'scanStatus', body: { scanning: scansRunning.has(services.library), count: services.library.current.size } }),
  startScan({ user, services }) {
    if (user.role !== 'admin') throw new SubsonicError(SubsonicErrorCode.NOT_AUTHORISED, 'only an admin may start a scan');
    const { library } = services;
    if (!scansRunning.has(library)) {
      // The scan's own failures are logged by the library; this only tracks that it runs.
      const scan = library.rescan().catch(() => undefined).finally(() => scansRunning.delete(library));
      scansRunning.set(library, scan);
    }
    return { name: 'scanStatus', body: { scanning: true, count: library.current.size } };
  },
};
