// Mocha root hooks for the whole run (.mocharc.json `require`): the TEST-ONLY install fault hooks are
// honoured in this process (lib/installer/hooks.ts), and every temporary directory the run made
// (test/support/tmp.ts, the CLI bundles of test/installer/support.ts) is removed when it ends.
import { enableTestHooks } from '../../lib/installer/hooks.js';
import { removeTempDirs } from './tmp.js';

enableTestHooks();

export const mochaHooks = {
  afterAll(this: Mocha.Context): void {
    // Removing every tree the run made (20,000-file sites, logs) can pass the 60 s test timeout on a loaded machine.
    this.timeout(0);
    removeTempDirs();
  },
};
