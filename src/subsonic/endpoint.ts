import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlbumLists, CatalogQueries, CoverArtReader, Library } from '../library/index.js';
import type { LyricsReader } from '../library/lyrics.js';
import type { UserDataStore } from '../library/user-data-store.js';
import type { CoverScaler } from './cover-scaling.js';
import type { NowPlayingBoard } from './now-playing.js';
import type { SubsonicParams } from './request-params.js';
import type { SubsonicBody } from './responses.js';
import type { SubsonicUser } from './subsonic-auth.js';

/** The library services every endpoint may use (the same ones the web API and TCP server use). */
export interface SubsonicServices {
  library: Library;
  catalog: CatalogQueries;
  albums: AlbumLists;
  covers: CoverArtReader;
}

export interface SubsonicRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: SubsonicParams;
  user: SubsonicUser;
  services: SubsonicServices;
  /** Stars, ratings, plays, playlists and play queues, in the server database. */
  userData: UserDataStore;
  nowPlaying: NowPlayingBoard;
  lyrics: LyricsReader;
  coverScaler: CoverScaler;
}

/** `SENT`: the endpoint answered with bytes of its own (a file, an image), not an envelope. */
export const SENT: unique symbol = Symbol('sent');
export type EndpointResult = SubsonicBody | typeof SENT;
export type Endpoint = (request: SubsonicRequest) => EndpointResult | Promise<EndpointResult>;
