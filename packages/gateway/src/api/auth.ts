import { createHash, timingSafeEqual } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import type { ApiToken, Role } from './types.ts';

/** The caller a valid token stands for. */
export interface Principal {
  name: string;
  role: Role;
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The token carried by an Authorization header (RFC 6750 section 2.1), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}

/**
 * Checks presented tokens against the configured SHA-256 digests. Every configured digest is
 * compared, in constant time, whatever matched: neither the timing nor the number of comparisons
 * tells which token (or which prefix) was close.
 */
export class TokenVerifier {
  readonly #entries: ReadonlyArray<{ digest: Buffer; principal: Principal }>;

  constructor(tokens: readonly ApiToken[]) {
    this.#entries = tokens.map((token) => {
      if (!HEX_SHA256.test(token.tokenSha256))
        throw new GridseamError('GW_ERR_CONFIG', `API token ${token.name}: tokenSha256 must be 64 hex digits`);
      return { digest: Buffer.from(token.tokenSha256, 'hex'), principal: { name: token.name, role: token.role } };
    });
  }

  verify(secret: string): Principal | undefined {
    const presented = createHash('sha256').update(secret, 'utf8').digest();
    let found: Principal | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, presented) && found === undefined) found = entry.principal;
    }
    return found;
  }
}
