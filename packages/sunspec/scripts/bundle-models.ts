/**
 * Regenerates packages/sunspec/models/ from the SunSpec model definitions in
 * ../shared/specs/sunspec-models (relative to the repository root):
 *   - sunspec-models.json: every model_<id>.json, keyed by model id, definitions unchanged;
 *   - LICENSE.apache-2.0.txt: the licence of sunspec/models, copied;
 *   - NOTICE.md: where the definitions come from (repository, commit, licence).
 * Run: `npx tsx packages/sunspec/scripts/bundle-models.ts [--source DIR] [--check]`.
 * With --check nothing is written; the exit code says whether the committed files are current.
 * The JSON is written the way Biome formats it, so `biome check` has nothing to change.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const scriptDir = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(scriptDir, '../../..');
export const DEFAULT_SOURCE_DIR = resolve(REPO_ROOT, '../shared/specs/sunspec-models');
export const MODELS_DIR = resolve(scriptDir, '../models');
export const BUNDLE_FILE = 'sunspec-models.json';
export const LICENSE_FILE = 'LICENSE.apache-2.0.txt';
export const NOTICE_FILE = 'NOTICE.md';

const MODEL_FILE = /^model_(\d+)\.json$/;
/** Biome's configured line width (biome.json `formatter.lineWidth`). */
const LINE_WIDTH = 120;

/** Reads every model_<id>.json of `sourceDir` into one object keyed by id, in ascending id order. */
export function readModelDefinitions(sourceDir: string): Record<string, unknown> {
  const entries: Array<[number, unknown]> = [];
  for (const name of readdirSync(sourceDir)) {
    const match = MODEL_FILE.exec(name);
    if (!match) continue;
    const fileId = Number(match[1]);
    const def: unknown = JSON.parse(readFileSync(join(sourceDir, name), 'utf8'));
    const id = typeof def === 'object' && def !== null ? (def as { id?: unknown }).id : undefined;
    if (id !== fileId) throw new Error(`${name}: its "id" (${String(id)}) does not match the file name`);
    entries.push([fileId, def]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  const bundle: Record<string, unknown> = {};
  for (const [id, def] of entries) bundle[String(id)] = def;
  return bundle;
}

/** The source commit named in the README beside the definitions ("Commit: <40 hex>"). */
export function readSourceCommit(sourceDir: string): string {
  const readme = readFileSync(join(sourceDir, 'README.md'), 'utf8');
  const match = /Commit:\s*`?([0-9a-f]{40})/i.exec(readme);
  if (!match?.[1]) throw new Error(`${join(sourceDir, 'README.md')}: no "Commit: <sha>" line`);
  return match[1];
}

/**
 * JSON text as Biome formats it: objects expanded one member per line, arrays on one line when
 * they hold no object or array and fit the line width, otherwise one element per line.
 */
export function formatJson(value: unknown): string {
  return `${formatValue(value, 0, 0)}\n`;
}

function formatValue(value: unknown, indent: number, prefixWidth: number): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const pad = ' '.repeat(indent + 2);
    const flat = value.every((v) => v === null || typeof v !== 'object');
    if (flat) {
      const oneLine = `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
      // prefixWidth covers the indentation and `"key": `; a trailing comma may follow.
      if (prefixWidth + oneLine.length + 1 <= LINE_WIDTH) return oneLine;
    }
    const items = value.map((v) => pad + formatValue(v, indent + 2, pad.length));
    return `[\n${items.join(',\n')}\n${' '.repeat(indent)}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    const pad = ' '.repeat(indent + 2);
    const members = keys.map((key) => {
      const head = `${pad}${JSON.stringify(key)}: `;
      return head + formatValue((value as Record<string, unknown>)[key], indent + 2, head.length);
    });
    return `{\n${members.join(',\n')}\n${' '.repeat(indent)}}`;
  }
  return JSON.stringify(value);
}

export function noticeText(commit: string, modelCount: number): string {
  return [
    '# SunSpec model definitions',
    '',
    `\`${BUNDLE_FILE}\` bundles ${modelCount} SunSpec information model definitions (\`json/model_<id>.json\`),`,
    'keyed by model id and otherwise unchanged.',
    '',
    '- Source repository: https://github.com/sunspec/models (path `json/`)',
    `- Commit: ${commit}`,
    `- Licence: Apache License 2.0, copied in \`${LICENSE_FILE}\`. Copyright SunSpec Alliance.`,
    '',
    'Regenerate with `npx tsx packages/sunspec/scripts/bundle-models.ts` (reads `../shared/specs/sunspec-models`',
    'relative to the repository root); a test in `packages/sunspec/test/codec` fails when the bundle drifts.',
    '',
  ].join('\n');
}

export interface BundleOutputs {
  [file: string]: string;
}

/** The three generated files, as text, from the definitions in `sourceDir`. */
export function buildOutputs(sourceDir: string): BundleOutputs {
  const bundle = readModelDefinitions(sourceDir);
  return {
    [BUNDLE_FILE]: formatJson(bundle),
    [LICENSE_FILE]: readFileSync(join(sourceDir, LICENSE_FILE), 'utf8'),
    [NOTICE_FILE]: noticeText(readSourceCommit(sourceDir), Object.keys(bundle).length),
  };
}

function main(argv: string[]): number {
  const sourceIndex = argv.indexOf('--source');
  const sourceDir = sourceIndex >= 0 && argv[sourceIndex + 1] ? resolve(argv[sourceIndex + 1]!) : DEFAULT_SOURCE_DIR;
  const check = argv.includes('--check');
  const outputs = buildOutputs(sourceDir);
  let stale = 0;
  for (const [file, text] of Object.entries(outputs)) {
    const path = join(MODELS_DIR, file);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // missing counts as stale
      }
      if (current !== text) {
        stale++;
        console.error(`stale: ${path}`);
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${path}`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
