// README.md's shell blocks as a person would run them: the blocks under a heading, shell words with quotes, ~/ and
// * globs within one directory (test/readme-ceremony.test.ts, test/readme-keys.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The commands of the first `blocks` ```sh blocks under "## heading": continuation lines joined, comments and blank lines dropped. */
export function readmeCommands(heading: string, blocks: number): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = start < 0 ? '' : readme.slice(start, end < 0 ? undefined : end);
  const found = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (found.length < blocks) throw new Error(`README.md has ${found.length} \`\`\`sh blocks under "## ${heading}", not ${blocks}`);
  return found
    .slice(0, blocks)
    .join('')
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map(stripComment)
    .filter((l) => l.trim() !== '');
}

function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) quote = c === quote ? '' : quote;
    else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/** Shell words as sh would split them here: quotes, a leading ~/, and * globs within one directory. */
export function words(line: string, home: string, cwd: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    if (m[3] === undefined) {
      out.push(m[1] ?? m[2]!);
      continue;
    }
    const word = m[3].replace(/^~\//, `${home}/`);
    if (!word.includes('*')) {
      out.push(word);
      continue;
    }
    const slash = word.lastIndexOf('/');
    const dir = slash < 0 ? '.' : word.slice(0, slash);
    const pattern = new RegExp(
      `^${word
        .slice(slash + 1)
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')}$`,
    );
    const matches = readdirSync(join(cwd, dir))
      .filter((f) => pattern.test(f) && !f.startsWith('.'))
      .sort();
    // sh keeps a glob that matches nothing as it is: the command then fails on it, as it would for a person.
    out.push(...(matches.length ? matches.map((f) => (slash < 0 ? f : `${dir}/${f}`)) : [word]));
  }
  return out;
}

/** A README command with the comment at its end and the comment lines just above it. */
export interface ReadmeStep {
  command: string;
  comment: string;
  above: string[];
}

/** The commands of the first `blocks` ```sh blocks under "## heading", each with its comments (continuations joined). */
export function readmeSteps(heading: string, blocks: number): ReadmeStep[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = start < 0 ? '' : readme.slice(start, end < 0 ? undefined : end);
  const found = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (found.length < blocks) throw new Error(`README.md has ${found.length} \`\`\`sh blocks under "## ${heading}", not ${blocks}`);
  const steps: ReadmeStep[] = [];
  let above: string[] = [];
  for (const line of found
    .slice(0, blocks)
    .join('')
    .replace(/\\\n\s*/g, '')
    .split('\n')) {
    const command = stripComment(line).trim();
    const comment = line.slice(stripComment(line).length).replace(/^#\s*/, '').trim();
    if (command === '') {
      above = comment ? [...above, comment] : [];
      continue;
    }
    steps.push({ command, comment, above });
    above = [];
  }
  return steps;
}
