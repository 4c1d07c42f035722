/** The library: scanning a directory of audio files into immutable, swappable snapshots. */
export * from './audio-extensions.js';
export * from './scan.js';
export * from './library-index.js';
export * from './library.js';
export * from './file-facts-cache.js';
export * from './file-hasher.js';
export * from './tag-reader.js';
export * from './safe-open.js';
export * from './library-watcher.js';
export * from './database.js';
export * from './library-store.js';
export * from './listing-reply-cache.js';
export * from './tag-text-limit.js';
export * from './catalog-queries.js';
export * from './folder-view.js';
export * from './cover-art.js';
export * from './album-lists.js';
