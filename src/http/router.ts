import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebContext } from './web-context.js';

export type RouteHandler = (request: RouteRequest) => Promise<void> | void;

/** What a handler is given: the exchange, the route's parameters and the server's services. */
export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** `:name` segments of the route; every one is a database id (digits only). */
  ids: Record<string, number>;
  query: URLSearchParams;
  context: WebContext;
}

export interface Route {
  method: 'GET' | 'POST';
  /** Literal segments and `:name` id segments, e.g. `/api/albums/:id/tracks`. */
  pattern: string;
  handler: RouteHandler;
  /** Reachable without a session even when accounts exist (the page itself, login). */
  public?: boolean;
}

/** A database id in a URL: a positive integer without sign, leading zero or exponent. */
const ID_SEGMENT = /^[1-9][0-9]{0,14}$/;

export type RouteMatch = { route: Route; ids: Record<string, number> } | { allowed: string[] } | undefined;

/**
 * Matches a request path against the routes, segment by segment, on the raw (still
 * percent-encoded) path: literal segments must be equal and id segments digits, so no
 * encoding trick (`%2e%2e`, `%2f`, backslashes, NUL, overlong UTF-8) can make a path mean
 * anything but a route, and no route takes a file name from the client.
 */
export class Router {
  private readonly routes: { route: Route; segments: string[] }[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) this.routes.push({ route, segments: route.pattern.split('/').slice(1) });
    return this;
  }

  match(method: string, rawPath: string): RouteMatch {
    const segments = rawPath.split('/').slice(1);
    const allowed: string[] = [];
    for (const { route, segments: pattern } of this.routes) {
      if (pattern.length !== segments.length) continue;
      const ids: Record<string, number> = {};
      let ok = true;
      for (let i = 0; i < pattern.length && ok; i++) {
        const want = pattern[i]!;
        const got = segments[i]!;
        if (want.startsWith(':')) {
          if (ID_SEGMENT.test(got)) ids[want.slice(1)] = Number(got);
          else ok = false;
        } else ok = want === got;
      }
      if (!ok) continue;
      const wanted = method === 'HEAD' ? 'GET' : method;
      if (route.method === wanted) return { route, ids };
      allowed.push(route.method === 'GET' ? 'GET, HEAD' : route.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}
