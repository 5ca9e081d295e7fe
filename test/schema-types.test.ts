// Hand-written types kept beside the generated ones (lib/core/generated/types.ts) because they are
// deliberately narrower or shaped for the code: each is checked here against its schema's type, by tsc
// (`npm run typecheck`), so a schema change that they do not follow fails to compile.
import { expect } from 'chai';
import type * as generated from '../lib/core/generated/types.js';
import type { JournalBegin, JournalStep } from '../lib/installer/journal.js';
import type { FileMode } from '../lib/core/paths.js';
import type { Risk } from '../lib/core/risk.js';
import type { SiteState } from '../lib/core/manifest.js';
import type { Case, Family } from './conformance/cases.js';

/** true when A and B are mutually assignable; false otherwise (and then `true satisfies` does not compile). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** true when A is assignable to B. */
type Fits<A, B> = [A] extends [B] ? true : false;

type StepRecord = Extract<generated.JournalRecord, { t: 'step' }>;
type FileOp = generated.Manifest['files'][number];

const checks = {
  risk: true satisfies Same<Risk, NonNullable<generated.Manifest['risk']>>,
  fileMode: true satisfies Same<FileMode, Extract<FileOp, { op: 'add' }>['mode']>,
  siteState: true satisfies Same<SiteState, generated.ConformanceVectorsSite>,
  // The begin record read back has format 1 (checked in code); otherwise it is the schema's.
  journalBegin: true satisfies Same<JournalBegin, Omit<generated.JournalRecordBegin, 'format'> & { format: 1 }>,
  journalBeginFits: true satisfies Fits<JournalBegin, generated.JournalRecordBegin>,
  journalStep: true satisfies Same<JournalStep & { t: 'step'; n: number }, StepRecord>,
  // The vector generator's loose Case (any input by name) accepts every case the schema does.
  conformanceCase: true satisfies Fits<generated.ConformanceVectorsCase, Case>,
  conformanceFamily: true satisfies Fits<Omit<generated.ConformanceVectors, 'format'>, Family>,
};

describe('schema types', () => {
  it('hand-written document types match the generated schema types (checked by tsc)', () => {
    expect(Object.values(checks).every((ok) => ok)).to.equal(true);
  });
});
