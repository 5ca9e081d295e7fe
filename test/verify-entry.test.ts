// The verify script (cli/verify-entry.ts, which the bin runs for a verify line) answers every line it takes exactly
// as the whole CLI (cli/parser.ts) does, and takes no other: those it hands on, having printed nothing.
import { expect } from 'chai';
import { join } from 'node:path';
import type { Context } from '../cli/context.js';
import { run } from '../cli/parser.js';
import { runVerify } from '../cli/verify-entry.js';

const VECTORS = new URL('../spec/vectors/conformance/', import.meta.url).pathname;
const bundle = (name: string) => join(VECTORS, 'bundles', name);
const POLICY = join(VECTORS, 'documents/policy-v1.json');
const AT = ['--now', '2026-06-01T00:00:00Z'];

function capture(): { ctx: Context; said: () => { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  const ctx: Context = { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`), env: {}, interactive: false, now: new Date(), exitCode: 0 };
  return { ctx, said: () => ({ stdout, stderr }) };
}

async function both(argv: string[]) {
  const fast = capture();
  const whole = capture();
  const fastCode = await runVerify(argv, fast.ctx);
  const wholeCode = await run(argv, whole.ctx);
  return { fast: { code: fastCode, ...fast.said() }, whole: { code: wholeCode, ...whole.said() } };
}

describe('the verify script (cli/verify-entry.ts)', () => {
  const taken: string[][] = [
    ['verify', bundle('a-ok.bundle'), '--policy', POLICY, ...AT],
    ['verify', bundle('a-ok.bundle'), '--policy', POLICY, '--json', ...AT],
    ['verify', bundle('a-ok.bundle'), '--policy', POLICY, '--product', 'drupal', '--component', 'core', '--installed', '10.2.3', ...AT],
    ['verify', bundle('a-ok.bundle'), '--policy', POLICY, '--product', 'drupal', '--component', 'core', '--installed', '10.2.4', '--json', ...AT],
    ['verify', bundle('a-expired.bundle'), '--policy', POLICY, ...AT],
    ['verify', bundle('a-malleated.bundle'), '--policy', POLICY, '--json', ...AT],
    ['verify', bundle('a-archive-truncated.bundle'), '--policy', POLICY, '--debug', ...AT],
    ['verify', join(VECTORS, 'absent.bundle'), '--policy', POLICY, ...AT],
    ['verify', bundle('a-ok.bundle'), '--policy', join(VECTORS, 'absent.json'), '--json'],
    ['verify', bundle('a-ok.bundle'), '--policy', POLICY, '--now', 'not a time'],
    ['verify', bundle('a-ok.bundle'), '--policy', POLICY, '--store', join(VECTORS, 'absent-store'), ...AT],
  ];
  it('answers each line it takes as the whole CLI does: exit code, stdout and stderr (accepted, rejected, and usage or I/O errors)', async () => {
    const codes = new Set<number>();
    for (const argv of taken) {
      const { fast, whole } = await both(argv);
      expect(fast, argv.join(' ')).to.deep.equal(whole);
      codes.add(whole.code);
    }
    expect([...codes].sort()).to.deep.equal([0, 1, 2]);
  });

  it('takes no line it cannot parse directly, nor any other command, and prints nothing for them: the whole CLI answers', async () => {
    for (const argv of [
      ['verify', '--help'],
      ['verify'],
      ['verify', bundle('a-ok.bundle'), '-p', POLICY],
      ['verify', bundle('a-ok.bundle'), '--policy', POLICY, '--policy', POLICY],
      ['verify', bundle('a-ok.bundle'), '--polcy', POLICY],
      ['verify', bundle('a-ok.bundle'), '--passphrase=secret'],
      ['inspect', join(VECTORS, '..', '..', '..', 'keys-example', 'alice.pub')],
      ['--version'],
      [],
    ]) {
      const fast = capture();
      expect(await runVerify(argv, fast.ctx), argv.join(' ')).to.equal(null);
      expect(fast.said(), argv.join(' ')).to.deep.equal({ stdout: '', stderr: '' });
    }
  });
});
