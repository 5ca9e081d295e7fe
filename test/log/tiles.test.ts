import { expect } from 'chai';
import { toHex } from '../../lib/core/bytes.js';
import { consistencyProof, inclusionProof, leafHash, nodesRead, TreeEdge, verifyConsistency, verifyInclusion, type HashAt } from '../../lib/log/merkle.js';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  formatTileIndex,
  hashAtFromTiles,
  parseTilePath,
  tileContent,
  tilePath,
  tilesChanged,
  tilesFor,
  tilesOfTree,
  tileWidth,
  type TileRef,
} from '../../lib/log/tiles.js';
import { codeOf as code } from '../support/codes.js';

/** A tree of `n` leaves with every complete subtree kept, built with TreeEdge (as a sequencer does). */
function grow(n: number): { hashAt: HashAt; edge: TreeEdge; leaves: Uint8Array[] } {
  const nodes = new Map<string, Uint8Array>();
  const edge = new TreeEdge();
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const leaf = leafHash(new TextEncoder().encode(`entry-${i}`));
    leaves.push(leaf);
    for (const node of edge.append(leaf)) nodes.set(`${node.level}/${node.index}`, node.hash);
  }
  return {
    edge,
    leaves,
    hashAt: (level, index) => {
      const h = nodes.get(`${level}/${index}`);
      if (!h) throw new RangeError(`no node ${level}/${index}`);
      return h;
    },
  };
}

describe('log/tiles: C2SP tlog-tiles paths', () => {
  it('N in x-prefixed 3-digit groups (the spec example 1234067 -> x001/x234/067)', () => {
    expect(formatTileIndex(1234067)).to.equal('x001/x234/067');
    expect(formatTileIndex(0)).to.equal('000');
    expect(formatTileIndex(999)).to.equal('999');
    expect(formatTileIndex(1000)).to.equal('x001/000');
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).to.equal('tile/0/x001/x234/067');
    expect(tilePath({ level: 2, index: 5, width: 17 })).to.equal('tile/2/005.p/17');
    expect(tilePath({ level: 'entries', index: 1000, width: 3 })).to.equal('tile/entries/x001/000.p/3');
  });

  it('parseTilePath reads back every path it writes and refuses second spellings', () => {
    for (const t of [
      { level: 0, index: 0, width: 256 },
      { level: 63, index: 1234067, width: 1 },
      { level: 'entries', index: 999999, width: 255 },
    ] as TileRef[]) {
      expect(parseTilePath(tilePath(t))).to.deep.equal(t);
    }
    for (const p of [
      'tile/0/x000/001',
      'tile/0/1',
      'tile/0/0001',
      'tile/00/001',
      'tile/64/001',
      'tile/0/001.p/256',
      'tile/0/001.p/0',
      'tile/0/001.p/017',
      'tile/0/x001',
      'tile/0/001/',
      '/tile/0/001',
      'tile/0/../001',
      'tile/0/001.p/',
      'tile/x/001',
    ]) {
      expect(parseTilePath(p), p).to.equal(null);
    }
  });

  it('the tiles of a tree of size 70,000 are the spec example (273 full + 112; 1 full + 17; 1 at level 2)', () => {
    const tiles = tilesOfTree(70000).filter((t) => t.level !== 'entries');
    const at = (l: number): TileRef[] => tiles.filter((t) => t.level === l);
    expect(at(0).filter((t) => t.width === 256)).to.have.length(273);
    expect(at(0).filter((t) => t.width !== 256)).to.deep.equal([{ level: 0, index: 273, width: 112 }]);
    expect(at(1)).to.deep.equal([
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(at(2)).to.deep.equal([{ level: 2, index: 0, width: 1 }]);
    expect(tiles).to.have.length(273 + 1 + 2 + 1);
    // size 256: one full level-0 tile and a partial level-1 tile of width 1.
    expect(tilesOfTree(256).filter((t) => t.level !== 'entries')).to.deep.equal([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tileWidth(70000, 3, 0)).to.equal(0);
  });

  it('tilesChanged lists what a publisher writes when the tree grows (entry bundles beside level 0)', () => {
    expect(tilesChanged(3, 5)).to.deep.equal([
      { level: 0, index: 0, width: 5 },
      { level: 'entries', index: 0, width: 5 },
    ]);
    expect(tilesChanged(255, 257).map(tilePath)).to.deep.equal(['tile/0/000', 'tile/entries/000', 'tile/0/001.p/1', 'tile/entries/001.p/1', 'tile/1/000.p/1']);
    expect(tilesChanged(256, 256)).to.deep.equal([]);
  });
});

describe('log/tiles: hashes and proofs read from tiles', () => {
  const N = 70000;
  const tree = grow(N);

  it('every proof built through tiles equals the proof built from the tree, and verifies', () => {
    const root = tree.edge.root();
    const tiles = new Map(
      tilesOfTree(N)
        .filter((t) => t.level !== 'entries')
        .map((t) => [tilePath(t), tileContent(t, tree.hashAt)]),
    );
    let reads = 0;
    const fromTiles = hashAtFromTiles(N, (t) => {
      reads++;
      return tiles.get(tilePath(t))!;
    });
    for (const index of [0, 1, 255, 256, 65535, 65536, 69887, 69888, 69999, 12345]) {
      const proof = inclusionProof(index, N, fromTiles);
      expect(proof.map(toHex)).to.deep.equal(inclusionProof(index, N, tree.hashAt).map(toHex));
      verifyInclusion(tree.leaves[index]!, index, N, proof, root);
    }
    for (const m of [1, 256, 257, 65536, 69999]) {
      const proof = consistencyProof(m, N, fromTiles);
      expect(proof.map(toHex)).to.deep.equal(consistencyProof(m, N, tree.hashAt).map(toHex));
      const rm = (() => {
        const e = grow(0).edge;
        for (let i = 0; i < m; i++) e.append(tree.leaves[i]!);
        return e.root();
      })();
      verifyConsistency(m, N, rm, root, proof);
    }
    expect(reads).to.be.greaterThan(0);
  });

  it('tilesFor names exactly the tiles a proof reads (a reader can prefetch them)', () => {
    const nodes = nodesRead((at) => inclusionProof(12345, N, at));
    const wanted = tilesFor(N, nodes).map(tilePath).sort();
    const read = new Set<string>();
    const tiles = new Map(
      tilesOfTree(N)
        .filter((t) => t.level !== 'entries')
        .map((t) => [tilePath(t), tileContent(t, tree.hashAt)]),
    );
    inclusionProof(
      12345,
      N,
      hashAtFromTiles(N, (t) => {
        read.add(tilePath(t));
        return tiles.get(tilePath(t))!;
      }),
    );
    expect([...read].sort()).to.deep.equal(wanted);
    expect(wanted).to.include('tile/0/048');
    expect(wanted).to.include('tile/0/273.p/112');
  });

  it('a tile of the wrong length, or a hash outside the tree, is refused (BAD_PROOF)', () => {
    const short = hashAtFromTiles(N, (t) => new Uint8Array(t.width * 32 - 1));
    expect(code(() => short(0, 0))).to.equal('BAD_PROOF');
    const any = hashAtFromTiles(N, (t) => new Uint8Array(t.width * 32));
    expect(code(() => any(0, N))).to.equal('BAD_PROOF');
    expect(code(() => any(8, 273))).to.equal('BAD_PROOF');
  });
});

describe('log/tiles: entry bundles', () => {
  it('the worked example bundle: entry-0, entry-1, entry-2 with u16 big-endian lengths', () => {
    const entries = ['entry-0', 'entry-1', 'entry-2'].map((e) => new TextEncoder().encode(e));
    const bundle = encodeEntryBundle(entries);
    expect(toHex(bundle)).to.equal('0007656e7472792d30' + '0007656e7472792d31' + '0007656e7472792d32');
    expect(decodeEntryBundle(bundle, 3).map((e) => new TextDecoder().decode(e))).to.deep.equal(['entry-0', 'entry-1', 'entry-2']);
  });

  it('refuses a truncated bundle, the wrong count, and entries over 65,535 bytes (ENTRY_INVALID)', () => {
    const bundle = encodeEntryBundle([new Uint8Array(300), new Uint8Array(0)]);
    expect(decodeEntryBundle(bundle).map((e) => e.length)).to.deep.equal([300, 0]);
    expect(code(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1)))).to.equal('ENTRY_INVALID');
    expect(code(() => decodeEntryBundle(bundle.subarray(0, 1)))).to.equal('ENTRY_INVALID');
    expect(code(() => decodeEntryBundle(bundle.subarray(0, 100)))).to.equal('ENTRY_INVALID');
    expect(code(() => decodeEntryBundle(bundle, 3))).to.equal('ENTRY_INVALID');
    expect(code(() => encodeEntryBundle([new Uint8Array(65536)]))).to.equal('ENTRY_INVALID');
    expect(encodeEntryBundle([new Uint8Array(65535)]).length).to.equal(65537);
  });
});
