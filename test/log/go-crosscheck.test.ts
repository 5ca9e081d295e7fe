import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toBase64 } from '../../lib/core/bytes.js';
import { inclusionProof, leafHash, subtreeHash } from '../../lib/log/merkle.js';
import { tileContent, tilePath, tilesChanged, tilesOfTree } from '../../lib/log/tiles.js';
import { tempDir } from '../support/tmp.js';
import { MemoryLog } from './support.js';

// Go's own transparency-log code (golang.org/x/mod/sumdb/note and tlog, Debian's golang-golang-x-mod-dev),
// built in GOPATH mode with no network, checks our checkpoint signature, a cosignature, our tiles and our proofs.
const GOPATH = '/usr/share/gocode';
const PROGRAM = fileURLToPath(new URL('./go/crosscheck.go', import.meta.url));
const goEnv = { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOPROXY: 'off', GOCACHE: join(tmpdir(), 'countersign-go-cache'), CGO_ENABLED: '0' };

function goMissing(): string | null {
  const v = spawnSync('go', ['version'], { env: goEnv, encoding: 'utf8' });
  if (v.error || v.status !== 0) return 'go is not installed (apt-get install golang-go golang-golang-x-mod-dev)';
  if (!existsSync(join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog/tlog.go')))
    return `${GOPATH}/src/golang.org/x/mod/sumdb is missing (apt-get install golang-golang-x-mod-dev)`;
  return null;
}

describe('log: cross-check with Go sumdb/note and sumdb/tlog', function () {
  this.timeout(300_000);

  before(function () {
    const missing = goMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
  });

  it('Go verifies our checkpoint signature, a cosignature/v1 line, our tiles (70,000 leaves) and our proofs, and refuses tampered ones', () => {
    const N = 70_000;
    const log = new MemoryLog({ witnesses: 1 });
    for (let i = 0; i < N; i++) log.append(new TextEncoder().encode(`entry ${i}`));
    const root = log.edge.root();
    const dir = tempDir();
    for (const t of tilesOfTree(N).filter((x) => x.level !== 'entries')) {
      const file = join(dir, 'tiles', tilePath(t));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, tileContent(t, log.hashAt));
    }
    writeFileSync(join(dir, 'vkey'), `${log.signer.vkey}\n`);
    writeFileSync(join(dir, 'witness.vkey'), `${log.witnesses[0]!.vkey}\n`);
    writeFileSync(join(dir, 'checkpoint'), log.checkpoint(1_800_000_000, 1));

    const b64 = (hs: Uint8Array[]): string[] => hs.map(toBase64);
    const flip = (h: Uint8Array): Uint8Array => {
      const c = new Uint8Array(h);
      c[5]! ^= 0x20;
      return c;
    };
    const inclusion = [0, 1, 255, 256, 12345, 65535, 65536, 69887, 69888, 69999].flatMap((index) => {
      const proof = inclusionProof(index, N, log.hashAt);
      const leaf = leafHash(log.entries[index]!);
      const entry = toBase64(log.entries[index]!);
      return [
        { index, leaf: toBase64(leaf), entry, proof: b64(proof), want: true },
        { index, leaf: toBase64(leaf), entry: '', proof: b64(proof.map((h, i) => (i === proof.length - 1 ? flip(h) : h))), want: false },
        { index: (index + 1) % N, leaf: toBase64(leaf), entry: '', proof: b64(proof), want: false },
      ];
    });
    const consistency = [1, 2, 3, 255, 256, 257, 4096, 65536, 69999, N].flatMap((m) => {
      const proof = log.consistency(m);
      const rootM = toBase64(subtreeHash(0, m, log.hashAt));
      const bad = [{ m, rootM: toBase64(flip(subtreeHash(0, m, log.hashAt))), proof: b64(proof), want: false }];
      if (proof.length > 0) bad.push({ m, rootM, proof: b64(proof.slice(1)), want: false });
      return [{ m, rootM, proof: b64(proof), want: true }, ...bad];
    });
    const newTiles = (
      [
        [0, 1],
        [0, 256],
        [255, 257],
        [1000, 70000],
        [65535, 65537],
        [69000, 70000],
      ] as const
    ).map(([a, b]) => ({
      old: a,
      new: b,
      paths: tilesChanged(a, b)
        .filter((t) => t.level !== 'entries')
        .map(tilePath),
    }));
    writeFileSync(join(dir, 'cases.json'), JSON.stringify({ size: N, root: toBase64(root), inclusion, consistency, newTiles }));

    const run = spawnSync('go', ['run', PROGRAM, dir], { env: goEnv, encoding: 'utf8', timeout: 280_000 });
    expect(run.status, run.stderr).to.equal(0);
    const result = JSON.parse(run.stdout) as { ok: string[] | null; errors: string[] | null };
    expect(result.errors ?? [], (result.errors ?? []).join('\n')).to.deep.equal([]);
    expect(result.ok).to.include.members(['log signature', 'cosignature', 'tampered checkpoint refused', 'tree hash from tiles']);
    expect(result.ok!.length).to.equal(4 + newTiles.length + inclusion.length + consistency.length);
  });
});
