// Reading a release tree's files for the build, one at a time, in the order they go into the archive.
// FileReader reads each file when asked. PrefetchingReader has a worker thread open and read the next
// files into a shared ring meanwhile, so that the main thread's archive and manifest work overlaps the
// four system calls per file (20,000 files: about half the main thread's time). The worker only ever
// prefetches: whatever it does not accept as an ordinary case (a link, a non-regular file, a setuid,
// setgid or sticky bit, a file too big for the ring, an error), the main thread reads itself with
// FileReader, which refuses or fails exactly as it would have without the worker.
import { Worker } from 'node:worker_threads';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ArchiveError, UsageError } from '../core/errors.js';
import { normaliseMode, type FileMode } from '../core/paths.js';
import { errnoOf } from '../core/errno.js';

export interface TreeFile {
  path: string;
  absolute: string;
}

export interface FileContent {
  /** Valid until the next read. */
  content: Uint8Array;
  mode: FileMode;
}

export interface TreeReader {
  /** Reads a regular file without following links; the returned bytes are valid until the next read. */
  read(file: TreeFile): FileContent;
  /** Stops any reading ahead; the reader must not be used afterwards. */
  close(): void;
}

/** open(2) flags of every tree read: a symbolic link is refused (ELOOP), a FIFO does not block the open. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function refuse(path: string, rule: string): never {
  throw new ArchiveError('UNSAFE_PATH', `unsafe path ${JSON.stringify(path)}: ${rule}`, { path, rule });
}

/** One buffer reused for every file of a build: the archive writer consumes each file before the next is read. */
export class FileReader implements TreeReader {
  private buffer = Buffer.alloc(1 << 20);

  read(file: TreeFile): FileContent {
    let fd: number;
    try {
      fd = openSync(file.absolute, READ_FLAGS);
    } catch (err) {
      if (errnoOf(err) === 'ELOOP') refuse(file.path, 'is a symbolic link');
      throw new UsageError('IO', `cannot read ${file.absolute}: ${errnoOf(err)}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) refuse(file.path, 'is not a regular file');
      if ((st.mode & 0o7000) !== 0) refuse(file.path, 'has a setuid, setgid or sticky bit');
      if (st.size > this.buffer.length) this.buffer = Buffer.alloc(Math.max(st.size, 2 * this.buffer.length));
      let done = 0;
      while (done < st.size) {
        const n = readSync(fd, this.buffer, done, st.size - done, done);
        if (n === 0) break;
        done += n;
      }
      return { content: this.buffer.subarray(0, done), mode: normaliseMode(st.mode) };
    } finally {
      closeSync(fd);
    }
  }

  close(): void {}
}

const RING_SIZE = 8 << 20;
/** Larger files are left to the main thread (at most half the ring, so a file always fits once the ring is drained). */
const PREFETCH_MAX = RING_SIZE >> 1;
// Control words.
const READY = 0; // files the worker is done with (their table rows are final)
const CONSUMED = 1; // files the main thread is done with (their bytes in the ring may be overwritten)
const STOP = 2; // 1: the main thread wants no more files
const FAILED = 3; // 1: the worker stopped on an unexpected error; the main thread reads the rest itself
// Each side sleeps until the other is well ahead, not for the very next file (a wake-up per file costs more
// than reading it): the main thread waiting says how many files it wants ready, the worker how many consumed.
const WANT = 4; // the main thread sleeps until READY >= WANT (or the worker has to wait itself)
const NEED = 5; // the worker sleeps until CONSUMED >= NEED
const NOBODY_WAITS = 0x7fffffff;
/** Files the main thread waits for once it has caught up with the worker. */
const BATCH = 64;
// Table row per file: ring offset (absolute, it only grows), bytes read (-1: left to the main thread), st_mode,
// and the ring offset after this file (what is free once the main thread has consumed it).
const ROW = 4;

// Plain CommonJS run with eval: the CLI is one bundled file, so the worker cannot be a module beside it.
// The same open flags and checks as FileReader.read; any departure from the ordinary case is row[1] = -1.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { closeSync, fstatSync, openSync, readSync } = require('node:fs');
const { control, ring, flags } = workerData;
const ctrl = new Int32Array(control);
const bytes = new Uint8Array(ring);
let table = null;
const R = ${RING_SIZE};
// Ring bytes still needed by the main thread start at the end of the last file it consumed (c files consumed).
function freedAt(c) {
  return c === 0 ? 0 : table[${ROW} * (c - 1) + 3];
}
// Waits until the bytes up to end (an absolute ring offset) fit in the ring, file i being next; false: stopped.
function waitForSpace(i, end) {
  for (;;) {
    if (Atomics.load(ctrl, ${STOP}) !== 0) return false;
    const c = Atomics.load(ctrl, ${CONSUMED});
    if (end - freedAt(c) <= R) return true;
    // Sleep until this file fits with a quarter of the ring to spare, or every file read so far is consumed.
    let need = c + 1;
    while (need < i && end + R / 4 - freedAt(need) > R) need++;
    Atomics.store(ctrl, ${NEED}, need);
    // The main thread may be asleep waiting for more files than are ready: they are all it gets for now.
    Atomics.notify(ctrl, ${READY});
    Atomics.wait(ctrl, ${CONSUMED}, c);
    Atomics.store(ctrl, ${NEED}, ${NOBODY_WAITS});
  }
}
parentPort.once('message', (message) => {
  const files = message.files;
  table = new Float64Array(message.table);
  let head = 0;
  try {
    for (let i = 0; i < files.length && Atomics.load(ctrl, ${STOP}) === 0; i++) {
      const row = ${ROW} * i;
      table[row + 1] = -1;
      let fd = -1;
      try {
        fd = openSync(files[i], flags);
        const st = fstatSync(fd);
        if (st.isFile() && (st.mode & 0o7000) === 0 && st.size <= ${PREFETCH_MAX}) {
          if ((head % R) + st.size > R) head += R - (head % R);
          if (!waitForSpace(i, head + st.size)) return;
          const at = head % R;
          let done = 0;
          while (done < st.size) {
            const n = readSync(fd, bytes, at + done, st.size - done, done);
            if (n === 0) break;
            done += n;
          }
          table[row] = head;
          table[row + 2] = st.mode;
          table[row + 1] = done;
          head += done;
        }
      } catch {
        table[row + 1] = -1;
      } finally {
        if (fd !== -1) {
          try { closeSync(fd); } catch { table[row + 1] = -1; }
        }
      }
      table[row + 3] = head;
      Atomics.store(ctrl, ${READY}, i + 1);
      if (i + 1 >= Atomics.load(ctrl, ${WANT}) || i + 1 === files.length) Atomics.notify(ctrl, ${READY});
    }
  } catch {
    Atomics.store(ctrl, ${FAILED}, 1);
    Atomics.notify(ctrl, ${READY});
  }
});
`;

/**
 * A TreeReader for `files`, read in exactly that order: a worker thread reads ahead into an 8 MiB ring.
 * Start it with start(files) once the paths have been checked; until then (and for any file out of order,
 * or after close()) it reads like FileReader.
 */
export class PrefetchingReader implements TreeReader {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(6 * 4));
  private readonly ring = new SharedArrayBuffer(RING_SIZE);
  private table: Float64Array | null = null;
  private files: readonly TreeFile[] = [];
  private next = 0;
  private worker: Worker | null;
  private readonly direct = new FileReader();
  private readonly ended: Promise<void>;

  /** Starts the worker at once, so that its start-up overlaps the caller's walk and path check; it reads nothing before start(). */
  constructor() {
    Atomics.store(this.ctrl, WANT, NOBODY_WAITS);
    Atomics.store(this.ctrl, NEED, NOBODY_WAITS);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { control: this.ctrl.buffer, ring: this.ring, flags: READ_FLAGS },
    });
    // Shared memory only; the worker never holds the process open.
    this.worker.unref();
    this.ended = new Promise((resolve) => this.worker!.once('exit', () => resolve()));
  }

  /** Resolves once the worker thread has ended (after close(), or once it has read every file). */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  /** Sends the worker the files to read ahead, in the order read() will be called for them. */
  start(files: readonly TreeFile[]): void {
    if (this.worker === null || this.table !== null) throw new Error('PrefetchingReader: start() twice or after close()');
    const table = new SharedArrayBuffer(Math.max(1, files.length) * ROW * 8);
    this.table = new Float64Array(table);
    this.files = files;
    // The table travels with the list (shared, not copied): its size is known only once the tree is scanned.
    this.worker.postMessage({ files: files.map((f) => f.absolute), table });
  }

  read(file: TreeFile): FileContent {
    const table = this.table;
    const i = this.next;
    if (table === null || this.worker === null || this.files[i] !== file) {
      this.close();
      return this.direct.read(file);
    }
    this.next = i + 1;
    // The previous file's bytes are no longer needed.
    Atomics.store(this.ctrl, CONSUMED, i);
    if (i >= Atomics.load(this.ctrl, NEED)) Atomics.notify(this.ctrl, CONSUMED);
    for (;;) {
      if (Atomics.load(this.ctrl, FAILED) !== 0) {
        this.close();
        return this.direct.read(file);
      }
      const ready = Atomics.load(this.ctrl, READY);
      if (ready > i) break;
      Atomics.store(this.ctrl, WANT, Math.min(this.files.length, i + BATCH));
      Atomics.wait(this.ctrl, READY, ready);
      Atomics.store(this.ctrl, WANT, NOBODY_WAITS);
    }
    const row = ROW * i;
    const length = table[row + 1]!;
    if (length < 0) return this.direct.read(file);
    return { content: new Uint8Array(this.ring, table[row]! % RING_SIZE, length), mode: normaliseMode(table[row + 2]!) };
  }

  close(): void {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.notify(this.ctrl, CONSUMED);
    // Never started (the walk or the path check failed): the worker still waits for its list, and would wait forever.
    if (this.table === null) void worker.terminate();
  }
}
