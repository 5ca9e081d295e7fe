// What the build tests share: a release request for a source tree, and whether FIFOs can be made here.
import { execFileSync } from 'node:child_process';
import type { ReleaseRequest } from '../../lib/node/build.js';

/** A drupal core 10.2.4 release of `source`, at fixed times and mtime 0, with no base and no version file. */
export function releaseRequest(source: string): ReleaseRequest {
  return {
    source,
    product: 'drupal',
    component: 'core',
    version: '10.2.4',
    appliesTo: [],
    postUpdate: [],
    created: new Date('2026-11-20T00:00:00Z'),
    expires: new Date('2026-12-20T00:00:00Z'),
    policyVersion: 1,
    mtime: 0,
    versionFile: null,
  };
}

/** Whether mkfifo(1) is installed (a FIFO in the tree is one of the refused kinds). */
export function hasMkfifo(): boolean {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
