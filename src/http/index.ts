/** The web interface of as-server: HTTP(S), the JSON API, files and the player page. */
export * from './web-server.js';
export * from './web-authenticator.js';
export * from './file-responder.js';
export * from './sessions.js';
export * from './session-store.js';
