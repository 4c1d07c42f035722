import type { Endpoint } from './endpoint.js';

/**
 * OpenSubsonic extensions this server implements (getOpenSubsonicExtensions). apiKey
 * authentication is not among them: the server keeps no API keys yet.
 */
export const OPEN_SUBSONIC_EXTENSIONS = [{ name: 'formPost', versions: [1] }];

/** System: ping, getLicense, getOpenSubsonicExtensions, getScanStatus. */
export const systemEndpoints: Record<string, Endpoint> = {
  ping: () => ({}),
  // Free software: always licensed.
  getLicense: () => ({ name: 'license', body: { valid: true } }),
  getOpenSubsonicExtensions: () => ({ name: 'openSubsonicExtensions', body: OPEN_SUBSONIC_EXTENSIONS }),
  getScanStatus: ({ services }) => ({ name: 'scanStatus', body: { scanning: false, count: services.library.current.entries.length } }),
};
