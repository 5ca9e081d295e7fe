import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { compileTypes, compileValidators, GENERATED, GENERATED_TYPES } from '../schemas/compile.js';
import { validate } from '../lib/core/schema.js';
import { FormatError } from '../lib/core/errors.js';

describe('schemas', () => {
  it('lib/core/generated/validators.ts is what schemas/*.schema.json compile to (run `npm run schemas`)', () => {
    expect(readFileSync(GENERATED, 'utf8')).to.equal(compileValidators());
  });

  it('lib/core/generated/types.ts is what schemas/*.schema.json generate (run `npm run schemas`)', () => {
    expect(readFileSync(GENERATED_TYPES, 'utf8')).to.equal(compileTypes());
  });

  it('rejects properties a schema does not name (additionalProperties: false)', () => {
    const envelope = { payloadType: 'x', payload: '', signatures: [], extra: true };
    expect(() => validate('envelope', envelope, 'envelope'))
      .to.throw(FormatError)
      .with.property('code', 'SCHEMA_INVALID');
  });
});
