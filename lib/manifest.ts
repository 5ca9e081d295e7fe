// The update manifest: what a release changes on a site, and the archive that carries it.

export type FileMode = '0644' | '0755';

/** A new file the site must not have yet. */
export interface AddOp {
  op: 'add';
  path: string;
  sha256: string;
  size: number;
  mode: FileMode;
}

/** A changed file; `previousSha256` is what the site must currently have. */
export interface ModifyOp {
  op: 'modify';
  path: string;
  sha256: string;
  size: number;
  mode: FileMode;
  previousSha256: string;
}

/** A removed file; `previousSha256` is what the site must currently have. */
export interface DeleteOp {
  op: 'delete';
  path: string;
  previousSha256: string;
}

export type FileOp = AddOp | ModifyOp | DeleteOp;

export interface ArchiveRef {
  name: string;
  size: number;
  sha256: string;
  sha512: string;
}
