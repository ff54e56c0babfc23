import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Schema validation of XML documents with Debian's xmllint against the IEEE 2030.5 / CSIP-AUS schemas kept
 * outside the repo (sep.xsd may not be redistributed): <repo>/../shared/specs/ieee2030_5/schema. Tests call
 * `xsdSkipReason()` and skip with its message when xmllint or the schema folder is missing.
 */

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
export const SCHEMA_DIR = resolve(REPO_ROOT, '..', 'shared', 'specs', 'ieee2030_5', 'schema');
export const SAMPLES_DIR = resolve(REPO_ROOT, '..', 'shared', 'specs', 'ieee2030_5', 'samples');

export type SchemaName = 'sep' | 'csipaus-1.2' | 'csipaus-1.3';

/** Schema files relative to SCHEMA_DIR (xmllint runs there so the relative imports resolve). */
export const SCHEMA_FILES: Readonly<Record<SchemaName, string>> = {
  sep: 'csipaus-v1.2/sep.xsd',
  'csipaus-1.2': 'csipaus-v1.2/csipaus-core.xsd',
  'csipaus-1.3': 'csipaus-v1.3/csipaus-core-v1.3.xsd',
};

export interface XsdResult {
  valid: boolean;
  /** xmllint's validity and parser errors for this document (warnings about schema imports dropped). */
  errors: string[];
}

let xmllintProbe: boolean | undefined;

function hasXmllint(): boolean {
  if (xmllintProbe === undefined) {
    try {
      execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
      xmllintProbe = true;
    } catch {
      xmllintProbe = false;
    }
  }
  return xmllintProbe;
}

/** Why schema tests cannot run here, or undefined when they can. */
export function xsdSkipReason(): string | undefined {
  if (!hasXmllint()) return 'xmllint not installed (apt-get install libxml2-utils)';
  for (const file of Object.values(SCHEMA_FILES)) {
    if (!existsSync(join(SCHEMA_DIR, file))) return `schema ${file} not found under ${SCHEMA_DIR}`;
  }
  return undefined;
}

export function xsdAvailable(): boolean {
  return xsdSkipReason() === undefined;
}

function relevantLines(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() !== '' && !line.includes('Schemas parser warning'));
}

/** Validate one document (sent on stdin). */
export function validateXml(xml: string, schema: SchemaName): XsdResult {
  const run = spawnSync('xmllint', ['--noout', '--schema', SCHEMA_FILES[schema], '-'], {
    cwd: SCHEMA_DIR,
    input: xml,
    encoding: 'utf8',
  });
  const lines = relevantLines(`${run.stdout}\n${run.stderr}`);
  return { valid: run.status === 0, errors: lines.filter((l) => !/^- validates$/.test(l)) };
}

/** Validate many documents with one xmllint run (one schema compile). Results are in input order. */
export function validateXmlBatch(docs: readonly string[], schema: SchemaName): XsdResult[] {
  if (docs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'gridseam-xsd-'));
  try {
    const files = docs.map((xml, i) => {
      const file = join(dir, `doc-${i}.xml`);
      writeFileSync(file, xml);
      return file;
    });
    const run = spawnSync('xmllint', ['--noout', '--schema', SCHEMA_FILES[schema], ...files], {
      cwd: SCHEMA_DIR,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = relevantLines(`${run.stdout}\n${run.stderr}`);
    return files.map((file) => {
      const mine = lines.filter((l) => l.startsWith(`${file}:`) || l.startsWith(`${file} `));
      return {
        valid: mine.includes(`${file} validates`),
        errors: mine
          .filter((l) => l !== `${file} validates`)
          .map((l) => l.replace(`${file}`, `doc[${files.indexOf(file)}]`)),
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
