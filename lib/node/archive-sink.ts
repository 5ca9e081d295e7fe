// An archive sink that writes to a file descriptor and computes the archive's SHA-256 and each entry's on a
// worker thread, so that hashing and writing the archive overlap reading the files on the main thread
// (build of 20,000 files: the digests and the writes are about half of the work).
// The API stays synchronous: the threads share a ring of buffers and wait on each other with Atomics.
import { Worker } from 'node:worker_threads';
import type { DigestingTarSink } from '../core/tar.js';

const SLOT_SIZE = 2 << 20;
const SLOTS = 8;
// Control words.
const HEAD = 0; // slots filled by the main thread
const TAIL = 1; // slots written and hashed by the worker; -1 after a failure
const SEQ = 2; // bumped on every main-thread event (a slot filled, the end), the word the worker waits on
const DONE = 3; // 1: no more slots; 2: abandoned (no digests wanted)
const STATE = 4; // 0 running, 1 digests ready, 2 failed, 3 abandoned
const ERROR_LENGTH = 5;
const RELEASED = 6; // 1 once the worker is done with the descriptor (after its fsync)
const ENTRIES = 7; // entries announced by beginEntry (their start and size are in the entry table)

// Plain CommonJS run with eval: the CLI is one bundled file, so the worker cannot be a module beside it.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { createHash, hash } = require('node:crypto');
const { fsyncSync, writeSync } = require('node:fs');
const { fd, control, data, lengths, out, slots, slotSize, entryTable, entryDigests } = workerData;
const ctrl = new Int32Array(control);
const lens = new Int32Array(lengths);
const bytes = new Uint8Array(data);
const result = new Uint8Array(out);
const table = new Float64Array(entryTable);
const entryOut = new Uint8Array(entryDigests);
const sha256 = createHash('sha256');
let tail = 0;
// Entry hashing: the archive offset where the current slot begins, the entry being hashed and its hash so far.
let position = 0;
let entry = 0;
let entryHash = null;
// Hashes the parts of announced entries' contents that fall in chunk (at archive offset position); at the end
// (final, chunk empty) every announced entry must be complete.
function hashEntries(chunk, final) {
  const chunkEnd = position + chunk.length;
  while (entry < Atomics.load(ctrl, ${ENTRIES})) {
    const start = table[2 * entry];
    const end = start + table[2 * entry + 1];
    // An entry starting at the chunk's end (an empty one included) is dealt with in the next chunk.
    if (start >= chunkEnd && !final) return;
    const from = Math.max(start, position);
    const to = Math.min(end, chunkEnd);
    if (entryHash === null && end <= chunkEnd) {
      // The whole entry is in this chunk (most are): one call, no hash object.
      entryOut.set(hash('sha256', chunk.subarray(from - position, Math.max(from, to) - position), 'buffer'), 32 * entry);
      entry++;
      continue;
    }
    if (to > from) (entryHash ??= createHash('sha256')).update(chunk.subarray(from - position, to - position));
    if (end > chunkEnd) {
      if (final) throw new Error('an entry is shorter than announced');
      return;
    }
    entryOut.set((entryHash ?? createHash('sha256')).digest(), 32 * entry);
    entryHash = null;
    entry++;
  }
}
try {
  for (;;) {
    const seq = Atomics.load(ctrl, ${SEQ});
    const done = Atomics.load(ctrl, ${DONE});
    if (done === 2) {
      Atomics.store(ctrl, ${STATE}, 3);
      break;
    }
    const head = Atomics.load(ctrl, ${HEAD});
    if (tail === head) {
      if (done === 1) {
        hashEntries(bytes.subarray(0, 0), true);
        result.set(sha256.digest(), 0);
        Atomics.store(ctrl, ${STATE}, 1);
        Atomics.notify(ctrl, ${STATE});
        // The caller fsyncs before renaming; syncing now overlaps that with its manifest work, and its fsync finds nothing left to do.
        try { fsyncSync(fd); } catch {}
        break;
      }
      Atomics.wait(ctrl, ${SEQ}, seq);
      continue;
    }
    const start = (tail % slots) * slotSize;
    const chunk = bytes.subarray(start, start + lens[tail % slots]);
    sha256.update(chunk);
    hashEntries(chunk, false);
    position += chunk.length;
    for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at, chunk.length - at);
    tail++;
    Atomics.store(ctrl, ${TAIL}, tail);
    Atomics.notify(ctrl, ${TAIL});
  }
} catch (err) {
  const message = Buffer.from(String((err && err.code) || (err && err.message) || err)).subarray(0, 256);
  result.set(message, 32);
  Atomics.store(ctrl, ${ERROR_LENGTH}, message.length);
  Atomics.store(ctrl, ${STATE}, 2);
  Atomics.store(ctrl, ${TAIL}, -1);
  Atomics.notify(ctrl, ${TAIL});
}
Atomics.notify(ctrl, ${STATE});
Atomics.store(ctrl, ${RELEASED}, 1);
Atomics.notify(ctrl, ${RELEASED});
`;

/**
 * A DigestingTarSink writing to `fd` from a worker thread, which also fsyncs `fd` once it has written everything,
 * and hashes the content of each entry (up to `maxEntries`; beginEntry) so the main thread need not.
 * Call release() before closing the descriptor, in every case: it abandons an unfinished archive.
 */
export class ThreadedArchiveSink implements DigestingTarSink {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(8 * 4));
  private readonly lens = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  private readonly data = new Uint8Array(new SharedArrayBuffer(SLOTS * SLOT_SIZE));
  private readonly out = new Uint8Array(new SharedArrayBuffer(32 + 256));
  /** Each announced entry's archive offset and size, and the worker's digest of it. */
  private readonly table: Float64Array;
  private readonly entryDigests: Uint8Array;
  private readonly worker: Worker;
  /** Slots filled so far, and how much of the current one. */
  private head = 0;
  private fill = 0;
  private written = 0;
  private entries = 0;
  private closed = false;

  constructor(
    fd: number,
    private readonly maxEntries = 0,
  ) {
    this.table = new Float64Array(new SharedArrayBuffer(Math.max(1, 2 * maxEntries) * 8));
    this.entryDigests = new Uint8Array(new SharedArrayBuffer(Math.max(1, maxEntries) * 32));
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        fd,
        control: this.ctrl.buffer,
        data: this.data.buffer,
        lengths: this.lens.buffer,
        out: this.out.buffer,
        slots: SLOTS,
        slotSize: SLOT_SIZE,
        entryTable: this.table.buffer,
        entryDigests: this.entryDigests.buffer,
      },
    });
    // The threads talk through shared memory only; the worker never holds the process open.
    this.worker.unref();
  }

  /** The next `size` bytes written are one entry's content. Announced before they are written, so the worker never passes them unhashed. */
  beginEntry(size: number): void {
    if (this.closed) throw new Error('ThreadedArchiveSink: beginEntry() after the end');
    if (this.entries >= this.maxEntries) throw new Error('ThreadedArchiveSink: more entries than announced at construction');
    this.table[2 * this.entries] = this.written;
    this.table[2 * this.entries + 1] = size;
    this.entries++;
    Atomics.store(this.ctrl, ENTRIES, this.entries);
  }

  write(chunk: Uint8Array): void {
    if (this.closed) throw new Error('ThreadedArchiveSink: write() after the end');
    this.written += chunk.length;
    for (let at = 0; at < chunk.length;) {
      if (this.fill === 0) this.waitForFreeSlot();
      const n = Math.min(SLOT_SIZE - this.fill, chunk.length - at);
      this.data.set(chunk.subarray(at, at + n), (this.head % SLOTS) * SLOT_SIZE + this.fill);
      this.fill += n;
      at += n;
      if (this.fill === SLOT_SIZE) this.pushSlot();
    }
  }

  digests(): { sha256: string; entries: string[] } {
    if (this.closed) throw new Error('ThreadedArchiveSink: digests() called twice');
    if (this.fill > 0) this.pushSlot();
    this.closed = true;
    this.signal(DONE, 1);
    let state: number;
    while ((state = Atomics.load(this.ctrl, STATE)) === 0) Atomics.wait(this.ctrl, STATE, 0);
    if (state !== 1) this.fail();
    const all = Buffer.from(this.entryDigests.buffer);
    const entries = Array.from({ length: this.entries }, (_, i) => all.toString('hex', 32 * i, 32 * i + 32));
    return { sha256: Buffer.from(this.out.buffer, 0, 32).toString('hex'), entries };
  }

  /** Waits until the worker no longer uses the descriptor (stopping it first if the archive was not finished: the build failed). */
  release(): void {
    if (!this.closed) {
      this.closed = true;
      this.signal(DONE, 2);
    }
    while (Atomics.load(this.ctrl, RELEASED) === 0) Atomics.wait(this.ctrl, RELEASED, 0);
  }

  private waitForFreeSlot(): void {
    for (;;) {
      const tail = Atomics.load(this.ctrl, TAIL);
      if (tail === -1) this.fail();
      if (this.head - tail < SLOTS) return;
      Atomics.wait(this.ctrl, TAIL, tail);
    }
  }

  private pushSlot(): void {
    this.lens[this.head % SLOTS] = this.fill;
    this.head++;
    this.fill = 0;
    this.signal(HEAD, this.head);
  }

  private signal(word: number, value: number): void {
    Atomics.store(this.ctrl, word, value);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
  }

  /** Rethrows the worker's failure the way a synchronous write would have thrown it (an errno code when there is one). */
  private fail(): never {
    this.closed = true;
    const what = Buffer.from(this.out.buffer, 32, Atomics.load(this.ctrl, ERROR_LENGTH)).toString();
    throw Object.assign(new Error(`cannot write the archive: ${what}`), /^E[A-Z]+$/.test(what) ? { code: what } : {});
  }
}
