// countersign's public API: the CLI and any embedding site code call these same functions.
export * from './core/index.js';
export { initStore, openStore, updateStore, recordInstall, storeFiles, type StoreWriteOptions, type UpdateResult } from './node/trust-store.js';
export { acquireLock, withLock, DEFAULT_LOCK_TIMEOUT_MS, type LockOptions, type HeldLock } from './node/lock.js';
export { openBundleFile, openArchiveFile, writeBundleFile, type OpenedInput } from './node/bundle-file.js';
export { buildRelease, scanTree, type ReleaseRequest, type BuiltRelease } from './node/build.js';
export { applyBundle, applyOpened, APPLY_PHASES, type ApplyOptions, type ApplyResult, type ApplyPhase } from './installer/apply.js';
export { recoverSite, type RecoverOptions, type RecoverResult, type RecoverAction } from './installer/recover.js';
export {
  planUpdate,
  checkSpace,
  type Plan,
  type Step,
  type SiteFacts,
  type NodeFact,
  type LocalChange,
  type Problem,
  type ProblemCode,
} from './installer/plan.js';
export { parseJournal, JOURNAL_FORMAT, type JournalBegin, type JournalStep, type ParsedJournal } from './installer/journal.js';
export { sitePaths, type SitePaths } from './installer/state.js';
export type { ProgressEvent, ProgressSink } from './installer/events.js';
export type { PostStepResult } from './installer/post.js';
export type { InstallHooks } from './installer/hooks.js';
export { startDaemon, type Daemon, type DaemonOptions } from './installer/daemon/serve.js';
export { readInstallerConfig, resolveInstallerConfig, type InstallerConfig, type SiteConfig } from './installer/daemon/config.js';
export { submitBundle, type SubmitOptions } from './installer/daemon/client.js';
export type { FinalLine, ProgressLine, DaemonCode, RequestHeader } from './installer/daemon/protocol.js';
