/**
 * OAuth 2.0 client credentials for the VEN (RFC 6749 §4.4; OpenADR 3 Definition §OAuth 2.0:
 * certified VEN clients use this flow). The token URL is configured, or found through GET
 * /auth/server (3.1.0 `authServerInfo.tokenURL`), or {vtnUrl}/auth/token. The body is
 * form-urlencoded `grant_type=client_credentials&client_id&client_secret` (the spec's
 * clientCredentialRequest). A token is renewed before it expires: when less than a tenth of its
 * lifetime (at least 5 s) is left, the next request fetches a new one; a 401 from the API drops it.
 *
 * Failures: 400/401 from the token endpoint (invalid_client, ...) -> GW_ERR_UNAUTHORIZED; an answer
 * without access_token -> GW_ERR_DEVICE_PROTOCOL; the transport's codes otherwise.
 */
import { GridseamError } from '@gridseam/model';
import type { Oadr3Version } from '../validate.ts';
import type { VtnHttp } from './http.ts';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** Absolute token endpoint URL; default: /auth/server (3.1.0), then {vtnUrl}/auth/token. */
  tokenUrl?: string;
  /** The scope parameter to ask for (optional in the spec). */
  scope?: string;
}

export interface TokenSource {
  /** A bearer token valid now (fetched when there is none or it is about to expire). */
  token(): Promise<string>;
  /** Forget the token (after a 401), so the next call fetches a new one. */
  invalidate(): void;
  /** When the current token expires, epoch ms; undefined without one. */
  expiresAt(): number | undefined;
}

/** Lifetime assumed when the token answer has no expires_in, s. */
const DEFAULT_LIFETIME_S = 3600;

function base(vtnUrl: string): string {
  return vtnUrl.endsWith('/') ? vtnUrl : `${vtnUrl}/`;
}

export function clientCredentialsSource(
  http: VtnHttp,
  credentials: ClientCredentials,
  vtnUrl: string,
  version: Oadr3Version,
  now: () => number,
): TokenSource {
  let current: { token: string; expiresAt: number; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let tokenUrl: string | undefined = credentials.tokenUrl;

  const discover = async (): Promise<string> => {
    if (tokenUrl !== undefined) return tokenUrl;
    if (version === '3.1.0') {
      try {
        const answer = await http.request({ method: 'GET', url: new URL('auth/server', base(vtnUrl)) });
        const found = (answer.body as { tokenURL?: unknown } | undefined)?.tokenURL;
        if (answer.status === 200 && typeof found === 'string' && /^https?:\/\//.test(found)) {
          tokenUrl = found;
          return found;
        }
      } catch (error) {
        if (GridseamError.is(error) && error.code === 'GW_ERR_DEVICE_UNREACHABLE') throw error;
      }
    }
    tokenUrl = new URL('auth/token', base(vtnUrl)).href;
    return tokenUrl;
  };

  const fetchToken = async (): Promise<string> => {
    const url = new URL(await discover());
    const answer = await http.request({
      method: 'POST',
      url,
      form: {
        grant_type: 'client_credentials',
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        ...(credentials.scope === undefined ? {} : { scope: credentials.scope }),
      },
    });
    const body = answer.body as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
      const reason = typeof body?.error === 'string' ? body.error : `status ${answer.status}`;
      throw new GridseamError(
        'GW_ERR_UNAUTHORIZED',
        `the VTN's token endpoint refused the client credentials (${reason})`,
        {
          details: { peer: 'vtn', status: answer.status, tokenUrl: url.href, clientId: credentials.clientId },
        },
      );
    }
    if (answer.status !== 200 || typeof body?.access_token !== 'string' || body.access_token === '')
      throw new GridseamError(
        'GW_ERR_DEVICE_PROTOCOL',
        `the token endpoint answered ${answer.status} without an access_token`,
        {
          details: { peer: 'vtn', status: answer.status, tokenUrl: url.href },
        },
      );
    const lifetimeS =
      typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0
        ? body.expires_in
        : DEFAULT_LIFETIME_S;
    const at = now();
    const marginMs = Math.max(5000, lifetimeS * 100);
    current = {
      token: body.access_token,
      expiresAt: at + lifetimeS * 1000,
      refreshAt: at + Math.max(0, lifetimeS * 1000 - marginMs),
    };
    return body.access_token;
  };

  return {
    token() {
      if (current !== undefined && now() < current.refreshAt) return Promise.resolve(current.token);
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      current = undefined;
    },
    expiresAt() {
      return current?.expiresAt;
    },
  };
}
