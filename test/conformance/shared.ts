// The shared vector suite (test/vectors/shared/README.md): the families both verifiers run beyond
// spec/vectors/conformance/, written from this case list. `npm run vectors` writes them with the conformance files;
// test/conformance/shared.test.ts fails when the committed files are stale. Expectations are written here (Wycheproof's
// own verdicts, "a one-bit mutation never verifies", "only the prime-order part is admitted", stores by hand), never
// computed by the implementation under test.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEnvelope } from '../../lib/core/envelope.js';
import { initialState, withInstall, type StoreState } from '../../lib/core/trust-state.js';
import { fixtures, FIXTURE_NOW } from '../attacks/generate.js';
import { mixedOrderKey, signForMixedOrderKey, torsion } from '../support/torsion.js';
import type { Case, Family } from './cases.js';

export const SHARED_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../vectors/shared');
const ED25519_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../vectors/ed25519');
/** Bundles and documents of the conformance set, as seen from SHARED_DIR (reused, not copied). */
const CONFORMANCE = '../../../spec/vectors/conformance';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (text: string) => new Uint8Array(createHash('sha256').update(text).digest());

function wycheproofFamily(): Family {
  type WTest = { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: string };
  const file = JSON.parse(readFileSync(join(ED25519_DIR, 'wycheproof_ed25519_test.json'), 'utf8')) as {
    testGroups: { publicKey: { pk: string }; tests: WTest[] }[];
  };
  const cases: Case[] = file.testGroups.flatMap((g) =>
    g.tests.map((t) => ({
      id: `wycheproof-${t.tcId}`,
      description: `Wycheproof tcId ${t.tcId}: ${t.comment || t.flags.join(', ')}`,
      op: 'verifyStrict',
      publicKey: g.publicKey.pk,
      message: t.msg,
      signature: t.sig,
      expect: 'ok' as const,
      result: t.result === 'valid',
    })),
  );
  return { family: 'ed25519-wycheproof', description: 'Project Wycheproof Ed25519 (test/vectors/ed25519, vendored): its own valid/invalid verdicts', cases };
}

/** RFC 8032 section 7.1 vectors verify; every one-bit mutation of signature, key or message does not. */
function mutatedFamily(): Family {
  const vectors = JSON.parse(readFileSync(join(ED25519_DIR, 'rfc8032.json'), 'utf8')) as Array<{ pub: string; msg: string; sig: string }>;
  const cases: Case[] = [];
  const flip = (h: string, byte: number, bit: number) => {
    const b = Buffer.from(h, 'hex');
    b[byte]! ^= 1 << bit;
    return b.toString('hex');
  };
  vectors.forEach((v, n) => {
    const base = { op: 'verifyStrict', publicKey: v.pub, message: v.msg, signature: v.sig, expect: 'ok' as const };
    cases.push({ ...base, id: `rfc8032-${n + 1}`, description: `RFC 8032 7.1 test ${n + 1} verifies`, result: true });
    for (let byte = 0; byte < 64; byte++) {
      const bit = (byte * 3) % 8;
      cases.push({
        ...base,
        id: `rfc8032-${n + 1}-sig-${byte}-${bit}`,
        description: `test ${n + 1}, signature byte ${byte} bit ${bit} flipped`,
        signature: flip(v.sig, byte, bit),
        result: false,
      });
    }
    for (let byte = 0; byte < 32; byte++) {
      const bit = (byte * 5) % 8;
      cases.push({
        ...base,
        id: `rfc8032-${n + 1}-key-${byte}-${bit}`,
        description: `test ${n + 1}, public key byte ${byte} bit ${bit} flipped`,
        publicKey: flip(v.pub, byte, bit),
        result: false,
      });
    }
    if (v.msg.length > 0)
      cases.push({ ...base, id: `rfc8032-${n + 1}-msg`, description: `test ${n + 1}, message bit 0 flipped`, message: flip(v.msg, 0, 0), result: false });
    cases.push({
      ...base,
      id: `rfc8032-${n + 1}-msg-longer`,
      description: `test ${n + 1}, one byte appended to the message`,
      message: `${v.msg}00`,
      result: false,
    });
  });
  return { family: 'ed25519-mutated', description: 'RFC 8032 vectors and one-bit mutations of their signatures, keys and messages', cases };
}

/** Mixed-order keys A + [j]T8: only j = 0 is admitted, yet libsodium verifies a torsion signature under each; [j]T8 alone never. */
function torsionFamily(): Family {
  const cases: Case[] = [];
  for (let s = 0; s < 3; s++) {
    const seed = sha256(`countersign shared vectors torsion seed ${s}`);
    const message = new TextEncoder().encode(`shared torsion message ${s}`);
    for (let j = 0; j < 8; j++) {
      const key = mixedOrderKey(seed, j);
      cases.push({
        id: `torsion-admit-${s}-${j}`,
        description: `A${s} + [${j}]T8 ${j === 0 ? 'is A itself: admitted' : 'has a torsion part: refused'}`,
        op: 'isStrongPublicKey',
        publicKey: hex(key),
        expect: 'ok',
        result: j === 0,
      });
      if (j === 0) continue;
      const nonce = (attempt: number) => new Uint8Array(createHash('sha512').update(`torsion nonce ${s} ${j} ${attempt}`).digest());
      cases.push({
        id: `torsion-verify-${s}-${j}`,
        description: `a signature by A${s}'s secret for A${s} + [${j}]T8 verifies under libsodium's rules (which is why admission refuses the key)`,
        op: 'verifyStrict',
        publicKey: hex(key),
        message: hex(message),
        signature: hex(signForMixedOrderKey(message, seed, j, nonce)),
        expect: 'ok',
        result: true,
      });
    }
  }
  for (let j = 0; j < 8; j++) {
    cases.push({
      id: `torsion-small-order-${j}`,
      description: `[${j}]T8, of small order, is refused`,
      op: 'isStrongPublicKey',
      publicKey: hex(torsion(j).toBytes()),
      expect: 'ok',
      result: false,
    });
  }
  return { family: 'ed25519-torsion', description: 'mixed-order and small-order keys: verdicts (libsodium) and admission ([L]A = O)', cases };
}

function storeFamily(files: Map<string, Uint8Array>): Family {
  const f = fixtures();
  const now = FIXTURE_NOW;
  const base = initialState(f.policyV1.bytes, [], now);
  const text = (bytes: Uint8Array) => JSON.stringify(openEnvelope(bytes).envelope);
  const store = (name: string, state: StoreState | string) => {
    files.set(`stores/${name}/state.json`, new TextEncoder().encode(typeof state === 'string' ? state : JSON.stringify(state, null, 2) + '\n'));
    return `stores/${name}`;
  };
  const installed = (...specs: Array<[string, string, string]>) => {
    let s = base;
    for (const [product, component, version] of specs) s = withInstall(s, { product, component, version }, [], now).state;
    return s;
  };
  const rotated = (s: StoreState): StoreState => ({ ...s, rotations: [text(f.policyV2.bytes)], highestPolicyVersion: 2 });
  const revoked = (s: StoreState): StoreState => ({
    ...s,
    revocations: [{ envelope: text(f.revocationA.bytes), policyVersion: 1, accepted: '2026-06-01T00:00:00Z' }],
  });
  const bundle = (name: string) => `${CONFORMANCE}/bundles/${name}.bundle`;
  const at = '2026-06-01T00:00:00Z';
  const c = (id: string, description: string, storeDir: string, bundlePath: string, expect: Case['expect']): Case => ({
    id: `store-${id}`,
    description,
    op: 'verifyWithStore',
    store: storeDir,
    bundle: bundlePath,
    now: at,
    expect,
  });
  const core = store('core-10.2.3', installed(['drupal', 'core', '10.2.3']));
  return {
    family: 'store',
    description: 'verification as a site trust store says (spec/trust-store.md): its policy, rotations, revocations and installed versions',
    cases: [
      c('a-ok', 'release A over the 10.2.3 the store records', core, bundle('a-ok'), 'ok'),
      c(
        'a-not-installed',
        'a release for a component the store does not record is WRONG_TARGET',
        store('webform-only', installed(['drupal', 'webform', '6.2.0'])),
        bundle('a-ok'),
        ['WRONG_TARGET'],
      ),
      c(
        'a-highest',
        'the highest version ever installed is a rollback floor',
        store('core-downgraded', installed(['drupal', 'core', '10.2.5'], ['drupal', 'core', '10.2.3'])),
        bundle('a-ok'),
        ['ROLLBACK'],
      ),
      c('b-ok', 'release B over 10.2.4', store('core-10.2.4', installed(['drupal', 'core', '10.2.4'])), bundle('b-ok'), 'ok'),
      c('a-replayed', 'release A again once 10.2.4 is recorded', store('core-10.2.4-again', installed(['drupal', 'core', '10.2.4'])), bundle('a-ok'), [
        'NOT_APPLICABLE',
        'ROLLBACK',
      ]),
      c(
        'a-revoked',
        'a revocation the store accepted refuses release A',
        store('core-revoked', revoked(installed(['drupal', 'core', '10.2.3']))),
        bundle('a-ok'),
        ['REVOKED'],
      ),
      c(
        'c-rotated',
        'release C needs policy 2, which the store has rotated to',
        store('webform-rotated', rotated(installed(['drupal', 'webform', '6.2.0']))),
        bundle('c-ok'),
        'ok',
      ),
      c('c-unrotated', 'release C against a store still on policy 1', store('webform-unrotated', installed(['drupal', 'webform', '6.2.0'])), bundle('c-ok'), [
        'QUORUM_NOT_MET',
        'POLICY_STALE',
      ]),
      c(
        'a-after-rotation',
        'release A was signed under policy 1 only; the rotated store does not count those keys',
        store('core-rotated', rotated(installed(['drupal', 'core', '10.2.3']))),
        bundle('a-after-rotation'),
        ['QUORUM_NOT_MET'],
      ),
      c('policy-v2', 'a signed rotation is verified against the store like any document', core, `${CONFORMANCE}/documents/policy-v2.json`, 'ok'),
      c(
        'corrupt-highest',
        'a store whose highestPolicyVersion is not where its chain ends is STORE_CORRUPT',
        store('corrupt-highest', { ...installed(['drupal', 'core', '10.2.3']), highestPolicyVersion: 2 }),
        bundle('a-ok'),
        ['STORE_CORRUPT'],
      ),
      c('corrupt-json', 'a state.json that is not JSON is STORE_CORRUPT', store('corrupt-json', '{"format": 1,'), bundle('a-ok'), ['STORE_CORRUPT']),
      c(
        'corrupt-installed',
        'an installed version above its highest is STORE_CORRUPT',
        store('corrupt-installed', { ...base, installed: { 'drupal/core': { version: '10.2.4', highest: '10.2.3', updated: at } } }),
        bundle('a-ok'),
        ['STORE_CORRUPT'],
      ),
      c(
        'corrupt-extra-member',
        'a member the schema does not know is STORE_CORRUPT',
        store('corrupt-extra', { ...installed(['drupal', 'core', '10.2.3']), extra: true } as StoreState),
        bundle('a-ok'),
        ['STORE_CORRUPT'],
      ),
      c(
        'corrupt-revocation',
        'a revocation recorded under a policy version the store never trusted is STORE_CORRUPT',
        store('corrupt-revocation', {
          ...revoked(installed(['drupal', 'core', '10.2.3'])),
          revocations: [{ envelope: text(f.revocationA.bytes), policyVersion: 2, accepted: at }],
        }),
        bundle('a-ok'),
        ['STORE_CORRUPT'],
      ),
      c(
        'corrupt-pin',
        'a pinned document that is not a self-signed policy is STORE_CORRUPT',
        store('corrupt-pin', { ...base, pinned: text(f.revocationA.bytes) }),
        bundle('a-ok'),
        ['STORE_CORRUPT'],
      ),
      c('missing', 'no state.json is STORE_MISSING', 'stores/none', bundle('a-ok'), ['STORE_MISSING']),
    ],
  };
}

/** Every file of the shared suite, by path relative to SHARED_DIR, sorted. */
export function sharedVectorFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const families = [wycheproofFamily(), mutatedFamily(), torsionFamily(), storeFamily(files)];
  for (const family of families) files.set(`${family.family}.json`, new TextEncoder().encode(JSON.stringify({ format: 1, ...family }, null, 2) + '\n'));
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
