import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { outreachInputSchema } from '../src/workflows/schemas';
import { generateSchemas, SCHEMAS_DIR } from '../tools/json-schemas';
import { newPatient, outreachRequest } from './support/fixtures';

describe('the contract other languages call: JSON Schemas in docs/schemas', () => {
  const generated = generateSchemas();

  it('match the zod schemas they are generated from (run `npm run schemas` after changing one)', () => {
    assert.deepEqual(readdirSync(SCHEMAS_DIR).sort(), [...generated.keys()].sort(), 'the set of schema files');
    for (const [file, text] of generated) {
      assert.equal(readFileSync(join(SCHEMAS_DIR, file), 'utf8'), text, `docs/schemas/${file} has drifted`);
    }
  });

  it('describe the input as the workflow reads it: strict, with the required fields', () => {
    const input = JSON.parse(generated.get('outreach-input.schema.json')!) as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { additionalProperties?: boolean }>;
    };
    assert.deepEqual(input.required.sort(), ['booking', 'dob', 'message', 'nhsNumber']);
    assert.equal(input.additionalProperties, false);
    assert.equal(input.properties.booking!.additionalProperties, false);
    // The example request docs/library-and-cli.md shows is valid under the zod schema the JSON Schema mirrors.
    assert.ok(outreachInputSchema.safeParse(outreachRequest(newPatient())).success);
  });

  it('leave answers open to fields added later', () => {
    for (const file of ['outreach-result.schema.json', 'status-query.schema.json']) {
      assert.ok(!generated.get(file)!.includes('"additionalProperties": false'), file);
    }
  });
});
