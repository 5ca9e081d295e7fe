// The transparency log's error family: every refusal of a proof, note, checkpoint, log policy or entry has one
// stable code (spec/log.md). A document under check failed, so the CLI exits 1.
import { CountersignError, type LogCode } from '../core/errors.js';

export type { LogCode };

export class LogError extends CountersignError {
  declare readonly code: LogCode;
  constructor(code: LogCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
