// Writes each canonical schema to packages/model/schemas/<Name>.schema.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { MODEL_SCHEMAS, toJsonSchemaDocument } from '../src/index.ts';

const outDir = new URL('../schemas/', import.meta.url);
mkdirSync(outDir, { recursive: true });
for (const [name, schema] of Object.entries(MODEL_SCHEMAS)) {
  writeFileSync(
    new URL(`${name}.schema.json`, outDir),
    `${JSON.stringify(toJsonSchemaDocument(name, schema), null, 2)}\n`,
  );
}
console.log(`wrote ${Object.keys(MODEL_SCHEMAS).length} schemas`);
