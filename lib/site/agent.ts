// The site's side of the conversation, shared by push (the hub calls `site serve`) and poll (the site
// calls the hub): given an index, ask for the first package wanted; given a package, let the backend
// verify and act on it, then ask for the next or say done. The agent decides nothing about trust: the
// backend verifies every bundle against the site's own store before anything is installed.
import type { IndexEntry, IndexMessage, PackageResult, SiteReply } from '../distribution/messages.js';
import { DistributionError } from '../core/errors.js';
import type { RiskLevel } from '../core/risk.js';
import { nextWanted, type Installed } from './choose.js';

export interface SiteBackend {
  /** What the site runs now; re-read for every decision, since an install changes it. */
  installed(): Promise<Installed[]>;
  /**
   * Verifies a received bundle file as this site and installs or keeps it; reports, never throws. The file
   * is a spool, not fsynced: a backend that keeps it moves it and makes it durable; the caller removes it if it is still there.
   */
  take(entry: IndexEntry, file: string): Promise<PackageResult>;
}

interface Conversation {
  offers: IndexEntry[];
  asked: Set<string>;
  /** The package asked for and not yet received. */
  awaiting: IndexEntry | undefined;
  results: PackageResult[];
  finished: boolean;
}

/** Conversations kept at once; the oldest is forgotten first (a flood of real campaigns cannot grow memory). */
const MAX_CONVERSATIONS = 64;

/** Reported for a release installed in part: the kept files in `kept`, and in the message (which a hub keeps for polling sites). */
export function partialResult(name: string, kept: readonly string[]): PackageResult {
  const list = kept.slice(0, 1000);
  const message = `applied in part: ${kept.length} file${kept.length === 1 ? '' : 's'} kept as the site had them: ${kept.join(', ')}`;
  return { name, status: 'partial', code: 'PARTIALLY_INSTALLED', message: message.length > 2000 ? `${message.slice(0, 1997)}...` : message, kept: list };
}

export class SiteAgent {
  private readonly conversations = new Map<string, Conversation>();
  constructor(
    private readonly backend: SiteBackend,
    private readonly opts: { minRisk: RiskLevel | null },
  ) {}

  /**
   * Starts (or, for a campaign already finished here, repeats the answer of) a conversation. A hub that
   * resumes after a crash may send the same campaign again: the site then says done with the results it
   * already reported and receives nothing twice.
   */
  async onIndex(index: IndexMessage, key = index.campaign ?? 'poll'): Promise<SiteReply> {
    const earlier = this.conversations.get(key);
    if (earlier?.finished && index.campaign !== null) return { type: 'done', results: earlier.results };
    const conversation: Conversation = { offers: index.offers, asked: new Set(), awaiting: undefined, results: [], finished: false };
    this.conversations.delete(key);
    this.conversations.set(key, conversation);
    if (this.conversations.size > MAX_CONVERSATIONS) this.conversations.delete(this.conversations.keys().next().value as string);
    return this.next(conversation);
  }

  /**
   * Takes the package this conversation is waiting for, if `name` is it: once only, so a second upload of
   * the same package (another hub runner, a replayed conversation) is refused before its body is read.
   */
  claim(key: string, name: string): IndexEntry | undefined {
    const conversation = this.conversations.get(key);
    const awaiting = conversation?.awaiting;
    if (!conversation || awaiting?.name !== name) return undefined;
    conversation.awaiting = undefined;
    return awaiting;
  }

  /** Hands a claimed package (already checked against its Hawk payload hash) to the backend; returns the next reply. */
  async onPackage(key: string, entry: IndexEntry, file: string): Promise<SiteReply> {
    const conversation = this.conversations.get(key);
    if (!conversation) throw new DistributionError('PROTOCOL', `conversation ${key} was replaced while ${entry.name} was received`);
    conversation.results.push(await this.backend.take(entry, file));
    return this.next(conversation);
  }

  private async next(conversation: Conversation): Promise<SiteReply> {
    const installed = await this.backend.installed();
    // A release applied in part stays on offer (the site runs the version before); it is reported with the
    // files kept, not received again, until an operator merges them and records the install.
    for (const offer of conversation.offers) {
      const partial = installed.find((i) => i.product === offer.product && i.component === offer.component)?.partial;
      if (!partial || partial.version !== offer.version || conversation.asked.has(offer.name)) continue;
      conversation.asked.add(offer.name);
      conversation.results.push(partialResult(offer.name, partial.kept));
    }
    const wanted = nextWanted(conversation.offers, installed, { minRisk: this.opts.minRisk, asked: conversation.asked });
    if (!wanted) {
      conversation.finished = true;
      return { type: 'done', results: conversation.results };
    }
    conversation.asked.add(wanted.name);
    conversation.awaiting = wanted;
    return { type: 'want', name: wanted.name };
  }
}
