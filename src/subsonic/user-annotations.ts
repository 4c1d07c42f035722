import type { UserDataStore, UserItemData, UserItemKind } from '../library/user-data-store.js';
import type { ResponseFormat } from './encoders.js';
import { parseSubsonicId } from './item-shapes.js';
import { SHAPE, type NodeShape, type ResponseNode } from './responses.js';

type Field = 'starred' | 'userRating' | 'playCount' | 'played';

/**
 * Which user fields each schema type carries, in JSON (the OpenAPI schemas) and in XML (the
 * XSD, which predates OpenSubsonic's `played` and AlbumID3's `userRating`; XML clients
 * validate against it, so the XML answer keeps to it).
 */
const FIELDS: Record<NodeShape, { json: readonly Field[]; xml: readonly Field[] }> = {
  child: { json: ['starred', 'userRating', 'playCount', 'played'], xml: ['starred', 'userRating', 'playCount'] },
  albumID3: { json: ['starred', 'userRating', 'playCount', 'played'], xml: ['starred', 'playCount'] },
  artist: { json: ['starred', 'userRating'], xml: ['starred', 'userRating'] },
  artistID3: { json: ['starred'], xml: ['starred'] },
  directory: { json: ['starred', 'userRating', 'playCount'], xml: ['starred', 'userRating', 'playCount'] },
};

const KIND_OF_ID = { track: 'track', album: 'album', artist: 'artist' } as const;

function valueOf(data: UserItemData, field: Field): string | number | undefined {
  if (field === 'starred') return data.starred;
  if (field === 'userRating') return data.rating;
  if (field === 'playCount') return data.playCount;
  return data.played;
}

/**
 * Adds `user`'s stars, ratings and plays to every song, album, artist and folder of an answer,
 * so every endpoint shows them without asking for them itself: the nodes are found by their
 * shape mark (item-shapes.ts), their data read with one query per kind.
 */
export function annotateUserData(body: ResponseNode | ResponseNode[] | undefined, user: string, store: UserDataStore, format: ResponseFormat): void {
  if (body === undefined) return;
  const found: { node: ResponseNode; shape: NodeShape; kind: UserItemKind; id: number }[] = [];
  const folders: { node: ResponseNode; shape: NodeShape; path: string }[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'object' && item !== null) walk(item);
      return;
    }
    const node = value as ResponseNode;
    const shape = node[SHAPE];
    if (shape !== undefined && typeof node.id === 'string') {
      const id = parseSubsonicId(node.id);
      if (id && (id.kind === 'track' || id.kind === 'album' || id.kind === 'artist')) found.push({ node, shape, kind: KIND_OF_ID[id.kind], id: id.id });
      else if (id?.kind === 'folder') folders.push({ node, shape, path: id.path });
    }
    for (const child of Object.values(node)) if (typeof child === 'object' && child !== null) walk(child);
  };
  walk(body);
  if (folders.length > 0) {
    const data = store.folderData(user, [...new Set(folders.map((f) => f.path))]);
    for (const { node, shape, path } of folders) {
      const item = data.get(path);
      if (item) copyFields(node, item, FIELDS[shape][format]);
    }
  }
  if (found.length === 0) return;
  const data = new Map<UserItemKind, Map<number, UserItemData>>();
  for (const kind of ['track', 'album', 'artist'] as const) {
    const ids = [...new Set(found.filter((f) => f.kind === kind).map((f) => f.id))];
    data.set(kind, store.dataOf(user, kind, ids));
  }
  for (const { node, shape, kind, id } of found) {
    const item = data.get(kind)!.get(id);
    if (item) copyFields(node, item, FIELDS[shape][format]);
  }
}

function copyFields(node: ResponseNode, item: UserItemData, fields: readonly Field[]): void {
  for (const field of fields) {
    const value = valueOf(item, field);
    if (value !== undefined) node[field] = value;
  }
}
