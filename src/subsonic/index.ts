/** The Subsonic / OpenSubsonic API, mounted under /rest/ on the web server. */
export * from './subsonic-api.js';
export * from './responses.js';
export * from './encoders.js';
export * from './subsonic-auth.js';
export * from './item-shapes.js';
