/**
 * The most a tag parse may read from one file, in all, and the largest single buffer it may
 * ask for: 8 MiB. Tags (with skipCovers, an ID3v2 tag is still read whole, covers included)
 * are far smaller; a tag chunk that claims 2 GiB is refused before anything is allocated or
 * read, and the file shows no tags. Shared by music-metadata's reads (sync-file-tokenizer.ts)
 * and the fast path's (tag-formats/fast-tag-reader.ts).
 */
export const MAX_TAG_READ_BYTES = 8 * 1024 * 1024;
