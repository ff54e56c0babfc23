import { createHash } from 'node:crypto';
import { GridseamError } from '@gridseam/model';
import type { ApiToken } from '../api/types.ts';
import type { TokenConfig } from './schema.ts';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Turns the configured tokens into the API's form (name, role, SHA-256 digest). A tokenEnv token
 * reads its secret from the environment now, so a missing variable stops the start, not the first
 * request. The secret itself is hashed at once and never kept.
 */
export function resolveApiTokens(
  tokens: readonly TokenConfig[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ApiToken[] {
  return tokens.map((token, index) => {
    if (token.tokenSha256 !== undefined)
      return { name: token.name, role: token.role, tokenSha256: token.tokenSha256.toLowerCase() };
    const variable = token.tokenEnv ?? '';
    const secret = env[variable];
    if (secret === undefined || secret === '')
      throw new GridseamError(
        'GW_ERR_CONFIG',
        `api.tokens[${index}].tokenEnv: the environment variable ${variable} (token '${token.name}') is not set or is empty`,
      );
    return { name: token.name, role: token.role, tokenSha256: sha256Hex(secret) };
  });
}
