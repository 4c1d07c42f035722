/** The client side: a connection to a server, the local library, the player and the shell. */
export * from './client-connection.js';
export { PROTOCOL_CHOICES, ServerVersions, type ProtocolChoice } from './protocol-negotiation.js';
export * from './local-library.js';
export * from './player.js';
export * from './file-playback-feeder.js';
export * from './transfer.js';
export * from './progress.js';
export * from './shell.js';
