// C2SP tlog-policy (c2sp.org/tlog-policy): which logs a verifier accepts, its witnesses, groups, and the quorum of
// cosignatures a checkpoint needs. Lines (items separated by spaces or tabs; blank and # lines ignored):
//   log <vkey> [url]
//   witness <name> <vkey> [url]
//   group <name> all|any|<k> <member>…
//   quorum <name>|none            (exactly one)
// Names are defined before use, so groups cannot be circular; a member appears at most once per group.
import { bytesEqual, fromUtf8 } from '../core/bytes.js';
import { cosignatureVerifier } from './cosignature.js';
import { LogError } from './errors.js';
import { ed25519Verifier, parseVkey, SIG_COSIGNATURE_V1, SIG_ED25519, type NoteVerifier, type Vkey } from './note.js';

/** Above the spec's recommended minimum of 32 of each. */
export const MAX_POLICY_ITEMS = 256;
export const MAX_POLICY_BYTES = 256 * 1024;

export interface PolicyLog {
  vkey: string;
  key: Vkey;
  verifier: NoteVerifier;
  url?: string;
}

export interface PolicyWitness {
  name: string;
  vkey: string;
  key: Vkey;
  verifier: NoteVerifier;
  url?: string;
}

export interface PolicyGroup {
  name: string;
  threshold: number;
  members: string[];
}

export interface TlogPolicy {
  logs: PolicyLog[];
  witnesses: Map<string, PolicyWitness>;
  groups: Map<string, PolicyGroup>;
  /** A witness or group name, or 'none'. */
  quorum: string;
}

const NAME = /^[^\s#]+$/;
const DECIMAL = /^[1-9][0-9]*$/;

/** Parses a policy file; every refusal is BAD_LOG_POLICY naming the line. */
export function parseTlogPolicy(input: Uint8Array | string): TlogPolicy {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length > MAX_POLICY_BYTES) throw new LogError('BAD_LOG_POLICY', `the log policy is ${bytes.length} bytes; the limit is ${MAX_POLICY_BYTES}`);
  // Octets allowed: tab, newline, 0x20-0x7E and 0x80-0xFF (non-ASCII is opaque: names compare as bytes).
  for (const b of bytes)
    if (b !== 0x09 && b !== 0x0a && (b < 0x20 || b === 0x7f))
      throw new LogError('BAD_LOG_POLICY', `the log policy holds control byte 0x${b.toString(16).padStart(2, '0')}`);
  const text = bytes.toString('latin1');
  const policy: TlogPolicy = { logs: [], witnesses: new Map(), groups: new Map(), quorum: '' };
  let quorumSeen = false;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const fail = (why: string): never => {
      throw new LogError('BAD_LOG_POLICY', `log policy line ${i + 1}: ${why}`, { line: i + 1 });
    };
    const items = raw.split(/[ \t]+/).filter((x) => x.length > 0);
    if (items.length === 0 || items[0]!.startsWith('#')) return;
    const [keyword, ...args] = items as [string, ...string[]];
    const defined = (name: string): boolean => policy.witnesses.has(name) || policy.groups.has(name);
    const newName = (name: string | undefined): string => {
      if (name === undefined || !NAME.test(name)) fail('a name is one item without #');
      if (name === 'none') fail('"none" is predefined');
      if (defined(name!)) fail(`${name} is already defined`);
      return name!;
    };
    const key = (vkey: string | undefined, type: number): Vkey => {
      if (vkey === undefined) fail('a vkey is missing');
      let k: Vkey;
      try {
        // The line was read as latin1; a vkey's bytes must be UTF-8 (never decoded with replacement characters).
        k = parseVkey(fromUtf8(Buffer.from(vkey!, 'latin1'), 'a vkey'));
      } catch (err) {
        return fail((err as Error).message);
      }
      if (k.type !== type) fail(`a ${type === SIG_ED25519 ? 'log key is Ed25519 (type 1)' : 'witness key is a cosignature/v1 key (type 4)'}`);
      const all = [...policy.logs.map((l) => l.key), ...[...policy.witnesses.values()].map((w) => w.key)];
      if (all.some((o) => bytesEqual(o.publicKey, k.publicKey))) fail('the same public key is listed twice');
      return k;
    };
    const count = policy.logs.length + policy.witnesses.size + policy.groups.size;
    if (count >= 3 * MAX_POLICY_ITEMS) fail('too many logs, witnesses and groups');
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) fail('log <vkey> [url]');
        if (policy.logs.length >= MAX_POLICY_ITEMS) fail(`more than ${MAX_POLICY_ITEMS} logs`);
        const k = key(args[0], SIG_ED25519);
        policy.logs.push({ vkey: args[0]!, key: k, verifier: ed25519Verifier(k), ...(args[1] ? { url: args[1] } : {}) });
        return;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) fail('witness <name> <vkey> [url]');
        if (policy.witnesses.size >= MAX_POLICY_ITEMS) fail(`more than ${MAX_POLICY_ITEMS} witnesses`);
        const name = newName(args[0]);
        const k = key(args[1], SIG_COSIGNATURE_V1);
        policy.witnesses.set(name, { name, vkey: args[1]!, key: k, verifier: cosignatureVerifier(k), ...(args[2] ? { url: args[2] } : {}) });
        return;
      }
      case 'group': {
        if (args.length < 3) fail('group <name> all|any|<k> <member>…');
        if (policy.groups.size >= MAX_POLICY_ITEMS) fail(`more than ${MAX_POLICY_ITEMS} groups`);
        const name = newName(args[0]);
        const members = args.slice(2);
        for (const [j, m] of members.entries()) {
          if (m === 'none') fail('"none" cannot be a group member');
          if (!defined(m)) fail(`${m} is not defined on an earlier line`);
          if (members.indexOf(m) !== j) fail(`${m} is listed twice`);
        }
        const t = args[1]!;
        let threshold: number;
        if (t === 'all') threshold = members.length;
        else if (t === 'any') threshold = 1;
        else if (DECIMAL.test(t) && Number(t) <= members.length) threshold = Number(t);
        else return fail(`the threshold ${t} is not all, any or a decimal in 1..${members.length}`);
        policy.groups.set(name, { name, threshold, members });
        return;
      }
      case 'quorum': {
        if (args.length !== 1) fail('quorum <name>|none');
        if (quorumSeen) fail('a policy has exactly one quorum line');
        if (args[0] !== 'none' && !defined(args[0]!)) fail(`${args[0]} is not defined on an earlier line`);
        quorumSeen = true;
        policy.quorum = args[0]!;
        return;
      }
      default:
        fail(`unknown keyword ${JSON.stringify(keyword.slice(0, 40))}`);
    }
  });
  if (!quorumSeen) throw new LogError('BAD_LOG_POLICY', 'the log policy has no quorum line');
  return policy;
}

/** Whether the witnesses named in `cosigned` satisfy the policy's quorum (`none` is always satisfied). */
export function quorumMet(policy: TlogPolicy, cosigned: ReadonlySet<string>): boolean {
  const met = (name: string): boolean => {
    if (name === 'none') return true;
    if (policy.witnesses.has(name)) return cosigned.has(name);
    const group = policy.groups.get(name);
    if (!group) return false;
    return group.members.filter(met).length >= group.threshold;
  };
  return met(policy.quorum);
}

/** The policy's log whose key name is `origin` (tlog-policy: the log vkey's name is its origin), if any. */
export function logForOrigin(policy: TlogPolicy, origin: string): PolicyLog | undefined {
  return policy.logs.find((l) => l.key.name === origin);
}
