/** The client side: a connection to a server, the local library, the player and the shell. */
export * from './client-connection.js';
export { PROTOCOL_CHOICES, ServerVersions, type ProtocolChoice } from './protocol-negotiation.js';
export * from './local-library.js';
export * from './player.js';
export * from './file-playback-feeder.js';
export * from './transfer.js';
export * from './progress.js';
export * from './shell.js';
// The player's building blocks (src/client/player/; design note in mpv-controller.ts).
export * from './player/mpv-ipc-protocol.js';
export * from './player/mpv-controller.js';
export * from './player/playback-control.js';
export * from './player/player-failure.js';
export * from './player/play-queue.js';
export * from './player/player-launcher.js';
export * from './player/now-playing.js';
export * from './player/status-line.js';
export * from './shell-history.js';
export * from './command-suggestion.js';
export * from './argument-completion.js';
export * from './scram-login.js';
export * from './tls-trust.js';
export * from './listing-cache.js';
