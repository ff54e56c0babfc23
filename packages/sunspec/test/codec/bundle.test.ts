/**
 * The shipped definitions (models/) match their source in ../shared/specs/sunspec-models and the
 * generator script's output; the loader serves them.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  BUNDLE_FILE,
  buildOutputs,
  DEFAULT_SOURCE_DIR,
  formatJson,
  LICENSE_FILE,
  MODELS_DIR,
  NOTICE_FILE,
  readModelDefinitions,
  readSourceCommit,
} from '../../scripts/bundle-models.ts';
import { getModelDefinition, modelIds, modelName } from '../../src/codec/index.ts';

const sourcePresent = existsSync(DEFAULT_SOURCE_DIR);
const skipReason = `source definitions not found at ${DEFAULT_SOURCE_DIR}; drift check skipped`;
const shipped = (file: string) => readFileSync(join(MODELS_DIR, file), 'utf8');

describe('bundled SunSpec model definitions', () => {
  test('the bundle has the same definitions as ../shared/specs/sunspec-models (no drift)', (t) => {
    if (!sourcePresent) return t.skip(skipReason);
    const source = readModelDefinitions(DEFAULT_SOURCE_DIR);
    const bundle: unknown = JSON.parse(shipped(BUNDLE_FILE));
    assert.deepEqual(Object.keys(bundle as object), Object.keys(source));
    assert.deepEqual(bundle, source);
  });

  test('the committed files are exactly what scripts/bundle-models.ts writes (rerun it after a change)', (t) => {
    if (!sourcePresent) return t.skip(skipReason);
    const outputs = buildOutputs(DEFAULT_SOURCE_DIR);
    assert.deepEqual(Object.keys(outputs).sort(), [BUNDLE_FILE, LICENSE_FILE, NOTICE_FILE].sort());
    for (const [file, text] of Object.entries(outputs)) {
      assert.ok(
        shipped(file) === text,
        `models/${file} is stale: run npx tsx packages/sunspec/scripts/bundle-models.ts`,
      );
    }
  });

  test('NOTICE names the source repository, the commit and the licence; the licence is Apache-2.0', (t) => {
    const notice = shipped(NOTICE_FILE);
    assert.match(notice, /github\.com\/sunspec\/models/);
    assert.match(notice, /Apache License 2\.0/);
    const commit = /Commit: ([0-9a-f]{40})/.exec(notice)?.[1];
    assert.ok(commit, 'NOTICE has a commit');
    assert.match(shipped(LICENSE_FILE), /Apache License\s+Version 2\.0/);
    if (!sourcePresent) return t.skip(skipReason);
    assert.equal(commit, readSourceCommit(DEFAULT_SOURCE_DIR));
  });

  test('formatJson writes what Biome keeps: flat arrays inline when they fit, objects expanded', () => {
    assert.equal(
      formatJson({ a: [1, 'x'], b: { c: [] }, d: [{ e: null }] }),
      '{\n  "a": [1, "x"],\n  "b": {\n    "c": []\n  },\n  "d": [\n    {\n      "e": null\n    }\n  ]\n}\n',
    );
    const long = Array.from({ length: 30 }, (_, i) => `item-${i}`);
    // '{', '"long": [', 30 items, ']', '}' and the final newline.
    assert.equal(formatJson({ long }).split('\n').length, 30 + 5);
    assert.match(formatJson({ long }), /^ {4}"item-29"$/m);
  });

  test('getModelDefinition / modelIds / modelName serve the bundle', () => {
    const ids = modelIds();
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    for (const id of [1, 103, 124, 160, 701, 704, 705, 713, 802, 803, 64415])
      assert.ok(ids.includes(id), `model ${id}`);
    const common = getModelDefinition(1);
    assert.ok(common);
    assert.equal(common.id, 1);
    assert.equal(modelName(common), 'common');
    assert.equal(modelName(getModelDefinition(704)!), 'DERCtlAC');
    assert.equal(getModelDefinition(999), undefined);
    assert.equal(getModelDefinition(65535), undefined);
    // modelIds() hands out a copy.
    ids.length = 0;
    assert.ok(modelIds().length > 100);
  });
});
