import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { compileValidators, GENERATED } from '../schemas/compile.js';
import { validate } from '../lib/schema.js';
import { FormatError } from '../lib/errors.js';

describe('schemas', () => {
  it('lib/generated/validators.ts is what schemas/*.schema.json compile to (run `npm run schemas`)', () => {
    expect(readFileSync(GENERATED, 'utf8')).to.equal(compileValidators());
  });

  it('rejects properties a schema does not name (additionalProperties: false)', () => {
    const envelope = { payloadType: 'x', payload: '', signatures: [], extra: true };
    expect(() => validate('envelope', envelope, 'envelope')).to.throw(FormatError).with.property('code', 'SCHEMA_INVALID');
  });
});
