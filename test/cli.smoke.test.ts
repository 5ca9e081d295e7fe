import { expect } from 'chai';
import { runCli } from './support/cli.js';

describe('cli smoke', () => {
  it('--help explains every command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).to.equal(0);
    for (const c of ['keygen', 'policy', 'build', 'sign', 'assemble', 'verify', 'inspect']) expect(r.stdout).to.contain(c);
  });
});
