// A stand-in for `countersign apply|recover` in the daemon tests: it speaks the worker interface
// (--json: one JSON object on stdout; --progress: JSON lines on stderr; exit 0/1/2) and records what it
// saw, as whom, in the site root (its working directory):
//   .stub-log.jsonl   one line per run: command, argv, uid/gid/groups, cwd, env, stdin digest, start/end
//   stub-wrote-<command>.txt   a file it wrote (its owner shows who the worker ran as)
// It does what .stub-control.json in the site root says (read at start): { sleepMs, exit, result, hang,
// noResult, progress, bigProgress: bytes, bigResult: bytes, probeRead: [dirs], probeWrite: [files] } for `apply` (the probes record what this
// user may do: 'ok' or the error code); recover always succeeds.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const [command, ...rest] = process.argv.slice(2);
const control = existsSync('.stub-control.json') ? JSON.parse(readFileSync('.stub-control.json', 'utf8')) : {};
const start = Date.now();
const record = {
  command,
  argv: process.argv.slice(2),
  uid: process.getuid(),
  gid: process.getgid(),
  euid: process.geteuid(),
  groups: groupsLine(),
  cwd: process.cwd(),
  env: { ...process.env },
  start,
};

if (command === 'apply') {
  const bytes = readFileSync('/dev/stdin');
  record.stdinSha256 = createHash('sha256').update(bytes).digest('hex');
  record.stdinSize = bytes.length;
  for (const phase of control.progress ?? ['check', 'files', 'post']) process.stderr.write(JSON.stringify({ event: 'phase', phase, stub: true }) + '\n');
  process.stderr.write('a human line on stderr\n');
  if (control.bigProgress) process.stderr.write(JSON.stringify({ event: 'big', pad: 'x'.repeat(control.bigProgress) }) + '\n');
  record.probes = {};
  for (const dir of control.probeRead ?? []) record.probes[`read ${dir}`] = attempt(() => readdirSync(dir));
  for (const file of control.probeWrite ?? []) record.probes[`write ${file}`] = attempt(() => writeFileSync(file, 'stub was here\n'));
  if (control.hang) await new Promise(() => setInterval(() => undefined, 1000));
  if (control.sleepMs) await new Promise((r) => setTimeout(r, control.sleepMs));
}
writeFileSync(`stub-wrote-${command}.txt`, `${process.getuid()}\n`);
record.end = Date.now();
appendFileSync('.stub-log.jsonl', JSON.stringify(record) + '\n');

if (command === 'apply' && control.noResult) {
  process.stdout.write('not json\n');
  process.exit(control.exit ?? 0);
}
const exit = command === 'apply' ? (control.exit ?? 0) : 0;
const result =
  command === 'apply'
    ? (control.result ?? { ok: exit === 0, ...(exit !== 0 && { code: 'STUB_FAILED', message: 'the stub was told to fail' }) })
    : { ok: true, recovered: false };
process.stdout.write(JSON.stringify({ ...result, stub: true, argv: rest, ...(control.bigResult && { pad: 'y'.repeat(control.bigResult) }) }) + '\n');
process.exitCode = exit;

function groupsLine() {
  try {
    return (
      readFileSync('/proc/self/status', 'utf8')
        .match(/^Groups:(.*)$/m)?.[1]
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number) ?? null
    );
  } catch {
    return null;
  }
}

function attempt(fn) {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err.code ?? String(err);
  }
}
