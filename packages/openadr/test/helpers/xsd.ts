import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Schema validation of OpenADR 2.0b documents with Debian's xmllint against the 2.0b XSD set kept outside the
 * repo: <repo>/../shared/specs/openadr/oadr20b-xsd (oadr_20b.xsd and its imports). The captured traffic and the
 * EPRI fixtures live next to it. Tests call `xsdSkipReason()` / `sharedSkipReason()` and skip with the message
 * when xmllint or the shared folder is missing.
 */

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
export const OPENADR_SHARED_DIR = resolve(REPO_ROOT, '..', 'shared', 'specs', 'openadr');
export const SCHEMA_DIR = join(OPENADR_SHARED_DIR, 'oadr20b-xsd');
export const SCHEMA_FILE = 'oadr_20b.xsd';
export const SAMPLES_DIR = join(OPENADR_SHARED_DIR, 'samples-2.0b');
export const EPRI_FIXTURES_DIR = join(OPENADR_SHARED_DIR, 'epri-ven-lib-fixtures');

export interface XsdResult {
  valid: boolean;
  /** xmllint's validity and parser errors for this document. */
  errors: string[];
}

let xmllintProbe: boolean | undefined;

export function hasXmllint(): boolean {
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

/** Why the shared captures and fixtures cannot be read here, or undefined when they can. */
export function sharedSkipReason(): string | undefined {
  for (const dir of [SAMPLES_DIR, EPRI_FIXTURES_DIR]) {
    if (!existsSync(dir)) return `${dir} not found (the shared OpenADR data sits next to the repo)`;
  }
  return undefined;
}

/** Why schema tests cannot run here, or undefined when they can. */
export function xsdSkipReason(): string | undefined {
  if (!hasXmllint()) return 'xmllint not installed (apt-get install libxml2-utils)';
  if (!existsSync(join(SCHEMA_DIR, SCHEMA_FILE))) return `${SCHEMA_FILE} not found under ${SCHEMA_DIR}`;
  return undefined;
}

function relevantLines(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() !== '' && !line.includes('Schemas parser warning'));
}

/** Validate one document (sent on stdin). */
export function validateOadr(xml: string): XsdResult {
  const run = spawnSync('xmllint', ['--noout', '--nonet', '--schema', SCHEMA_FILE, '-'], {
    cwd: SCHEMA_DIR,
    input: xml,
    encoding: 'utf8',
  });
  const lines = relevantLines(`${run.stdout}\n${run.stderr}`);
  return { valid: run.status === 0, errors: lines.filter((l) => !/^- validates$/.test(l)) };
}

/** Validate many documents with one xmllint run (one schema compile). Results are in input order. */
export function validateOadrBatch(docs: readonly string[]): XsdResult[] {
  if (docs.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'gridseam-oadr-xsd-'));
  try {
    const files = docs.map((xml, i) => {
      const file = join(dir, `doc-${i}.xml`);
      writeFileSync(file, xml);
      return file;
    });
    const run = spawnSync('xmllint', ['--noout', '--nonet', '--schema', SCHEMA_FILE, ...files], {
      cwd: SCHEMA_DIR,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = relevantLines(`${run.stdout}\n${run.stderr}`);
    return files.map((file, i) => {
      const mine = lines.filter((l) => l.startsWith(`${file}:`) || l.startsWith(`${file} `));
      return {
        valid: mine.includes(`${file} validates`),
        errors: mine.filter((l) => l !== `${file} validates`).map((l) => l.replace(file, `doc[${i}]`)),
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
