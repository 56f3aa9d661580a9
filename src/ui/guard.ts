// Who may talk to the UI's server. A web page elsewhere in the user's browser can reach a loopback port: by DNS
// rebinding (a foreign Host header), by a cross-site form or fetch (a foreign Origin, a plain-text body), or by
// guessing. The answers, as Jupyter's: a Host allow-list, an Origin check on every state-changing request, JSON
// and zip bodies only with their own content types (a cross-site page cannot send those without a preflight,
// which this server never grants), and a random token per launch, kept by the page in a cookie.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import { HttpError } from './paths.js';

export interface GuardOptions {
  /** The address the server binds to. */
  host: string;
  port: number;
  /** More Host names to accept (e.g. the machine's name when bound to 0.0.0.0). */
  allowHosts: string[];
  /** false: no token asked (`--no-token`). */
  token: boolean;
}

export interface Guard {
  /** The token, or null with --no-token. */
  token: string | null;
  /** The query that carries the token, for the printed URL ('' with --no-token). */
  query: string;
  /** Refuses (HttpError) a request that fails a check; returns a Set-Cookie value when the token came in the query. */
  check(req: http.IncomingMessage, url: URL): string | null;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The host name of a Host header value, without port or IPv6 brackets, lower-cased. */
function hostName(value: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(value) ?? /^([^:]+)(?::\d+)?$/.exec(value);
  return m ? m[1].toLowerCase() : '';
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

export function makeGuard(o: GuardOptions): Guard {
  const token = o.token ? randomBytes(24).toString('hex') : null;
  // Cookies do not tell ports apart: the port in the name keeps two servers' tokens apart.
  const cookie = `transferkit-token-${o.port}`;
  const allowed = new Set([...LOOPBACK_NAMES, o.host.toLowerCase(), ...o.allowHosts.map((h) => h.toLowerCase())]);
  // Bound to every interface: any address typed as a number is fine (a rebinding attack needs a DNS name).
  const anyAddress = o.host === '0.0.0.0' || o.host === '::';
  return {
    token,
    query: token ? `?token=${token}` : '',
    check(req, url) {
      const host = req.headers.host ?? '';
      const name = hostName(host);
      if (!allowed.has(name) && !(anyAddress && net.isIP(name)))
        throw new HttpError(403, 'Host not allowed; start the UI with --allow-host NAME to accept this name');
      if (!SAFE_METHODS.has(req.method ?? '')) {
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== `http://${host}`) throw new HttpError(403, 'cross-origin request refused');
        const site = req.headers['sec-fetch-site'];
        if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'cross-site request refused');
      }
      if (!token) return null;
      const fromQuery = url.searchParams.get('token');
      const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const given = fromQuery ?? auth ?? cookieValue(req.headers.cookie, cookie);
      if (!given || !sameSecret(given, token))
        throw new HttpError(401, 'a valid token is required: open the address `transferkit ui` printed (it ends in ?token=…)');
      return fromQuery ? `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/` : null;
    },
  };
}

/** Refuses (415) a body that is not of one of `types` (parameters such as charset ignored). */
export function requireContentType(req: http.IncomingMessage, types: string[]): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!types.includes(type)) throw new HttpError(415, `send the body as ${types.join(' or ')}`);
}
