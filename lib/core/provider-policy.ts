// Providers (policy format 3): a provider's own policy names it and may split its keys into an admin and a release
// role; a root policy may set the rules for providers (activation delay, registry role). spec/documents.md.
import type * as generated from './generated/types.js';
import { FormatError, PolicyError } from './errors.js';
import { POLICY_PROVIDER_FORMAT } from './format.js';
import type { KeyRing } from './quorum.js';

export type Role = 'admin' | 'release';
export type RoleRule = generated.PolicyRole;
/** policy.ts's CheckedPolicy, as far as these helpers read it (policy.ts imports this module's rules). */
type CheckedPolicy = KeyRing & { policy: generated.Policy };

/** Seconds of log time before a key added to a provider policy may sign, when the root policy does not say. */
export const DEFAULT_ACTIVATION_DELAY = 86400;
export const MAX_PROVIDER_BYTES = 128;
const PROVIDER_NAME = /^[a-z0-9][a-z0-9.-]*(\/[a-z0-9][a-z0-9._-]*)+$/;

/** A provider name as written in a document: lower-case ASCII only, so no two names differ only in case or look-alikes. */
export function providerName(text: string, what = 'provider name'): string {
  if (typeof text !== 'string' || text.length > MAX_PROVIDER_BYTES || !PROVIDER_NAME.test(text)) {
    throw new PolicyError(
      'BAD_PROVIDER',
      `${what} ${JSON.stringify(String(text).slice(0, 200))} is not a provider name: lower-case ASCII like wordpress.org/plugins/wordfence or drupal/core, at most ${MAX_PROVIDER_BYTES} bytes`,
      { provider: String(text).slice(0, 200) },
    );
  }
  return text;
}

/**
 * The format 3 rules of a policy whose signers are already checked (policy.ts checkPolicy): the new members only in
 * format 3, `provider` well-formed, `roles` only in a provider policy and `providers` only in a root policy, and each
 * role (or the registry) a set of the policy's signers with a threshold between 1 and its count.
 */
export function checkProviderMembers(policy: generated.Policy): void {
  const members = (['provider', 'roles', 'providers'] as const).filter((m) => policy[m] !== undefined);
  if ((policy.format ?? 1) < POLICY_PROVIDER_FORMAT && members.length > 0) {
    throw new FormatError('SCHEMA_INVALID', `${members.join(', ')} need policy format ${POLICY_PROVIDER_FORMAT}`);
  }
  const ids = new Set(policy.signers.map((s) => s.id));
  if (policy.provider !== undefined) {
    providerName(policy.provider);
    if (policy.providers !== undefined) {
      throw new PolicyError('BAD_ROLE', `the policy of provider ${policy.provider} sets rules for providers (providers, registry): only a root policy may`, {
        provider: policy.provider,
      });
    }
    for (const role of ['admin', 'release'] as const) {
      const rule = policy.roles?.[role];
      if (rule !== undefined) checkRole(rule, ids, `role ${role}`);
    }
  } else {
    if (policy.roles !== undefined) throw new PolicyError('BAD_ROLE', 'a root policy (no provider) has no roles: its quorum is the super provider');
    const registry = policy.providers?.registry;
    if (registry !== undefined) checkRole(registry, ids, 'the registry role');
  }
}

function checkRole(rule: RoleRule, ids: ReadonlySet<string>, what: string): void {
  const seen = new Set<string>();
  for (const id of rule.signers) {
    if (!ids.has(id)) throw new PolicyError('BAD_ROLE', `${what} lists key ${id}, which is not one of the policy's signers`, { role: what, id });
    if (seen.has(id)) throw new PolicyError('BAD_ROLE', `${what} lists key ${id} twice`, { role: what, id });
    seen.add(id);
  }
  if (!Number.isInteger(rule.threshold) || rule.threshold < 1 || rule.threshold > seen.size) {
    throw new PolicyError('BAD_THRESHOLD', `${what}: threshold ${rule.threshold} must be between 1 and its ${seen.size} signers`, {
      role: what,
      threshold: rule.threshold,
      signers: seen.size,
    });
  }
}

function ringOf(checked: CheckedPolicy, rule: RoleRule): KeyRing {
  const ids = new Set(rule.signers);
  return { threshold: rule.threshold, keys: checked.keys.filter((k) => ids.has(k.signer.id)) };
}

/** Who may act in `role` for a provider: the role's keys and threshold, or the whole policy when the role is absent. */
export function roleRing(checked: CheckedPolicy, role: Role): KeyRing {
  const rule = checked.policy.roles?.[role];
  return rule === undefined ? { threshold: checked.threshold, keys: checked.keys } : ringOf(checked, rule);
}

/** The root policy's registry role, which may sign first enrolments; undefined when it names none. */
export function registryRing(root: CheckedPolicy): KeyRing | undefined {
  const rule = root.policy.providers?.registry;
  return rule === undefined ? undefined : ringOf(root, rule);
}

/** Seconds of log time before a key added to a provider policy may sign, as the root policy sets it. */
export function activationDelay(root: CheckedPolicy): number {
  return root.policy.providers?.activationDelay ?? DEFAULT_ACTIVATION_DELAY;
}

/** The provider a policy is for; undefined for a root policy. */
export function providerOf(checked: CheckedPolicy): string | undefined {
  return checked.policy.provider;
}

/** policyWarnings' part for format 3: a role any one key can act in alone. */
export function roleWarnings(policy: generated.Policy): string[] {
  const rules: Array<[string, RoleRule | undefined]> = [
    ['admin', policy.roles?.admin],
    ['release', policy.roles?.release],
    ['registry', policy.providers?.registry],
  ];
  return rules
    .filter((r): r is [string, RoleRule] => r[1]?.threshold === 1)
    .map(
      ([name, r]) =>
        `a 1-of-${r.signers.length} ${name} role: any one of its keys can ${name === 'admin' ? 'change the policy and revoke keys' : name === 'release' ? 'sign a release' : 'enrol a provider'} on its own`,
    );
}
