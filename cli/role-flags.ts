// The provider flags of `policy init` and `policy rotate`: a provider's roles, and a root policy's rules for providers.
import { UsageError } from '../lib/core/errors.js';
import type { Policy, ProviderMembers } from '../lib/core/policy.js';
import { DEFAULT_ACTIVATION_DELAY, type RoleRule } from '../lib/core/provider-policy.js';

export interface RoleArgs {
  admin?: string[];
  adminThreshold?: number;
  release?: string[];
  releaseThreshold?: number;
  activationDelay?: string;
  registry?: string[];
  registryThreshold?: number;
}

const MEMBER = 'its --signer/--add-signer file, key id (or 8+ hex digits of it) or exact name (repeat)';

export const ROLE_OPTIONS = {
  admin: { type: 'string', array: true, describe: `Provider policy: a signer of the admin role (changes the policy, revokes keys): ${MEMBER}` },
  'admin-threshold': { type: 'number', describe: 'Provider policy: how many admin keys must sign' },
  release: { type: 'string', array: true, describe: `Provider policy: a signer of the release role (signs and revokes releases): ${MEMBER}` },
  'release-threshold': { type: 'number', describe: 'Provider policy: how many release keys must sign' },
  'activation-delay': {
    type: 'string',
    describe: `Root policy: log time before a key added to a provider policy may sign: 24h, 90m, 2d, 3600s (default ${DEFAULT_ACTIVATION_DELAY / 3600}h)`,
  },
  registry: { type: 'string', array: true, describe: `Root policy: a signer of the registry role, which may enrol new providers: ${MEMBER}` },
  'registry-threshold': { type: 'number', describe: 'Root policy: how many registry keys must sign an enrolment' },
} as const;

/** A policy signer as the flags can name it: the file it was read from (for keys given on this command line), id, name. */
export interface NamedSigner {
  id: string;
  name: string;
  file?: string;
}

/** A signer named by its file on this command line, full key id, a unique id prefix of 8+ hex digits, or exact name. */
export function findSigner(signers: readonly NamedSigner[], ref: string, flag: string): NamedSigner {
  const byFile = signers.filter((s) => s.file === ref);
  const matches = byFile.length > 0 ? byFile : signers.filter((s) => s.id === ref || s.name === ref || (/^[0-9a-f]{8,63}$/.test(ref) && s.id.startsWith(ref)));
  if (matches.length !== 1) {
    throw new UsageError('USAGE', `${flag} ${ref} matches ${matches.length === 0 ? 'no signer' : `${matches.length} signers`} of the policy`);
  }
  return matches[0]!;
}

/** 24h, 90m, 2d, 3600s or 3600: whole seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^([0-9]{1,9})([smhd]?)$/.exec(text);
  if (!m) throw new UsageError('USAGE', `${flag} ${JSON.stringify(text)} is not a duration: e.g. 24h, 90m, 2d, 3600s`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

/**
 * The format 3 members the flags ask for. `current` (a rotation): its provider and roles, or its rules for providers,
 * are kept, less any signer no longer in `signers`, unless a flag replaces them.
 */
export function roleMembers(args: RoleArgs, signers: readonly NamedSigner[], provider: string | undefined, current?: Policy): ProviderMembers {
  const ids = new Set(signers.map((s) => s.id));
  const rule = (name: 'admin' | 'release' | 'registry', members: string[] | undefined, threshold: number | undefined, kept: RoleRule | undefined) => {
    if (threshold !== undefined && !Number.isInteger(threshold)) throw new UsageError('USAGE', `--${name}-threshold must be a whole number`);
    if (members !== undefined) {
      if (threshold === undefined) throw new UsageError('USAGE', `--${name} needs --${name}-threshold: how many of its keys must sign`);
      return { threshold, signers: members.map((ref) => findSigner(signers, ref, `--${name}`).id) };
    }
    if (kept === undefined) {
      if (threshold !== undefined) throw new UsageError('USAGE', `--${name}-threshold needs --${name}: the keys of the role`);
      return undefined;
    }
    const left = kept.signers.filter((id) => ids.has(id));
    if (left.length === 0) throw new UsageError('USAGE', `the ${name} role would have no keys left: give --${name} and --${name}-threshold`);
    return { threshold: threshold ?? kept.threshold, signers: left };
  };
  const admin = rule('admin', args.admin, args.adminThreshold, current?.roles?.admin);
  const release = rule('release', args.release, args.releaseThreshold, current?.roles?.release);
  const registry = rule('registry', args.registry, args.registryThreshold, current?.providers?.registry);
  const delay = args.activationDelay === undefined ? current?.providers?.activationDelay : parseDuration(args.activationDelay, '--activation-delay');
  const members: ProviderMembers = {};
  if (provider !== undefined) members.provider = provider;
  if (admin !== undefined || release !== undefined) members.roles = { ...(admin && { admin }), ...(release && { release }) };
  if (delay !== undefined || registry !== undefined) members.providers = { activationDelay: delay ?? DEFAULT_ACTIVATION_DELAY, ...(registry && { registry }) };
  return members;
}
