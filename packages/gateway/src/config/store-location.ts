import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreConfig } from '../store/types.ts';

/** True for a sqlite store kept in a file (not ':memory:' or a file: URI). */
export function isSqliteFile(config: StoreConfig): config is { kind: 'sqlite'; path: string } {
  return config.kind === 'sqlite' && config.path !== ':memory:' && !config.path.startsWith('file:');
}

/** A sqlite file's folder is created on first start, so a fresh clone runs without a setup step. */
export async function prepareStoreLocation(config: StoreConfig): Promise<void> {
  if (isSqliteFile(config)) await mkdir(dirname(config.path), { recursive: true });
}
