import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '@gridseam/model';

const DOC_URL = new URL('../../../../docs/reference/errors.md', import.meta.url);

/** Table rows: | [CODE](#anchor) | status | yes/no | meaning | */
const ROW = /^\| \[(GW_ERR_[A-Z_]+)\]\(#([a-z_]+)\) \| (\d{3}) \| (yes|no) \| (.+) \|$/;

describe('docs/reference/errors.md', () => {
  const doc = readFileSync(DOC_URL, 'utf8');
  const lines = doc.split('\n');
  const rows = new Map(
    lines.flatMap((line) => {
      const match = ROW.exec(line);
      return match ? [[match[1] ?? '', match] as const] : [];
    }),
  );
  const headings = new Set(lines.filter((l) => l.startsWith('## GW_ERR_')).map((l) => l.slice(3).trim()));

  it('documents every error code with its status and retryability, and links its section', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const row = rows.get(code);
      assert.ok(row, `${code} has no row in the table`);
      assert.equal(row[2], code.toLowerCase(), `${code}: anchor`);
      assert.equal(Number(row[3]), spec.status, `${code}: status`);
      assert.equal(row[4], spec.retryable ? 'yes' : 'no', `${code}: retryable`);
      assert.ok(headings.has(code), `${code} has no "## ${code}" section`);
    }
  });

  it('documents no code that does not exist', () => {
    const known = new Set(Object.keys(ERROR_CODES));
    for (const code of [...rows.keys(), ...headings]) assert.ok(known.has(code), `${code} is not in ERROR_CODES`);
  });
});
