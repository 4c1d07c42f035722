/** The library: scanning a directory of audio files into immutable, swappable snapshots. */
export * from './audio-extensions.js';
export * from './scan.js';
export * from './library-index.js';
export * from './library.js';
