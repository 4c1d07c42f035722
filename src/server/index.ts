/** The server side: connections answering protocol requests from a Library. */
export * from './log.js';
export * from './connection.js';
export * from './server.js';
export * from './access-policy.js';
export * from './tls-detect.js';
export * from './v2-auth.js';
export * from './log-limiter.js';
