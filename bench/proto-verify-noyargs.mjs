// PROTOTYPE for the bench only (not project code): `countersign verify BUNDLE --policy POLICY`
// without yargs and without loading the other commands, calling the same lib functions as
// cli/verify.ts (success path only; any failure just throws). It sizes what a yargs-free fast path
// in cli/main.ts would save on start-up.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readBundleFile } from '../dist/lib/bundle-file.js';
import { loadTrustedPolicy } from '../dist/lib/policy.js';
import { verifyBundle } from '../dist/lib/verify.js';

const { positionals, values } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { policy: { type: 'string' } } });
if (positionals[0] !== 'verify' || !positionals[1] || !values.policy) throw new Error('usage: proto-verify-noyargs.mjs verify BUNDLE --policy POLICY');
const now = new Date();
const trusted = loadTrustedPolicy(new Uint8Array(readFileSync(values.policy)), now, values.policy);
const verified = await verifyBundle(await readBundleFile(positionals[1]), { trusted, now, site: {} });
const m = verified.document.manifest;
process.stdout.write(`OK: ${m.product} ${m.component} ${m.version}\nSigned by ${verified.quorum.signedBy.length} of ${verified.quorum.threshold} required\n`);
