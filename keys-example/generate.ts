// Regenerates the TEST-ONLY demo keys and the 3-of-5 demo policy: `npx tsx keys-example/generate.ts`.
// Every key here has a published passphrase. Never add these keys to a real policy.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../cli/context.js';
import { run } from '../cli/parser.js';

const here = dirname(fileURLToPath(import.meta.url));
const passphrase = readFileSync(join(here, 'PASSPHRASE-TEST-ONLY'), 'utf8').trim();
const signers = ['alice', 'bob', 'carol', 'dave', 'erin'];

async function countersign(args: string[]): Promise<void> {
  const ctx: Context = {
    out: (t) => process.stdout.write(t + '\n'),
    err: (t) => process.stderr.write(t + '\n'),
    env: { COUNTERSIGN_PASSPHRASE: passphrase },
    interactive: false,
    now: new Date(),
    exitCode: 0,
  };
  if ((await run(args, ctx)) !== 0) throw new Error(`countersign ${args.join(' ')} failed`);
}

for (const name of signers) {
  for (const ext of ['key', 'pub']) rmSync(join(here, `${name}.${ext}`), { force: true });
  const display = `${name[0]!.toUpperCase()}${name.slice(1)} (TEST ONLY) <${name}@example.invalid>`;
  await countersign(['keygen', '--out', join(here, name), '--name', display]);
}
rmSync(join(here, 'policy.json'), { force: true });
await countersign([
  'policy', 'init', '--threshold', '3', ...signers.flatMap((n) => ['--signer', join(here, `${n}.pub`)]),
  '--expires', '2036-01-01T00:00:00Z', '--out', join(here, 'policy.json'),
]);
const sigs: string[] = [];
for (const name of signers.slice(0, 3)) {
  const sig = join(here, `policy.${name}.sig`);
  await countersign(['sign', join(here, 'policy.json'), '--key', join(here, `${name}.key`), '--yes', '--out', sig]);
  sigs.push(sig);
}
await countersign(['assemble', join(here, 'policy.json'), '--policy', join(here, 'policy.json'), '--out', join(here, 'policy.signed.json'), ...sigs]);
sigs.forEach((s) => rmSync(s));
