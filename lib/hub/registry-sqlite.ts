// The hub registry in one SQLite file (lib/hub/registry.ts has the interface): WAL mode, so readers do
// not wait for the writer, and a busy timeout, so several hub processes on one machine take turns.
// Times are stored as toISOString() text, which compares as it sorts; keys as blobs, JSON as text.
// better-sqlite3 is synchronous: each method runs to completion before its promise settles.
import { closeSync, existsSync, openSync } from 'node:fs';
import type { Database, Statement } from 'better-sqlite3';
import { importOptional } from '../node/optional-dependency.js';
import type { PackageResult } from '../distribution/messages.js';
import type { Risk } from '../core/risk.js';
import {
  SCHEMA_VERSION,
  addMs,
  checkSchemaVersion,
  conflict,
  groupReports,
  isoTime,
  missingRegistry,
  outcomeRow,
  registryError,
  unknownCampaign,
  unfinishedConflict,
  NONCE_PURGE_EVERY,
  type CampaignProgress,
  type CampaignRecord,
  type DeliveryClaim,
  type DeliveryOutcome,
  type DeliveryResult,
  type DeliveryState,
  type NewCampaign,
  type OfferRecord,
  type OpenOptions,
  type PollingSite,
  type PollReport,
  type Registry,
  type SiteRecord,
} from './registry.js';

const BUSY_TIMEOUT_MS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sites (
  id TEXT PRIMARY KEY,
  endpoint TEXT,
  key BLOB NOT NULL,
  registered TEXT NOT NULL,
  address TEXT NOT NULL,
  private_endpoint INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS offers (
  name TEXT PRIMARY KEY,
  product TEXT NOT NULL,
  component TEXT NOT NULL,
  version TEXT NOT NULL,
  applies_to TEXT NOT NULL,
  risk TEXT NOT NULL,
  advisory TEXT,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  hawk_hash TEXT NOT NULL,
  file TEXT NOT NULL,
  published TEXT NOT NULL,
  manifest_sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
  id TEXT PRIMARY KEY,
  created TEXT NOT NULL,
  offers TEXT NOT NULL,
  min_risk TEXT,
  finished TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
  campaign_id TEXT NOT NULL REFERENCES campaigns (id),
  site_id TEXT NOT NULL REFERENCES sites (id),
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  lease_owner TEXT,
  lease_until TEXT,
  result TEXT,
  PRIMARY KEY (campaign_id, site_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (campaign_id, state, next_attempt_at);
CREATE TABLE IF NOT EXISTS nonces (
  credential TEXT NOT NULL,
  nonce TEXT NOT NULL,
  ts INTEGER NOT NULL,
  expires TEXT NOT NULL,
  PRIMARY KEY (credential, nonce, ts)
);
CREATE INDEX IF NOT EXISTS nonces_expires ON nonces (expires);
CREATE TABLE IF NOT EXISTS site_polls (
  site_id TEXT PRIMARY KEY REFERENCES sites (id),
  last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS site_reports (
  site_id TEXT NOT NULL REFERENCES sites (id),
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  code TEXT,
  message TEXT,
  kept TEXT,
  reported TEXT NOT NULL,
  PRIMARY KEY (site_id, name)
);
`;

interface SiteRow {
  id: string;
  endpoint: string | null;
  key: Buffer;
  registered: string;
  address: string;
  private_endpoint: number;
}

interface OfferRow {
  name: string;
  product: string;
  component: string;
  version: string;
  applies_to: string;
  risk: string;
  advisory: string | null;
  size: number;
  sha256: string;
  hawk_hash: string;
  file: string;
  published: string;
  manifest_sha256: string;
}

interface CampaignRow {
  id: string;
  created: string;
  offers: string;
  min_risk: string | null;
  finished: string | null;
}

function siteFromRow(row: SiteRow): SiteRecord {
  return {
    id: row.id,
    endpoint: row.endpoint,
    key: new Uint8Array(row.key),
    registered: row.registered,
    address: row.address,
    privateEndpoint: row.private_endpoint === 1,
  };
}

export async function openSqliteRegistry(path: string, opts: OpenOptions = {}): Promise<Registry> {
  let db: Database | undefined;
  try {
    const { default: Sqlite } = await importOptional<{ default: typeof import('better-sqlite3') }>('better-sqlite3', 'a sqlite: registry');
    if (opts.mustExist && (path === ':memory:' || !existsSync(path))) throw missingRegistry(`sqlite:${path}`);
    // Create the file ourselves so that it is 0600 from the start; SQLite gives -wal and -shm the same mode.
    if (path !== ':memory:') closeSync(openSync(path, 'a', 0o600));
    db = new Sqlite(path, { timeout: BUSY_TIMEOUT_MS, fileMustExist: opts.mustExist === true });
    if (opts.mustExist && !db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get()) {
      throw missingRegistry(`sqlite:${path} (the file holds no countersign registry)`);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return new SqliteRegistry(db);
  } catch (err) {
    db?.close();
    throw registryError(err, `opening sqlite:${path}`);
  }
}

function migrate(db: Database): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const found = (db.prepare('SELECT max(version) AS version FROM schema_version').get() as { version: number | null }).version;
    checkSchemaVersion(found);
    db.exec(SCHEMA);
    if (found === null) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  }).immediate();
}

// Expired leases first (they have waited longest), then pending deliveries in due order; both halves
// walk the deliveries_due index and stop at the limit.
const CLAIM = `UPDATE deliveries SET state = 'running', lease_owner = @owner, lease_until = @until, attempts = attempts + 1
  WHERE campaign_id = @campaign AND site_id IN (
    SELECT site_id FROM deliveries WHERE campaign_id = @campaign AND state = 'running' AND lease_until <= @now
    UNION ALL
    SELECT site_id FROM deliveries WHERE campaign_id = @campaign AND state = 'pending' AND next_attempt_at <= @now
    LIMIT @limit)
  RETURNING site_id AS siteId, attempts`;

class SqliteRegistry implements Registry {
  readonly kind = 'sqlite';
  readonly #db: Database;
  readonly #statements = new Map<string, Statement>();

  constructor(db: Database) {
    this.#db = db;
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  async addSite(site: SiteRecord): Promise<void> {
    const registered = isoTime(site.registered, 'registered');
    const added = this.#run('adding a site', () =>
      this.#sql('INSERT INTO sites (id, endpoint, key, registered, address, private_endpoint) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING').run(
        site.id,
        site.endpoint,
        Buffer.from(site.key),
        registered,
        site.address,
        site.privateEndpoint ? 1 : 0,
      ),
    );
    if (added.changes === 0) throw conflict('site', 'id', site.id);
  }

  async getSite(id: string): Promise<SiteRecord | undefined> {
    const row = this.#run('reading a site', () => this.#sql('SELECT * FROM sites WHERE id = ?').get(id)) as SiteRow | undefined;
    return row && siteFromRow(row);
  }

  async getSites(ids: readonly string[]): Promise<SiteRecord[]> {
    if (ids.length === 0) return [];
    const rows = this.#run('reading sites', () =>
      this.#sql('SELECT * FROM sites WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)),
    ) as SiteRow[];
    return rows.map(siteFromRow);
  }

  async countSites(): Promise<number> {
    return this.#run('counting sites', () => (this.#sql('SELECT count(*) AS n FROM sites').get() as { n: number }).n);
  }

  async putOffer(offer: OfferRecord): Promise<'added' | 'exists'> {
    const published = isoTime(offer.published, 'published');
    return this.#run('adding an offer', () =>
      this.#db
        .transaction(() => {
          const existing = this.#sql('SELECT sha256 FROM offers WHERE name = ?').get(offer.name) as { sha256: string } | undefined;
          if (existing) {
            if (existing.sha256 !== offer.sha256) throw conflict('offer', 'name', offer.name);
            return 'exists' as const;
          }
          this.#sql(
            `INSERT INTO offers (name, product, component, version, applies_to, risk, advisory, size, sha256, hawk_hash, file, published, manifest_sha256)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            offer.name,
            offer.product,
            offer.component,
            offer.version,
            JSON.stringify(offer.appliesTo),
            JSON.stringify(offer.risk),
            offer.advisory,
            offer.size,
            offer.sha256,
            offer.hawkHash,
            offer.file,
            published,
            offer.manifestSha256,
          );
          return 'added' as const;
        })
        .immediate(),
    );
  }

  async getOffer(name: string): Promise<OfferRecord | undefined> {
    const row = this.#run('reading an offer', () => this.#sql('SELECT * FROM offers WHERE name = ?').get(name)) as OfferRow | undefined;
    return row && offerFromRow(row);
  }

  async listOffers(): Promise<OfferRecord[]> {
    const rows = this.#run('listing offers', () => this.#sql('SELECT * FROM offers ORDER BY product, component, version, name').all()) as OfferRow[];
    return rows.map(offerFromRow);
  }

  async createCampaign(c: NewCampaign): Promise<number> {
    const created = isoTime(c.created, 'created');
    return this.#run('creating a campaign', () =>
      this.#db
        .transaction(() => {
          // An immediate transaction holds the write lock from its start: another runner's check waits for this insert.
          const open = c.unlessUnfinished
            ? (this.#sql('SELECT id FROM campaigns WHERE finished IS NULL LIMIT 1').get() as { id: string } | undefined)
            : undefined;
          if (open) throw unfinishedConflict(open.id);
          const inserted = this.#sql('INSERT INTO campaigns (id, created, offers, min_risk) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING').run(
            c.id,
            created,
            JSON.stringify(c.offers),
            c.minRisk,
          );
          if (inserted.changes === 0) throw conflict('campaign', 'id', c.id);
          return this.#sql(
            `INSERT INTO deliveries (campaign_id, site_id, state, next_attempt_at)
             SELECT ?, id, 'pending', ? FROM sites WHERE endpoint IS NOT NULL`,
          ).run(c.id, created).changes;
        })
        .immediate(),
    );
  }

  async getCampaign(id: string): Promise<CampaignRecord | undefined> {
    const row = this.#run('reading a campaign', () => this.#sql('SELECT * FROM campaigns WHERE id = ?').get(id)) as CampaignRow | undefined;
    return row && campaignFromRow(row);
  }

  async unfinishedCampaign(): Promise<CampaignRecord | undefined> {
    const row = this.#run('reading campaigns', () =>
      this.#sql('SELECT * FROM campaigns WHERE finished IS NULL ORDER BY created DESC, id DESC LIMIT 1').get(),
    ) as CampaignRow | undefined;
    return row && campaignFromRow(row);
  }

  async recentCampaigns(limit: number): Promise<CampaignRecord[]> {
    const rows = this.#run('reading campaigns', () => this.#sql('SELECT * FROM campaigns ORDER BY created DESC, id DESC LIMIT ?').all(limit)) as CampaignRow[];
    return rows.map(campaignFromRow);
  }

  async claimDeliveries(campaignId: string, owner: string, limit: number, now: string, leaseMs: number): Promise<DeliveryClaim[]> {
    const params = { campaign: campaignId, owner, limit, now: isoTime(now, 'now'), until: addMs(now, leaseMs) };
    // IMMEDIATE takes the write lock before reading, so a concurrent writer cannot make the read stale.
    return this.#run('claiming deliveries', () => this.#db.transaction(() => this.#sql(CLAIM).all(params)).immediate()) as DeliveryClaim[];
  }

  async finishDelivery(campaignId: string, siteId: string, owner: string, outcome: DeliveryOutcome, now: string): Promise<boolean> {
    return this.#run('finishing a delivery', () => this.#finish(campaignId, siteId, owner, outcome, now));
  }

  async finishDeliveries(
    campaignId: string,
    owner: string,
    items: ReadonlyArray<{ siteId: string; outcome: DeliveryOutcome }>,
    now: string,
  ): Promise<boolean[]> {
    if (items.length === 0) return [];
    return this.#run('finishing deliveries', () =>
      this.#db.transaction(() => items.map((item) => this.#finish(campaignId, item.siteId, owner, item.outcome, now))).immediate(),
    );
  }

  #finish(campaignId: string, siteId: string, owner: string, outcome: DeliveryOutcome, now: string): boolean {
    const row = outcomeRow(outcome, now);
    const done = this.#sql(
      `UPDATE deliveries SET state = ?, result = ?, next_attempt_at = coalesce(?, next_attempt_at), lease_owner = NULL, lease_until = NULL
       WHERE campaign_id = ? AND site_id = ? AND state = 'running' AND lease_owner = ?`,
    ).run(row.state, row.result, row.due, campaignId, siteId, owner);
    return done.changes === 1;
  }

  async campaignProgress(campaignId: string): Promise<CampaignProgress> {
    const rows = this.#run('counting deliveries', () =>
      this.#sql('SELECT state, count(*) AS n FROM deliveries WHERE campaign_id = ? GROUP BY state').all(campaignId),
    ) as { state: DeliveryState; n: number }[];
    const progress: CampaignProgress = { pending: 0, running: 0, done: 0, failed: 0, total: 0 };
    for (const { state, n } of rows) {
      progress[state] = n;
      progress.total += n;
    }
    return progress;
  }

  async deliveryResults(campaignId: string): Promise<DeliveryResult[]> {
    const rows = this.#run('reading deliveries', () =>
      this.#sql('SELECT site_id AS siteId, state, attempts, result FROM deliveries WHERE campaign_id = ? ORDER BY site_id').all(campaignId),
    ) as { siteId: string; state: DeliveryState; attempts: number; result: string | null }[];
    return rows.map((r) => ({ ...r, result: r.result === null ? null : JSON.parse(r.result) }));
  }

  async finishCampaign(id: string, now: string): Promise<void> {
    const finished = isoTime(now, 'now');
    const found = this.#run('finishing a campaign', () => this.#sql('UPDATE campaigns SET finished = coalesce(finished, ?) WHERE id = ?').run(finished, id));
    if (found.changes === 0) throw unknownCampaign(id);
  }

  async nextDue(campaignId: string): Promise<string | null> {
    return this.#run(
      'reading deliveries',
      () =>
        (
          this.#sql("SELECT min(next_attempt_at) AS due FROM deliveries WHERE campaign_id = ? AND state = 'pending'").get(campaignId) as {
            due: string | null;
          }
        ).due,
    );
  }

  #noncesSincePurge = 0;

  async rememberNonce(credential: string, nonce: string, ts: number, expires: string, now: string): Promise<boolean> {
    return this.#run('recording a nonce', () => {
      if (++this.#noncesSincePurge >= NONCE_PURGE_EVERY) {
        this.#noncesSincePurge = 0;
        this.#sql('DELETE FROM nonces WHERE expires < ?').run(isoTime(now, 'now'));
      }
      const added = this.#sql('INSERT INTO nonces (credential, nonce, ts, expires) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
        credential,
        nonce,
        ts,
        isoTime(expires, 'expires'),
      );
      return added.changes === 1;
    });
  }

  async recordPoll(siteId: string, results: PackageResult[], now: string): Promise<void> {
    const at = isoTime(now, 'now');
    this.#run('recording a poll', () =>
      this.#db
        .transaction(() => {
          this.#sql('INSERT INTO site_polls (site_id, last_seen) VALUES (?, ?) ON CONFLICT (site_id) DO UPDATE SET last_seen = excluded.last_seen').run(
            siteId,
            at,
          );
          for (const r of results) {
            this.#sql(
              `INSERT INTO site_reports (site_id, name, status, code, message, kept, reported) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (site_id, name) DO UPDATE SET status = excluded.status, code = excluded.code, message = excluded.message, kept = excluded.kept, reported = excluded.reported`,
            ).run(siteId, r.name, r.status, r.code ?? null, r.message ?? null, r.kept ? JSON.stringify(r.kept) : null, at);
          }
        })
        .immediate(),
    );
  }

  async pollingSites(): Promise<PollingSite[]> {
    return this.#run('reading polling sites', () => {
      const sites = this.#sql(
        'SELECT s.id, s.registered, p.last_seen AS lastSeen FROM sites s LEFT JOIN site_polls p ON p.site_id = s.id WHERE s.endpoint IS NULL ORDER BY s.id',
      ).all() as Array<{ id: string; registered: string; lastSeen: string | null }>;
      const reports = this.#sql(
        'SELECT r.site_id AS siteId, r.name, r.status, r.code, r.message, r.kept, r.reported FROM site_reports r JOIN sites s ON s.id = r.site_id WHERE s.endpoint IS NULL ORDER BY r.site_id, r.name',
      ).all() as Array<Omit<PollReport, 'kept'> & { siteId: string; kept: string | null }>;
      return groupReports(
        sites,
        reports.map((r) => ({ ...r, kept: r.kept === null ? null : (JSON.parse(r.kept) as string[]) })),
      );
    });
  }

  /** Each statement is prepared once per connection. */
  #sql(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, (statement = this.#db.prepare(sql)));
    return statement;
  }

  #run<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw registryError(err, doing);
    }
  }
}

function offerFromRow(row: OfferRow): OfferRecord {
  return {
    name: row.name,
    product: row.product,
    component: row.component,
    version: row.version,
    appliesTo: JSON.parse(row.applies_to) as string[],
    risk: JSON.parse(row.risk) as Risk,
    advisory: row.advisory,
    size: row.size,
    sha256: row.sha256,
    hawkHash: row.hawk_hash,
    file: row.file,
    published: row.published,
    manifestSha256: row.manifest_sha256,
  };
}

function campaignFromRow(row: CampaignRow): CampaignRecord {
  return { id: row.id, created: row.created, offers: JSON.parse(row.offers) as string[], minRisk: row.min_risk, finished: row.finished };
}
