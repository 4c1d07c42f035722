/** The server side: connections answering protocol requests from a Library. */
export * from './log.js';
export * from './connection.js';
export * from './server.js';
export * from './log-limiter.js';
