/**
 * Subsonic response shapes and errors. A response body is a tree of plain objects: a
 * primitive field is an XML attribute (and a JSON field), an object an element, an array
 * repeated elements of the key's name (a primitive in one is the element's text); `value` is an element's text. Keys keep their order,
 * because the XSD's sequences fix the order of child elements. encoders.ts renders the tree
 * as XML or JSON; every endpoint builds one of these and never writes bytes itself.
 */

/** The Subsonic API version this server speaks (the OpenSubsonic baseline). */
export const SUBSONIC_API_VERSION = '1.16.1';
/** The `type` field: our own name (clients treat `subsonic` as the original server). */
export const SERVER_TYPE = 'audiostream';

export type Primitive = string | number | boolean;
export interface ResponseNode {
  [key: string]: Primitive | ResponseNode | ResponseNode[] | Primitive[] | undefined;
  /** Which schema type a node is, for the user data pass (user-annotations.ts); never rendered. */
  [SHAPE]?: NodeShape;
}

/**
 * The schema types that carry a user's stars, ratings and plays. A symbol key: object spread
 * keeps it, and neither JSON.stringify nor the XML encoder (Object.entries) sees it.
 */
export const SHAPE: unique symbol = Symbol('subsonic shape');
export type NodeShape = 'child' | 'albumID3' | 'artist' | 'artistID3' | 'directory';

/**
 * The API's error codes (subsonic.org/pages/api.jsp, "Error handling"; OpenSubsonic adds
 * 43 and 44). Answered inside the envelope with HTTP 200, as clients expect.
 */
export const SubsonicErrorCode = {
  GENERIC: 0,
  MISSING_PARAMETER: 10,
  WRONG_CREDENTIALS: 40,
  TOKEN_NOT_SUPPORTED: 41,
  MECHANISM_NOT_SUPPORTED: 42,
  CONFLICTING_MECHANISMS: 43,
  INVALID_API_KEY: 44,
  NOT_AUTHORISED: 50,
  NOT_FOUND: 70,
} as const;
export type SubsonicErrorCode = (typeof SubsonicErrorCode)[keyof typeof SubsonicErrorCode];

/** A failure an endpoint reports: rendered as `status="failed"` with `<error code message>`. */
export class SubsonicError extends Error {
  readonly code: SubsonicErrorCode;
  constructor(code: SubsonicErrorCode, message: string) {
    super(message);
    this.name = 'SubsonicError';
    this.code = code;
  }
}

/** What an endpoint answers: a body under one element name, or nothing (ping). */
export interface SubsonicBody {
  name?: string;
  body?: ResponseNode | ResponseNode[];
}
