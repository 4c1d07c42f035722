/** The client side: a connection to a server, the local library, the player and the shell. */
export * from './client-connection.js';
export * from './local-library.js';
export * from './player.js';
export * from './file-playback-feeder.js';
export * from './transfer.js';
export * from './progress.js';
export * from './shell.js';
export * from './scram-login.js';
export * from './tls-trust.js';
