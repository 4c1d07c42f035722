/**
 * The wire protocol as a library with no sockets in it: constants, push parsers for
 * each direction and an encoder, shared by server and client.
 */
export * from './constants.js';
export * from './errors.js';
export * from './encoder.js';
export * from './request-parser.js';
export * from './list-parser.js';
export * from './stream-reply-parser.js';
export * from './v2.js';
export * from './reply-reader.js';
export * from './scram.js';
export * from './v2-auth.js';
