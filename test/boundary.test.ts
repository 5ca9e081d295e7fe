import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

// The architecture as a test: lib/core/ is pure (no file system, network or processes) and self-contained,
// and nothing in lib/ or cli/ imports in a circle. Imports are read with a regex; no dependency needed.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CORE = 'lib/core/';
// The transparency log's pure modules (spec/log.md): proof and note verification do no I/O, so they are held to
// lib/core's rules and may import only lib/core/ and each other. The edges (sequencer, tile reader, server) are not listed.
const PURE_LOG = [
  'errors',
  'merkle',
  'note',
  'checkpoint',
  'cosignature',
  'tiles',
  'entry',
  'proof',
  'tlog-policy',
  'verify-proof',
  'map',
  'state-records',
  'provider-state',
  'replay',
  'state-proof',
  'verify-provider',
].map((n) => `lib/log/${n}.ts`);
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|dns|dns\/promises|http|https|http2|child_process|worker_threads)$/;
const SPECIFIER = /(?:^|[\s;{}])(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = posix.join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return /\.ts$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every import of `file`: relative ones resolved to a repository path (.js -> .ts), others as written. */
function importsOf(file: string, text: string): { spec: string; target: string | null }[] {
  return [...text.matchAll(SPECIFIER)].map((m) => {
    const spec = (m[1] ?? m[2])!;
    if (!spec.startsWith('.')) return { spec, target: null };
    return { spec, target: posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts') };
  });
}

type Graph = Map<string, { spec: string; target: string | null }[]>;

function loadGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of [...sources('lib'), ...sources('cli')]) graph.set(file, importsOf(file, readFileSync(join(ROOT, file), 'utf8')));
  return graph;
}

/** Each cycle found by a depth-first walk, as the path of files around it. */
function cyclesOf(edges: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('layout boundary (lib/core is pure; no import cycles)', () => {
  const graph = loadGraph();

  it('finds the sources and their imports', () => {
    expect(graph.has('lib/core/verify.ts')).to.equal(true);
    expect(graph.get('lib/core/verify.ts')!.map((i) => i.target)).to.include('lib/core/archive-verify.ts');
    for (const [file, imports] of graph) {
      for (const { target } of imports) if (target !== null) expect(graph.has(target), `${file} imports ${target}, which is not a source`).to.equal(true);
    }
  });

  it('no lib/core/ file imports the file system, the network, processes or threads', () => {
    const offending = [...graph]
      .filter(([file]) => file.startsWith(CORE))
      .flatMap(([file, imports]) => imports.filter((i) => IO_MODULES.test(i.spec)).map((i) => `${file} -> ${i.spec}`));
    expect(offending).to.deep.equal([]);
  });

  it('no lib/core/ file imports a file outside lib/core/', () => {
    const offending = [...graph]
      .filter(([file]) => file.startsWith(CORE))
      .flatMap(([file, imports]) => imports.filter((i) => i.target !== null && !i.target.startsWith(CORE)).map((i) => `${file} -> ${i.target}`));
    expect(offending).to.deep.equal([]);
  });

  it('the pure lib/log/ files exist, import no I/O module, and import only lib/core/ and each other', () => {
    for (const file of PURE_LOG) expect(graph.has(file), file).to.equal(true);
    const offending = PURE_LOG.flatMap((file) =>
      graph
        .get(file)!
        .filter((i) => IO_MODULES.test(i.spec) || (i.target !== null && !i.target.startsWith(CORE) && !PURE_LOG.includes(i.target)))
        .map((i) => `${file} -> ${i.target ?? i.spec}`),
    );
    expect(offending).to.deep.equal([]);
  });

  it('no import cycle in lib/ and cli/', () => {
    const edges = new Map([...graph].map(([file, imports]) => [file, imports.flatMap((i) => (i.target === null ? [] : [i.target]))]));
    expect(cyclesOf(edges).map((c) => c.join(' -> '))).to.deep.equal([]);
  });

  it('countersign/core is the subpath export of lib/core/index.ts', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    expect(pkg.exports['./core']).to.deep.equal({ types: './dist/lib/core/index.d.ts', default: './dist/lib/core/index.js' });
    expect(graph.has('lib/core/index.ts')).to.equal(true);
  });

  it('the cycle finder sees a cycle (a -> b -> a) and none in a chain', () => {
    expect(
      cyclesOf(
        new Map([
          ['a', ['b']],
          ['b', ['a']],
        ]),
      ),
    ).to.deep.equal([['a', 'b', 'a']]);
    expect(
      cyclesOf(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).to.deep.equal([]);
  });

  it('the import reader sees multi-line, type-only, re-export and dynamic imports', () => {
    const text =
      "import {\n  a,\n  b,\n} from './x.js';\nimport type { T } from '../y.js';\nexport * from './z.js';\nconst m = await import('node:fs');\nimport 'node:net';\n";
    expect(importsOf('lib/core/f.ts', text).map((i) => i.target ?? i.spec)).to.deep.equal([
      'lib/core/x.ts',
      'lib/y.ts',
      'lib/core/z.ts',
      'node:fs',
      'node:net',
    ]);
  });
});
