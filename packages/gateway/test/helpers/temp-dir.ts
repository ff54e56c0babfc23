import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

/**
 * A temporary directory for the tests of one file: made before them, removed after them.
 * `dir()` is its path (valid once the tests run); `file(name, text)` writes a file in it.
 */
export function useTempDir(prefix: string): { dir(): string; file(name: string, text: string): Promise<string> } {
  let path = '';
  before(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    await rm(path, { recursive: true, force: true });
  });
  return {
    dir: () => path,
    async file(name, text) {
      const file = join(path, name);
      await writeFile(file, text);
      return file;
    },
  };
}
