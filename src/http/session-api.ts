import { HttpError, readJsonBody, sendJson } from './responses.js';
import type { Route } from './router.js';
import { SessionStore } from './sessions.js';

/** Longest name or password accepted at login. */
const MAX_CREDENTIAL = 1024;

/**
 * The session: whether a login is needed, who is logged in, and the CSRF token the page
 * sends back on state-changing requests; log in and log out.
 */
export const sessionRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/session',
    public: true,
    async handler({ req, res, context }) {
      const loginRequired = await context.auth.hasAccounts();
      const found = await context.sessionOf(req);
      sendJson(req, res, 200, {
        loginRequired,
        user: found ? found.session.user : null,
        csrfToken: found ? found.session.csrfToken : null,
      });
    },
  },
  {
    method: 'POST',
    pattern: '/api/login',
    public: true,
    async handler({ req, res, context }) {
      // Failed logins are limited in one place for every interface (v2, Subsonic, this):
      // the accounts' LoginThrottle, per address and per name, inside auth.verify. A second,
      // web-only limit here would only have duplicated it, for this interface alone.
      const address = req.socket.remoteAddress ?? '';
      const body = await readJsonBody(req);
      const { name, password } = body;
      if (typeof name !== 'string' || typeof password !== 'string' || name.length > MAX_CREDENTIAL || password.length > MAX_CREDENTIAL) {
        throw new HttpError(400, 'BAD_REQUEST', 'send {"name": ..., "password": ...}');
      }
      const user = await context.auth.verify(name, password, address);
      if (!user) {
        context.log.warn(`web: failed login for ${JSON.stringify(name.slice(0, 64))} from ${address}`);
        throw new HttpError(401, 'LOGIN_FAILED', 'wrong name or password');
      }
      const previous = await context.sessionOf(req);
      if (previous) context.sessions.remove(previous.token); // a new login never keeps an old token
      const { token, session } = context.sessions.create(user, await context.auth.credentialStamp?.(user.name));
      res.setHeader('Set-Cookie', SessionStore.cookie(token, context.secure));
      context.log.info(`web: ${user.name} logged in from ${address}`);
      sendJson(req, res, 200, { loginRequired: true, user: session.user, csrfToken: session.csrfToken });
    },
  },
  {
    method: 'POST',
    pattern: '/api/logout',
    public: true,
    async handler({ req, res, context }) {
      const found = await context.sessionOf(req);
      if (found) context.sessions.remove(found.token);
      res.setHeader('Set-Cookie', SessionStore.clearedCookie(context.secure));
      sendJson(req, res, 200, { user: null });
    },
  },
];
