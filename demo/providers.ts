// `npm run demo -- --providers`: a module developer signs their own releases through the log, and a site verifies one
// offline. A log and two witnesses on loopback (real processes, as in --log); the security team's root policy with a
// registry key and a 5-second activation delay; drupal.org/project/pathauto enrolled by the registry key; its CI key's
// release refused before the delay and logged after it, then verified by a site from the bundle's own map proofs; the
// CI key revoked and the thief's release refused; a release revoked; and the super provider (the root quorum) releasing
// for the provider, verified offline, by a site replaying the log itself, and reported by a monitor.
import { type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { indent, logServeArgs, output, readText, serving, type DemoHelpers } from './log.js';

const P = 'drupal.org/project/pathauto';
const DELAY_SECONDS = 5;

export async function providersDemo(h: DemoHelpers): Promise<void> {
  const { countersign, say, work } = h;
  const dir = join(work, 'providers');
  mkdirSync(dir);
  const at = (name: string) => join(dir, name);
  const key = (name: string) => join(dir, 'keys', `${name}.key`);
  const pub = (name: string) => join(dir, 'keys', `${name}.pub`);
  const member = (name: string) => join(h.keys, `${name}.key`);
  const sample = (version: string) => join(h.root, 'demo', 'sample', `pathauto-${version}`);
  const children: ChildProcess[] = [];
  /** Each signer signs `doc` (the review is shown); returns the partial signatures. */
  const sign = async (doc: string, keys: string[], extra: string[] = []): Promise<string[]> => {
    const sigs: string[] = [];
    for (const k of keys) {
      const sig = `${doc}.${basename(k, '.key')}.sig`;
      await countersign(['sign', doc, '--key', k, '--yes', '--out', sig, ...extra]);
      sigs.push(sig);
    }
    return sigs;
  };
  const build = (out: string, source: string, base: string, version: string, policy: string) =>
    countersign([
      'build',
      '--provider',
      P,
      '--policy',
      policy,
      '--source',
      source,
      '--base',
      base,
      '--product',
      'drupal',
      '--component',
      'pathauto',
      '--version',
      version,
      '--out',
      out,
    ]);
  try {
    say('P1. Providers: a new log and two witnesses, each with its own key');
    for (const k of ['log', 'w1', 'w2', 'registry', 'matt', 'mia', 'ci']) await countersign(['keygen', '--out', join(dir, 'keys', k), '--name', k]);
    const tiles = at('log');
    const logVkey = await output(h, ['log', 'init', '--origin', 'providers.countersign.example/log', '--key', key('log'), '--tiles', tiles]);
    const witnesses: Array<{ name: string; url: string; vkey: string }> = [];
    for (const w of ['w1', 'w2']) {
      const name = `${w}.providers.countersign.example`;
      const [vkey, url] = await serving(
        h,
        children,
        ['witness', 'serve', '--key', key(w), '--name', name, '--listen', '127.0.0.1:0', '--log', logVkey, '--db', `sqlite:${at(`${w}.db`)}`],
        2,
      );
      witnesses.push({ name, url: url!, vkey: vkey! });
    }
    const logPolicy = at('log.policy');
    writeFileSync(
      logPolicy,
      [`log ${logVkey}`, ...witnesses.map((w, i) => `witness w${i + 1} ${w.vkey} ${w.url}`), 'group both all w1 w2', 'quorum both', ''].join('\n'),
    );
    process.stdout.write(`  the log policy that sites and monitors use, ${relative(work, logPolicy)}:\n${indent(readText(logPolicy))}`);

    say(`P2. The security team's root policy: 3 of its 5 members, a registry key that may enrol providers, and a ${DELAY_SECONDS}-second activation delay`);
    process.stdout.write('  (a key a provider adds counts only that long after it is logged, in log time; 24 h in production, so monitors can warn first)\n');
    const rootUnsigned = at('root.json');
    const root = at('root.signed.json');
    await countersign([
      'policy',
      'init',
      '--threshold',
      '3',
      ...['alice', 'bob', 'carol', 'dave', 'erin'].flatMap((m) => ['--signer', join(h.keys, `${m}.pub`)]),
      '--signer',
      pub('registry'),
      '--activation-delay',
      `${DELAY_SECONDS}s`,
      '--registry',
      pub('registry'),
      '--registry-threshold',
      '1',
      '--out',
      rootUnsigned,
    ]);
    const team = ['alice', 'bob', 'carol'].map(member);
    const rootSigs: string[] = [];
    for (const k of team) {
      const sig = `${rootUnsigned}.${basename(k, '.key')}.sig`;
      await countersign(['sign', rootUnsigned, '--key', k, '--yes', '--out', sig]);
      rootSigs.push(sig);
    }
    await countersign(['assemble', rootUnsigned, '--policy', rootUnsigned, '--out', root, ...rootSigs]);
    await countersign(['log', 'add', root, '--tiles', tiles]);
    const [url] = await serving(h, children, logServeArgs(tiles, witnesses));

    say(`P3. A module developer writes ${P}'s own policy: matt and mia (2 of 2) change it, the CI key signs releases (1 of 1: warned about)`);
    const devPolicy = at('pathauto.json');
    await countersign([
      'policy',
      'init',
      '--provider',
      P,
      '--threshold',
      '2',
      ...['matt', 'mia', 'ci'].flatMap((k) => ['--signer', pub(k)]),
      '--admin',
      pub('matt'),
      '--admin',
      pub('mia'),
      '--admin-threshold',
      '2',
      '--release',
      pub('ci'),
      '--release-threshold',
      '1',
      '--out',
      devPolicy,
    ]);

    say('P4. The developer builds release 1.13.0 for the provider, and the CI key signs it (nothing is logged yet)');
    await build(at('release-1.13.0'), sample('1.13.0'), sample('1.12.0'), '1.13.0', devPolicy);
    const manifest = at('release-1.13.0/drupal-1.13.0.manifest.json');
    const ciSigs = await sign(manifest, [key('ci')], ['--archive', at('release-1.13.0/drupal-1.13.0.tar')]);

    say('P5. Enrolment, never trust on first use: the registry key signs the binding of the name to that policy, and the log adds it');
    const enrolment = at('enrol.json');
    const enrolled = at('enrol.signed.json');
    await countersign(['provider', 'enroll', '--provider', P, '--policy', devPolicy, '--root', root, '--out', enrolment]);
    await countersign(['assemble', enrolment, '--policy', root, '--out', enrolled, '--log', url!, ...(await sign(enrolment, [key('registry')]))]);

    say(`P6. Logged at once after the enrolment, the release is refused: the CI key counts only ${DELAY_SECONDS} s of log time after it`);
    const bundle = at('pathauto-1.13.0.bundle');
    await countersign(['assemble', manifest, '--policy', enrolled, '--out', bundle, '--log', url!, ...ciSigs], 1);
    process.stdout.write(`  ... waiting ${DELAY_SECONDS} s ...\n`);
    await new Promise((r) => setTimeout(r, DELAY_SECONDS * 1000 + 500));
    process.stdout.write('  the same signature again: the log now counts the key, logs the release, and the bundle carries its proof and map proofs\n');
    await countersign(['assemble', manifest, '--policy', enrolled, '--out', bundle, '--force', '--log', url!, ...ciSigs]);

    // A site's offline check of a pathauto bundle: it pins only the root policy and the log policy.
    const verifyOffline = (file: string, installed: string): string[] => [
      'verify',
      file,
      '--root',
      root,
      '--log-policy',
      logPolicy,
      '--provider',
      P,
      '--product',
      'drupal',
      '--component',
      'pathauto',
      '--installed',
      installed,
    ];
    say('P7. A site running 1.12.0 verifies it offline, pinning only the root policy and the log policy: logged, cosigned, current keys, not revoked');
    await countersign(verifyOffline(bundle, '1.12.0'));

    say('P8. The CI key leaks: matt and mia revoke it from now on, through the log');
    const revokeKey = at('revoke-ci.json');
    await countersign([
      'revoke',
      '--provider',
      P,
      '--key',
      pub('ci'),
      '--from',
      'now',
      '--reason',
      'CI runner compromised',
      '--policy',
      devPolicy,
      '--out',
      revokeKey,
    ]);
    await countersign([
      'assemble',
      revokeKey,
      '--policy',
      enrolled,
      '--out',
      at('revoke-ci.signed.json'),
      '--log',
      url!,
      ...(await sign(revokeKey, [key('matt'), key('mia')], ['--policy', enrolled])),
    ]);

    say('P9. The thief signs a backdoored 1.13.1 with the leaked key: the signature is valid, but the log refuses it (the key is revoked)');
    const evilSource = at('evil-src');
    cpSync(sample('1.13.1'), evilSource, { recursive: true });
    appendFileSync(join(evilSource, 'pathauto.module'), '\n// a backdoor\n');
    await build(at('evil'), evilSource, sample('1.13.0'), '1.13.1', devPolicy);
    const evilManifest = at('evil/drupal-1.13.1.manifest.json');
    const evil = at('evil.bundle');
    const evilSigs = await sign(evilManifest, [key('ci')], ['--archive', at('evil/drupal-1.13.1.tar')]);
    await countersign(['assemble', evilManifest, '--policy', enrolled, '--out', evil, '--log', url!, ...evilSigs], 1);
    process.stdout.write('  a site offered that bundle anyway refuses it: it is not in the log\n');
    await countersign(['verify', evil, '--root', root, '--log-policy', logPolicy, '--provider', P, '--installed', '1.13.0'], 1);

    say('P10. 1.13.0 turns out to break aliases: the admins revoke the release; no fresh proof of it can be made any more');
    const revokeRelease = at('revoke-1.13.0.json');
    await countersign([
      'revoke',
      '--provider',
      P,
      '--product',
      'drupal',
      '--component',
      'pathauto',
      '--version',
      '1.13.0',
      '--reason',
      'breaks aliases with emoji',
      '--out',
      revokeRelease,
    ]);
    await countersign([
      'assemble',
      revokeRelease,
      '--policy',
      enrolled,
      '--out',
      at('revoke-1.13.0.signed.json'),
      '--log',
      url!,
      ...(await sign(revokeRelease, [key('matt'), key('mia')])),
    ]);
    await countersign(['log', 'prove', bundle, '--log', url!, '--out', at('pathauto-1.13.0.fresh.bundle')], 1);

    say('P11. The developer has no release key left; the super provider (the root quorum, never one key) signs the fixed 1.13.1 for them');
    await build(at('release-1.13.1'), sample('1.13.1'), sample('1.13.0'), '1.13.1', devPolicy);
    const fixed = at('release-1.13.1/drupal-1.13.1.manifest.json');
    const fixedBundle = at('pathauto-1.13.1.bundle');
    const rootSigned = await sign(fixed, team, ['--archive', at('release-1.13.1/drupal-1.13.1.tar')]);
    await countersign(['assemble', fixed, '--policy', root, '--out', fixedBundle, '--log', url!, ...rootSigned]);
    process.stdout.write("  a site verifies it offline: accepted, and it says who signed (the super provider, not the developer's keys)\n");
    await countersign(verifyOffline(fixedBundle, '1.13.0'));

    say('P12. Local trust: a site replays the whole log into its own trust store, with proofs, and verifies from that state');
    const store = at('site-store');
    await countersign(['trust', 'init', '--store', store, '--policy', root, '--log-policy', logPolicy, '--installed', 'drupal/pathauto=1.13.0']);
    await countersign(['log', 'sync', '--store', store, '--log', url!]);
    await countersign(['verify', fixedBundle, '--store', store, '--provider', P]);

    say("P13. The developer's monitor reports every entry touching their keys, and every act of the super provider");
    await countersign(['log', 'monitor', '--log', url!, '--log-policy', logPolicy, '--state', at('monitor'), '--watch-key', pub('matt'), '--once']);
  } finally {
    await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(undefined) : c.once('exit', resolve).kill('SIGTERM')))));
  }
}
