import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MODEL_SCHEMAS, toJsonSchemaDocument } from '../src/index.ts';

// The committed JSON Schema files are generated from the TypeBox definitions; this fails on drift.
// Regenerate with `npm run schemas -w @gridseam/model`.
describe('committed JSON Schemas', () => {
  for (const [name, schema] of Object.entries(MODEL_SCHEMAS)) {
    it(`${name}.schema.json matches the TypeBox definition`, () => {
      const file = new URL(`../schemas/${name}.schema.json`, import.meta.url);
      const committed = JSON.parse(readFileSync(file, 'utf8'));
      assert.deepEqual(committed, toJsonSchemaDocument(name, schema));
    });
  }
});
