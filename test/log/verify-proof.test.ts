import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { toBase64 } from '../../lib/core/bytes.js';
import { formatCheckpoint } from '../../lib/log/checkpoint.js';
import { entryForEnvelope } from '../../lib/log/entry.js';
import { emptyRoot } from '../../lib/log/merkle.js';
import { ed25519Signer, formatNote, parseNote, signNote } from '../../lib/log/note.js';
import { formatProof, parseProof } from '../../lib/log/proof.js';
import { logForOrigin, parseTlogPolicy, quorumMet } from '../../lib/log/tlog-policy.js';
import { DEFAULT_MAX_AGE_SECONDS, verifyLogProof, type ProofCheckInput } from '../../lib/log/verify-proof.js';
import { envelopeBytes, makePolicy, makeRelease, manifestEnvelope, signedBy } from '../support/fixtures.js';
import { LOG_NAME, MemoryLog } from './support.js';
import { codeOf as code } from '../support/codes.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const T = 1_800_000_000; // the cosignature time of the fixtures
const NOW = new Date((T + 60) * 1000);

describe('log/proof: C2SP tlog-proof', () => {
  it('the worked example: index 2 of size 3 with its one-hash proof, formatted and parsed back exactly', () => {
    const log = new MemoryLog({ witnesses: 0 });
    for (const e of ['entry-0', 'entry-1', 'entry-2']) log.append(new TextEncoder().encode(e));
    const checkpoint = log.checkpoint(T);
    const text = log.proof(2, checkpoint, false);
    expect(text).to.equal(`c2sp.org/tlog-proof@v1\nindex 2\nLyelCCwdQq+kiKw1Cp/EOQwIT1T3Hs3/hZ6Y24QptHk=\n\n${checkpoint}`);
    const p = parseProof(text);
    expect(p.index).to.equal(2);
    expect(p.proof.map(toBase64)).to.deep.equal(['LyelCCwdQq+kiKw1Cp/EOQwIT1T3Hs3/hZ6Y24QptHk=']);
    expect(formatProof(p)).to.equal(text);
    const withExtra = log.proof(0, checkpoint);
    expect(withExtra.split('\n')[1]).to.equal(`extra ${toBase64(new TextEncoder().encode('entry-0'))}`);
    expect(formatProof(parseProof(withExtra))).to.equal(withExtra);
  });

  it('refuses every other spelling (BAD_PROOF)', () => {
    const log = new MemoryLog({ witnesses: 0 });
    for (const e of ['a', 'b', 'c']) log.append(new TextEncoder().encode(e));
    const good = log.proof(1, log.checkpoint(T));
    for (const [why, text] of [
      ['other header', good.replace('tlog-proof@v1', 'tlog-proof@v2')],
      ['no index', good.replace(/index 1\n/, '')],
      ['leading zero', good.replace('index 1', 'index 01')],
      ['negative', good.replace('index 1', 'index -1')],
      ['extra after index', good.replace(/^(.*)\n(extra .*)\n(index 1)\n/, '$1\n$3\n$2\n')],
      ['empty extra', good.replace(/extra .*\n/, 'extra \n')],
      ['short hash', good.replace(/\n([A-Za-z0-9+/]{43}=)\n/, '\nAAAA\n')],
      ['no blank line', good.replace('\n\n', '\n')],
      // The last character of a 32-byte hash carries 4 bits and 2 zero bits; setting one of those is a second spelling.
      ['non-canonical base64', good.replace(/\n([A-Za-z0-9+/]{42})([A-Za-z0-9+/])=\n/, (_m, a: string, b: string) => `\n${a}${B64[B64.indexOf(b) | 1]}=\n`)],
    ] as const) {
      expect(text, why).to.not.equal(good);
      expect(
        code(() => parseProof(text)),
        why,
      ).to.be.oneOf(['BAD_PROOF']);
    }
    expect(code(() => parseProof(good.replace(/\n\n[^]*$/, '\n\nnot a checkpoint\n')))).to.be.oneOf(['BAD_NOTE', 'BAD_CHECKPOINT']);
    expect(code(() => parseProof(new Uint8Array([...Buffer.from(good.slice(0, 30)), 0xff, ...Buffer.from(good.slice(30))])))).to.equal('BAD_PROOF');
  });
});

describe('log/tlog-policy: C2SP tlog-policy', () => {
  const log = new MemoryLog({ witnesses: 6 });
  const [x1, x2, x3, y1, y2, y3] = log.witnesses.map((w) => w.vkey);

  it('parses the spec example (two-level groups) and evaluates its quorum', () => {
    const policy = parseTlogPolicy(
      [
        `log ${log.signer.vkey} https://log.example/`,
        '',
        `witness X1 ${x1}`,
        `witness X2 ${x2}`,
        `  witness X3\t${x3}   `,
        'group X-witnesses 2 X1 X2 X3',
        '# comment',
        `witness Y1 ${y1}`,
        `witness Y2 ${y2}`,
        `witness Y3 ${y3}`,
        'group Y-witnesses any Y1 Y2 Y3',
        '',
        'group X-and-Y all X-witnesses Y-witnesses',
        'quorum X-and-Y',
      ].join('\n'),
    );
    expect(policy.logs[0]!.url).to.equal('https://log.example/');
    expect(logForOrigin(policy, LOG_NAME)).to.equal(policy.logs[0]);
    expect(policy.groups.get('X-witnesses')!.threshold).to.equal(2);
    const met = (...names: string[]): boolean => quorumMet(policy, new Set(names));
    expect(met('X1', 'X2', 'Y3')).to.equal(true);
    expect(met('X1', 'Y1', 'Y2', 'Y3'), 'one X short').to.equal(false);
    expect(met('X1', 'X2', 'X3'), 'no Y').to.equal(false);
    expect(quorumMet(parseTlogPolicy(`log ${log.signer.vkey}\nquorum none\n`), new Set())).to.equal(true);
  });

  it('refuses every rule broken (BAD_LOG_POLICY)', () => {
    const lv = log.signer.vkey;
    for (const [why, text] of [
      ['no quorum', `log ${lv}\n`],
      ['two quorums', `log ${lv}\nquorum none\nquorum none\n`],
      ['undefined quorum', `log ${lv}\nquorum W\n`],
      ['forward reference', `log ${lv}\ngroup G any W1\nwitness W1 ${x1}\nquorum G\n`],
      ['member twice', `witness W1 ${x1}\nwitness W2 ${x2}\ngroup G any W1 W1\nquorum G\n`],
      ['k above n', `witness W1 ${x1}\ngroup G 2 W1\nquorum G\n`],
      ['k zero', `witness W1 ${x1}\ngroup G 0 W1\nquorum G\n`],
      ['k leading zero', `witness W1 ${x1}\ngroup G 01 W1\nquorum G\n`],
      ['no member', `witness W1 ${x1}\ngroup G any\nquorum G\n`],
      ['none as member', `witness W1 ${x1}\ngroup G any none\nquorum G\n`],
      ['none as a name', `witness none ${x1}\nquorum none\n`],
      ['name defined twice', `witness W1 ${x1}\nwitness W1 ${x2}\nquorum W1\n`],
      ['group named like a witness', `witness W1 ${x1}\ngroup W1 any W1\nquorum W1\n`],
      ['duplicate witness key', `witness W1 ${x1}\nwitness W2 ${x1.replace(/^[^+]*/, 'other.name').replace(/\+[0-9a-f]{8}\+/, '+00000000+')}\nquorum W1\n`],
      ['duplicate log', `log ${lv}\nlog ${lv}\nquorum none\n`],
      ['log key as witness key type', `log ${x1}\nquorum none\n`],
      ['witness key of log type', `witness W1 ${lv}\nquorum W1\n`],
      ['unknown keyword', `log ${lv}\nlogs ${lv}\nquorum none\n`],
      ['control byte', `log ${lv}\r\nquorum none\n`],
      ['bad vkey', `log ${lv.slice(0, -2)}\nquorum none\n`],
      ['extra item', `log ${lv} url extra\nquorum none\n`],
    ] as const) {
      expect(
        code(() => parseTlogPolicy(text)),
        why,
      ).to.equal('BAD_LOG_POLICY');
    }
    // A name that is not UTF-8 is refused, never decoded with U+FFFD: its key id is computed here over the replaced name.
    const key = lv.split('+')[2]!;
    const replaced = Buffer.concat([Buffer.from('a\uFFFDb\n'), Buffer.from(key, 'base64')]);
    const id = createHash('sha256').update(replaced).digest('hex').slice(0, 8);
    const notUtf8 = Buffer.concat([Buffer.from('log a'), Buffer.from([0xff]), Buffer.from(`b+${id}+${key}\nquorum none\n`)]);
    expect(
      code(() => parseTlogPolicy(notUtf8)),
      'name not UTF-8',
    ).to.equal('BAD_LOG_POLICY');
  });
});

describe('log/verify-proof: a site checks a bundle is logged, in order, each refusal with its code', () => {
  const team = makePolicy(3, 2);
  const release = makeRelease();
  const bundle = envelopeBytes(signedBy(release.envelope, team.signers.slice(0, 2)));
  const other = envelopeBytes(signedBy(manifestEnvelope({ ...release.manifest, version: '10.2.5' }), team.signers.slice(0, 2)));

  function setup(): { log: MemoryLog; index: number; base: ProofCheckInput; checkpoint: string } {
    const log = new MemoryLog();
    log.append(entryForEnvelope(envelopeBytes(team.signed)));
    const index = log.append(entryForEnvelope(bundle));
    log.append(entryForEnvelope(other));
    const checkpoint = log.checkpoint(T);
    return { log, index, checkpoint, base: { envelopeBytes: bundle, proof: log.proof(index, checkpoint), policy: parseTlogPolicy(log.policy(2)), now: NOW } };
  }

  it('accepts a logged bundle: entry, inclusion, log signature, 2-of-3 fresh cosignatures', () => {
    const { base, index, checkpoint: cp } = setup();
    const r = verifyLogProof(base);
    expect(r.index).to.equal(index);
    expect(r.witnesses).to.deep.equal(['W1', 'W2', 'W3']);
    expect(r.cosigned).to.deep.equal({ oldest: T, newest: T });
    expect(r.consistency).to.equal('first');
    expect(r.newLargest).to.equal(cp);
    // Without the extra line the entry is rebuilt from the bundle.
    const { log, checkpoint } = setup();
    expect(verifyLogProof({ ...base, proof: log.proof(index, checkpoint, false) }).index).to.equal(index);
  });

  it('a bundle without a proof is NOT_LOGGED; a release missing from the log has no proof to give', () => {
    const { base } = setup();
    expect(code(() => verifyLogProof({ ...base, proof: undefined }))).to.equal('NOT_LOGGED');
  });

  it('a proof for another entry: LOG_ENTRY_MISMATCH (its extra is another document), BAD_PROOF (no extra, another index)', () => {
    const { base, log, checkpoint } = setup();
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(2, checkpoint) }))).to.equal('LOG_ENTRY_MISMATCH');
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(2, checkpoint, false) }))).to.equal('BAD_PROOF');
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(1, checkpoint).replace('index 1', 'index 2') }))).to.equal('BAD_PROOF');
  });

  it('another origin is BAD_CHECKPOINT; a checkpoint signed by another key is BAD_NOTE', () => {
    const { base, log, index } = setup();
    const otherOrigin = log.checkpoint(T, 3, 'evil.example/log');
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(index, otherOrigin) }))).to.equal('BAD_CHECKPOINT');
    const cp = parseNote(log.checkpoint(T));
    const forged = signNote(cp.text, [ed25519Signer(LOG_NAME, new Uint8Array(32).fill(9))]);
    const withCosigs = formatNote({ text: cp.text, signatures: [...parseNote(forged).signatures, ...cp.signatures.slice(1)] });
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(index, withCosigs) }))).to.equal('BAD_NOTE');
  });

  it('a witness quorum one short is WITNESS_QUORUM_NOT_MET; a bad known cosignature is BAD_NOTE; future cosignatures do not count', () => {
    const { base, log, index } = setup();
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(index, log.checkpoint(T, 1)) }))).to.equal('WITNESS_QUORUM_NOT_MET');
    expect(verifyLogProof({ ...base, proof: log.proof(index, log.checkpoint(T, 2)) }).witnesses).to.deep.equal(['W1', 'W2']);
    // A cosignature by a key the policy does not list is ignored, so it cannot make up the quorum.
    const stranger = new MemoryLog({ witnesses: 3 });
    const cp = parseNote(log.checkpoint(T, 1));
    const foreign = formatNote({
      text: cp.text,
      signatures: [...cp.signatures, stranger.witnesses[2]!.cosign(cp.text, T)].map((s, i) => (i === 2 ? { ...s, line: s.line.replace('w3', 'w9') } : s)),
    });
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(index, foreign) }))).to.equal('WITNESS_QUORUM_NOT_MET');
    // A flipped character inside W2's signature bytes (past its key id and timestamp).
    const broken = log.checkpoint(T, 3).replace(/(— witness\.example\/w2 .{40})(.)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(index, broken) }))).to.equal('BAD_NOTE');
    const future = T + 3600;
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(index, log.checkpoint(future, 3)) }))).to.equal('WITNESS_QUORUM_NOT_MET');
  });

  it('a stale checkpoint is CHECKPOINT_STALE (default max-age 7 days, or --max-age)', () => {
    const { base, log, index } = setup();
    const old = log.checkpoint(T - DEFAULT_MAX_AGE_SECONDS - 61);
    expect(code(() => verifyLogProof({ ...base, proof: log.proof(index, old) }))).to.equal('CHECKPOINT_STALE');
    expect(verifyLogProof({ ...base, proof: log.proof(index, old), maxAgeSeconds: 30 * 86400 }).index).to.equal(index);
    expect(code(() => verifyLogProof({ ...base, maxAgeSeconds: 30 }))).to.equal('CHECKPOINT_STALE');
  });

  it('a log rolled back to a smaller size is LOG_INCONSISTENT, with both checkpoints as evidence', () => {
    const { base, log, index } = setup();
    const small = log.checkpoint(T);
    log.append(new TextEncoder().encode('later'));
    const large = log.checkpoint(T);
    let err: { code?: string; details?: Record<string, unknown> } = {};
    try {
      verifyLogProof({ ...base, proof: formatProof({ ...parseProof(base.proof as string), checkpoint: small }), largestSeen: large });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).to.equal('LOG_INCONSISTENT');
    expect(err.details).to.deep.include({ seen: large, presented: small, kind: 'rollback' });
    void index;
  });

  it('a forked log is LOG_INCONSISTENT: same size another root, or a larger tree inconsistent with the one seen', () => {
    const { base, log, index } = setup();
    const fork = new MemoryLog();
    for (const e of log.entries.slice(0, 2)) fork.append(e);
    fork.append(new TextEncoder().encode('a different third entry'));
    const forkCp = fork.checkpoint(T);
    expect(code(() => verifyLogProof({ ...base, largestSeen: forkCp }))).to.equal('LOG_INCONSISTENT');
    // Sizes 3 (fork) -> 4 (main): the consistency proof from the main tree cannot prove the fork's root.
    log.append(new TextEncoder().encode('fourth'));
    const cp4 = log.checkpoint(T);
    const input = { ...base, proof: log.proof(index, cp4), largestSeen: forkCp, consistency: log.consistency(3) };
    expect(code(() => verifyLogProof(input))).to.equal('LOG_INCONSISTENT');
  });

  it('against the largest seen: same checkpoint, a proved extension, an unchecked one (offline), the empty tree', () => {
    const { base, log, index, checkpoint } = setup();
    expect(verifyLogProof({ ...base, largestSeen: checkpoint })).to.deep.include({ consistency: 'same' });
    expect(verifyLogProof({ ...base, largestSeen: checkpoint }).newLargest).to.equal(undefined);
    const small = new MemoryLog();
    small.append(log.entries[0]!);
    const seen = small.checkpoint(T);
    log.append(new TextEncoder().encode('x'));
    const cp = log.checkpoint(T);
    const proof = log.proof(index, cp);
    const proved = verifyLogProof({ ...base, proof, largestSeen: seen, consistency: log.consistency(1) });
    expect(proved.consistency).to.equal('proved');
    expect(proved.newLargest).to.equal(cp);
    const unchecked = verifyLogProof({ ...base, proof, largestSeen: seen });
    expect(unchecked.consistency).to.equal('unchecked');
    expect(unchecked.newLargest, 'an unproved checkpoint is never the new largest').to.equal(undefined);
    const empty = signNote(formatCheckpoint({ origin: LOG_NAME, size: 0, root: emptyRoot(), extensions: [] }), [log.signer]);
    expect(verifyLogProof({ ...base, proof, largestSeen: empty }).consistency).to.equal('proved');
    const badEmpty = signNote(formatCheckpoint({ origin: LOG_NAME, size: 0, root: new Uint8Array(32), extensions: [] }), [log.signer]);
    expect(code(() => verifyLogProof({ ...base, proof, largestSeen: badEmpty }))).to.equal('LOG_INCONSISTENT');
  });

  it('a policy with no log is BAD_LOG_POLICY', () => {
    const { base } = setup();
    expect(code(() => verifyLogProof({ ...base, policy: parseTlogPolicy('quorum none\n') }))).to.equal('BAD_LOG_POLICY');
  });
});
