// The write-ahead journal of a commit: STATE_DIR/journal, one JSON object per line, durable before the
// step it announces is taken (a commit writes its begin record and all its step records in one write and
// one fdatasync before taking the first: spec/journal.md). Recovery reads it back:
//   - no "commit" record: every step logged is undone, last first (each undo is idempotent: it checks
//     what is on disk, so a step that never happened, or was already undone, is left alone);
//   - a "commit" record: the new release is complete; only recording and cleaning up remain.
//
// Records (format 1):
//   {"t":"begin","format":1,"site":ROOT,"root":"DEV:INO","bundle":PAYLOAD_SHA256,"product":P,"component":C,"from":V|null,"to":V,"store":DIR|null,"created":TIME}
//   ("root", the identity of the site root the steps act in, is absent from journals written before it was added)
//   {"t":"step","n":1,"op":"mkdir","path":"core/lib/Security"}
//   {"t":"step","n":2,"op":"add","path":"core/lib/Security/Sanitizer.php","slot":3,"dev":"2049","ino":"1234"}   staging/3 is linked to path
//   {"t":"step","n":3,"op":"modify","path":"core/includes/bootstrap.inc","slot":1,"dev":"2049","ino":"1240"}  path linked to backups/1, staging/1 renamed over path
//   {"t":"step","n":4,"op":"delete","path":"core/includes/legacy.inc","slot":2}                               path renamed to backups/2
//   {"t":"step","n":5,"op":"rmdir","path":"core/modules/old","mode":"0755"}
//   {"t":"commit"}
// `slot` names the staged file (staging/SLOT) and the backup (backups/SLOT); dev/ino identify the staged
// file, so undoing an add removes only the file this update put there. Steps are numbered 1, 2, 3, ...
// A last line cut short by a crash (no newline) is the record of a step that was never taken and is
// ignored; anything else unreadable is JOURNAL_CORRUPT, and then nothing is touched.
import { closeSync, constants, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { InstallError } from '../core/errors.js';
import type * as generated from '../core/generated/types.js';
import { checkPath } from '../core/paths.js';
import { validateService } from '../core/service-schema.js';
import type { PinnedDir } from './pinned-dir.js';

export const JOURNAL_FORMAT = 1;
/** A journal larger than this is not one countersign wrote (100,000 files at well under 1 KiB a record). */
export const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;

/** The begin record once read back: narrower than the schema's (the format is checked in code); test/schema-types.test.ts keeps the two in step. */
export interface JournalBegin {
  t: 'begin';
  format: typeof JOURNAL_FORMAT;
  /** The resolved site root. */
  site: string;
  /** DEV:INO of that directory: recovery acts only if the site root is still it (absent in older journals). */
  root?: string;
  /** The SHA-256 of the manifest payload being applied. */
  bundle: string;
  product: string;
  component: string;
  from: string | null;
  to: string;
  /** The trust store the update was verified against. Recovery records the install only in the store it is configured with, and refuses a journal naming another (recover.ts). */
  store: string | null;
  created: string;
  /** Locally modified files the update left as they were (apply --keep-local): the install is recorded as partial. Absent when none. */
  kept?: string[];
}

/** A step record without its `t` and `n`; test/schema-types.test.ts keeps it in step with the schema's step records. */
export type JournalStep =
  | { op: 'mkdir'; path: string }
  | { op: 'add'; path: string; slot: number; dev: string; ino: string }
  | { op: 'modify'; path: string; slot: number; dev: string; ino: string }
  | { op: 'delete'; path: string; slot: number }
  | { op: 'rmdir'; path: string; mode: string };

export interface ParsedJournal {
  /** null: the journal was cut short before its begin record was complete (nothing was done under it). */
  begin: JournalBegin | null;
  steps: JournalStep[];
  committed: boolean;
  /** Bytes after the last newline (a record cut short by a crash), ignored. */
  tornBytes: number;
}

function corrupt(message: string, line?: number): never {
  throw new InstallError(
    'JOURNAL_CORRUPT',
    `the journal is unreadable${line === undefined ? '' : ` at line ${line}`}: ${message}; nothing was touched. Look at the site and the journal, then move the journal away by hand`,
    line === undefined ? {} : { line },
  );
}

type JournalRecord = generated.JournalRecord;
type StepRecord = Extract<JournalRecord, { t: 'step' }>;

/** The record's shape, by schemas/journal-record.schema.json: fields, types, patterns. */
function shaped(value: unknown, line: number): JournalRecord {
  try {
    return validateService<JournalRecord>('journal-record', value, 'the record');
  } catch (err) {
    return corrupt((err as Error).message, line);
  }
}

function safePath(path: string, line: number): void {
  try {
    checkPath(path);
  } catch (err) {
    corrupt(`unsafe path: ${(err as Error).message}`, line);
  }
}

/** What the schema cannot say: the format is ours, and every path is one the installer could have written. */
function checkBegin(begin: generated.JournalRecordBegin): JournalBegin {
  if (begin.format !== JOURNAL_FORMAT) corrupt(`format ${JSON.stringify(begin.format)} is not ${JOURNAL_FORMAT}`, 1);
  for (const path of begin.kept ?? []) safePath(path, 1);
  return { ...begin, format: JOURNAL_FORMAT };
}

function stepOf(record: StepRecord, line: number): JournalStep {
  const { t: _t, n: _n, ...step } = record;
  safePath(step.path, line);
  return step;
}

/** Parses a journal's text (see the top of this file); throws InstallError('JOURNAL_CORRUPT'). */
export function parseJournal(text: string): ParsedJournal {
  const end = text.lastIndexOf('\n');
  const torn = text.length - (end + 1);
  const lines = end === -1 ? [] : text.slice(0, end).split('\n');
  if (lines.length === 0) {
    // Cut short before the begin record was complete: nothing was done under it.
    return { begin: null, steps: [], committed: false, tornBytes: torn };
  }
  const records = lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      corrupt('not JSON', i + 1);
    }
    return shaped(value, i + 1);
  });
  const first = records[0]!;
  if (first.t !== 'begin') corrupt('the first record is not "begin"', 1);
  const begin = checkBegin(first);
  const steps: JournalStep[] = [];
  let committed = false;
  for (let i = 1; i < records.length; i++) {
    const r = records[i]!;
    if (committed) corrupt('a record after "commit"', i + 1);
    if (r.t === 'commit') {
      committed = true;
    } else if (r.t === 'step') {
      if (r.n !== steps.length + 1) corrupt(`step number ${JSON.stringify(r.n)} where ${steps.length + 1} was due`, i + 1);
      steps.push(stepOf(r, i + 1));
    } else {
      corrupt('a second "begin" record', i + 1);
    }
  }
  return { begin, steps, committed, tornBytes: torn };
}

export function encodeRecord(record: JournalRecord): string {
  return JSON.stringify(record) + '\n';
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Writes a new journal: begin and every step at once (create, made durable by flushBegin), then the commit record, made durable before it returns. */
export class JournalWriter {
  private fd: number | null;
  private constructor(
    readonly path: string,
    fd: number,
    private readonly dir: PinnedDir,
  ) {
    this.fd = fd;
  }

  /**
   * Creates the journal `name` in the pinned state directory (never over an existing file or through a link)
   * with its begin record and the records of every step, in one write. Every step it logs must be taken only
   * after flushBegin() resolves; a step logged but never taken is harmless, since its undo finds nothing to undo.
   */
  static create(dir: PinnedDir, name: string, display: string, begin: JournalBegin, steps: readonly JournalStep[]): JournalWriter {
    const fd = openSync(dir.at(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_APPEND, 0o600);
    const journal = new JournalWriter(display, fd, dir);
    try {
      journal.append(encodeRecord(begin) + steps.map((step, i) => encodeRecord({ t: 'step', n: i + 1, ...step })).join(''));
    } catch (err) {
      journal.close();
      throw err;
    }
    return journal;
  }

  /** Makes what create() wrote durable: one fdatasync of the journal and one fsync of its directory, issued together. */
  async flushBegin(): Promise<void> {
    await Promise.all([fdatasyncAsync(this.open()), this.dir.fsyncAsync()]);
  }

  /**
   * Logs the commit. If the write fails, the journal is cut back to before it, so no recovery can
   * mistake a half-written or unsynced commit record for a commit. (Limit: if the record reached the
   * disk although fdatasync reported an error, and the cut fails too, and the process then dies during
   * the rollback that follows, a recovery would complete a partly rolled-back tree.)
   */
  commit(): void {
    const fd = this.open();
    const before = fstatSync(fd).size;
    try {
      this.write(encodeRecord({ t: 'commit' }));
    } catch (err) {
      try {
        ftruncateSync(fd, before);
        fdatasyncSync(fd);
      } catch {
        // the rollback that follows still undoes every step; a recovery would too, unless the record reached the disk
      }
      throw err;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): number {
    if (this.fd === null) throw new Error('internal: the journal is closed');
    return this.fd;
  }

  private append(text: string): void {
    const fd = this.open();
    const bytes = Buffer.from(text, 'utf8');
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
  }

  private write(text: string): void {
    this.append(text);
    fdatasyncSync(this.open());
  }
}
