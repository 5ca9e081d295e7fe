import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import {
  compileTypes,
  compileValidators,
  FILE_SCHEMAS,
  GENERATED,
  GENERATED_FILES,
  GENERATED_SERVICES,
  GENERATED_TYPES,
  SERVICE_SCHEMAS,
} from '../schemas/compile.js';
import { acceptsPrintableAscii } from '../schemas/codegen.js';
import { validate } from '../lib/core/schema.js';
import { FormatError } from '../lib/core/errors.js';

describe('schemas', () => {
  it('lib/core/generated/validators.ts is what schemas/*.schema.json compile to (run `npm run schemas`)', () => {
    expect(readFileSync(GENERATED, 'utf8')).to.equal(compileValidators());
  });

  it('a printable-ASCII test stands before only a pattern that accepts every printable-ASCII string (schemas/codegen.ts)', () => {
    const name = (JSON.parse(readFileSync(new URL('../schemas/public-key.schema.json', import.meta.url), 'utf8')) as any).properties.name.pattern as string;
    expect(acceptsPrintableAscii(name), name).to.equal(true);
    for (const p of ['^[^<]+$', '^[^ ]+$', '^[^~]+$', '^[^\\p{L}]+$', '^[A-Za-z]+$', '^[^a]*$', '^[^\\u0000]+$x', '[^\\u0000]+'])
      expect(acceptsPrintableAscii(p), p).to.equal(false);
    // What the name pattern refuses, beside the fast test, is in test/policy.test.ts (names with control characters).
  });

  it('lib/core/generated/service-validators.ts is what the service schemas compile to (run `npm run schemas`)', () => {
    expect(readFileSync(GENERATED_SERVICES, 'utf8')).to.equal(compileValidators({ services: true }));
  });

  it('lib/core/generated/file-validators.ts is what the file schemas compile to (run `npm run schemas`)', () => {
    expect(readFileSync(GENERATED_FILES, 'utf8')).to.equal(compileValidators({ files: true }));
  });

  it('every file schema exists, and only file-schema.ts in lib/core loads their validators (verify --policy never does)', () => {
    const names = readdirSync(new URL('../schemas/', import.meta.url)).filter((f) => f.endsWith('.schema.json'));
    for (const name of FILE_SCHEMAS) expect(names, name).to.include(`${name}.schema.json`);
    const core = new URL('../lib/core/', import.meta.url);
    for (const file of readdirSync(core).filter((f) => f.endsWith('.ts') && f !== 'file-schema.ts')) {
      expect(readFileSync(new URL(file, core), 'utf8'), file).not.to.match(/file-validators\.js/);
    }
    // Each schema is compiled into exactly one of the three files.
    const exported = (code: string) => [...code.matchAll(/^export const (\w+) =/gm)].map((m) => m[1]);
    const all = [GENERATED, GENERATED_FILES, GENERATED_SERVICES].flatMap((url) => exported(readFileSync(url, 'utf8')));
    expect(all.length, all.join(' ')).to.equal(new Set(all).size);
    expect(all.length).to.equal(names.length);
  });

  it('every service schema exists, and only service-schema.ts in lib/core loads their validators (a verify never does)', () => {
    const names = readdirSync(new URL('../schemas/', import.meta.url)).filter((f) => f.endsWith('.schema.json'));
    for (const name of SERVICE_SCHEMAS) expect(names, name).to.include(`${name}.schema.json`);
    const core = new URL('../lib/core/', import.meta.url);
    for (const file of readdirSync(core).filter((f) => f.endsWith('.ts') && f !== 'service-schema.ts')) {
      expect(readFileSync(new URL(file, core), 'utf8'), file).not.to.match(/service-(schema|validators)\.js/);
    }
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
