// The hub registry in PostgreSQL (lib/hub/registry.ts has the interface), shared by any number of hub
// processes on any number of machines: deliveries are claimed with FOR UPDATE SKIP LOCKED, so two
// runners never hold the same one. Times are timestamptz, keys bytea, JSON jsonb.
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { importOptional } from '../node/optional-dependency.js';
import type { PackageResult } from '../distribution/messages.js';
import {
  SCHEMA_VERSION,
  addMs,
  checkSchemaVersion,
  conflict,
  groupReports,
  isoTime,
  missingRegistry,
  outcomeRow,
  redactUrl,
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

const CONNECT_TIMEOUT_MS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sites (
  id text PRIMARY KEY,
  endpoint text,
  key bytea NOT NULL,
  registered timestamptz NOT NULL,
  address text NOT NULL,
  private_endpoint boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS offers (
  name text PRIMARY KEY,
  product text NOT NULL,
  component text NOT NULL,
  version text NOT NULL,
  applies_to jsonb NOT NULL,
  risk jsonb NOT NULL,
  advisory text,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  hawk_hash text NOT NULL,
  file text NOT NULL,
  published timestamptz NOT NULL,
  manifest_sha256 text NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
  id text PRIMARY KEY,
  created timestamptz NOT NULL,
  offers jsonb NOT NULL,
  min_risk text,
  finished timestamptz
);
CREATE TABLE IF NOT EXISTS deliveries (
  campaign_id text NOT NULL REFERENCES campaigns (id),
  site_id text NOT NULL REFERENCES sites (id),
  state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  lease_owner text,
  lease_until timestamptz,
  result jsonb,
  PRIMARY KEY (campaign_id, site_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (campaign_id, state, next_attempt_at);
CREATE TABLE IF NOT EXISTS nonces (
  credential text NOT NULL,
  nonce text NOT NULL,
  ts bigint NOT NULL,
  expires timestamptz NOT NULL,
  PRIMARY KEY (credential, nonce, ts)
);
CREATE INDEX IF NOT EXISTS nonces_expires ON nonces (expires);
CREATE TABLE IF NOT EXISTS site_polls (
  site_id text PRIMARY KEY REFERENCES sites (id),
  last_seen timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS site_reports (
  site_id text NOT NULL REFERENCES sites (id),
  name text NOT NULL,
  status text NOT NULL,
  code text,
  message text,
  kept jsonb,
  reported timestamptz NOT NULL,
  PRIMARY KEY (site_id, name)
);
`;

// Text ordering must not depend on the database's locale, and must match SQLite's (by code point).
const OFFER_ORDER = 'product COLLATE "C", component COLLATE "C", version COLLATE "C", name COLLATE "C"';

interface SiteRow {
  id: string;
  endpoint: string | null;
  key: Buffer;
  registered: Date;
  address: string;
  private_endpoint: boolean;
}

function siteFromRow(row: SiteRow): SiteRecord {
  return {
    id: row.id,
    endpoint: row.endpoint,
    key: new Uint8Array(row.key),
    registered: row.registered.toISOString(),
    address: row.address,
    privateEndpoint: row.private_endpoint,
  };
}

interface OfferRow {
  name: string;
  product: string;
  component: string;
  version: string;
  applies_to: string[];
  risk: OfferRecord['risk'];
  advisory: string | null;
  size: string;
  sha256: string;
  hawk_hash: string;
  file: string;
  published: Date;
  manifest_sha256: string;
}

interface CampaignRow {
  id: string;
  created: Date;
  offers: string[];
  min_risk: string | null;
  finished: Date | null;
}

export async function openPostgresRegistry(url: string, opts: OpenOptions = {}): Promise<Registry> {
  let pool: Pool | undefined;
  try {
    const { default: pg } = await importOptional<typeof import('pg')>('pg', 'a postgres:// registry');
    pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'countersign-hub' });
    // An idle connection that drops emits 'error' on the pool, which would kill the process unheard;
    // the next query that needs a connection reports the failure instead.
    pool.on('error', () => {});
    // Connect once here, so that an unreachable server or a refused login is reported with the URL.
    (await pool.connect()).release();
    const registry = new PostgresRegistry(pool);
    if (opts.mustExist && (await pool.query("SELECT to_regclass('schema_version') AS t")).rows[0]?.t === null) throw missingRegistry(redactUrl(url));
    await registry.migrate();
    return registry;
  } catch (err) {
    await pool?.end().catch(() => {});
    throw registryError(err, `opening ${redactUrl(url)}`);
  }
}

class PostgresRegistry implements Registry {
  readonly kind = 'postgres';
  readonly #pool: Pool;
  #ended: Promise<void> | undefined;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async migrate(): Promise<void> {
    await this.#transaction('creating the schema', async (client) => {
      // Two hubs starting on an empty database would otherwise race to create the same tables.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('countersign hub registry schema'))");
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
      const found = (await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_version')).rows[0]!.version;
      checkSchemaVersion(found);
      await client.query(SCHEMA);
      if (found === null) await client.query('INSERT INTO schema_version (version) VALUES ($1)', [SCHEMA_VERSION]);
    });
  }

  close(): Promise<void> {
    this.#ended ??= this.#pool.end();
    return this.#ended;
  }

  async addSite(site: SiteRecord): Promise<void> {
    const added = await this.#query(
      'adding a site',
      'INSERT INTO sites (id, endpoint, key, registered, address, private_endpoint) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING',
      [site.id, site.endpoint, Buffer.from(site.key), isoTime(site.registered, 'registered'), site.address, site.privateEndpoint],
    );
    if (added.rowCount === 0) throw conflict('site', 'id', site.id);
  }

  async getSite(id: string): Promise<SiteRecord | undefined> {
    const row = (await this.#query<SiteRow>('reading a site', 'SELECT * FROM sites WHERE id = $1', [id])).rows[0];
    return row && siteFromRow(row);
  }

  async getSites(ids: readonly string[]): Promise<SiteRecord[]> {
    if (ids.length === 0) return [];
    return (await this.#query<SiteRow>('reading sites', 'SELECT * FROM sites WHERE id = ANY ($1::text[])', [ids])).rows.map(siteFromRow);
  }

  async countSites(): Promise<number> {
    return (await this.#query<{ n: number }>('counting sites', 'SELECT count(*)::integer AS n FROM sites')).rows[0]!.n;
  }

  async putOffer(offer: OfferRecord): Promise<'added' | 'exists'> {
    const added = await this.#query(
      'adding an offer',
      `INSERT INTO offers (name, product, component, version, applies_to, risk, advisory, size, sha256, hawk_hash, file, published, manifest_sha256)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (name) DO NOTHING`,
      [
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
        isoTime(offer.published, 'published'),
        offer.manifestSha256,
      ],
    );
    if (added.rowCount === 1) return 'added';
    // Offers are never deleted, so the row that won the conflict is still there.
    const existing = (await this.#query<{ sha256: string }>('reading an offer', 'SELECT sha256 FROM offers WHERE name = $1', [offer.name])).rows[0]!;
    if (existing.sha256 !== offer.sha256) throw conflict('offer', 'name', offer.name);
    return 'exists';
  }

  async getOffer(name: string): Promise<OfferRecord | undefined> {
    const row = (await this.#query<OfferRow>('reading an offer', 'SELECT * FROM offers WHERE name = $1', [name])).rows[0];
    return row && offerFromRow(row);
  }

  async listOffers(): Promise<OfferRecord[]> {
    return (await this.#query<OfferRow>('listing offers', `SELECT * FROM offers ORDER BY ${OFFER_ORDER}`)).rows.map(offerFromRow);
  }

  async createCampaign(c: NewCampaign): Promise<number> {
    const created = isoTime(c.created, 'created');
    return this.#transaction('creating a campaign', async (client) => {
      if (c.unlessUnfinished) {
        // Two runners' transactions serialise on this lock, so the second one sees the first one's campaign.
        await client.query('LOCK TABLE campaigns IN SHARE ROW EXCLUSIVE MODE');
        const open = (await client.query<{ id: string }>('SELECT id FROM campaigns WHERE finished IS NULL LIMIT 1')).rows[0];
        if (open) throw unfinishedConflict(open.id);
      }
      const inserted = await client.query('INSERT INTO campaigns (id, created, offers, min_risk) VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (id) DO NOTHING', [
        c.id,
        created,
        JSON.stringify(c.offers),
        c.minRisk,
      ]);
      if (inserted.rowCount === 0) throw conflict('campaign', 'id', c.id);
      const enrolled = await client.query(
        `INSERT INTO deliveries (campaign_id, site_id, state, next_attempt_at)
         SELECT $1, id, 'pending', $2 FROM sites WHERE endpoint IS NOT NULL`,
        [c.id, created],
      );
      return enrolled.rowCount ?? 0;
    });
  }

  async getCampaign(id: string): Promise<CampaignRecord | undefined> {
    const row = (await this.#query<CampaignRow>('reading a campaign', 'SELECT * FROM campaigns WHERE id = $1', [id])).rows[0];
    return row && campaignFromRow(row);
  }

  async unfinishedCampaign(): Promise<CampaignRecord | undefined> {
    const row = (
      await this.#query<CampaignRow>('reading campaigns', 'SELECT * FROM campaigns WHERE finished IS NULL ORDER BY created DESC, id COLLATE "C" DESC LIMIT 1')
    ).rows[0];
    return row && campaignFromRow(row);
  }

  async recentCampaigns(limit: number): Promise<CampaignRecord[]> {
    const rows = (await this.#query<CampaignRow>('reading campaigns', 'SELECT * FROM campaigns ORDER BY created DESC, id COLLATE "C" DESC LIMIT $1', [limit]))
      .rows;
    return rows.map(campaignFromRow);
  }

  async claimDeliveries(campaignId: string, owner: string, limit: number, now: string, leaseMs: number): Promise<DeliveryClaim[]> {
    // ARRAY(subquery) is an init plan, run exactly once whatever plan the UPDATE gets, so no more than
    // `limit` rows are taken, none that another runner has locked; and the rows are then found by the
    // primary key rather than by a join over the whole campaign.
    const claimed = await this.#query<DeliveryClaim>(
      'claiming deliveries',
      `UPDATE deliveries SET state = 'running', lease_owner = $4, lease_until = $5, attempts = attempts + 1
       WHERE campaign_id = $1 AND site_id = ANY (ARRAY(
         SELECT site_id FROM deliveries
         WHERE campaign_id = $1
           AND ((state = 'pending' AND next_attempt_at <= $2) OR (state = 'running' AND lease_until <= $2))
         LIMIT $3
         FOR UPDATE SKIP LOCKED))
       RETURNING site_id AS "siteId", attempts`,
      [campaignId, isoTime(now, 'now'), limit, owner, addMs(now, leaseMs)],
    );
    return claimed.rows;
  }

  async finishDelivery(campaignId: string, siteId: string, owner: string, outcome: DeliveryOutcome, now: string): Promise<boolean> {
    const row = outcomeRow(outcome, now);
    const done = await this.#query(
      'finishing a delivery',
      `UPDATE deliveries SET state = $1, result = $2::jsonb, next_attempt_at = coalesce($3::timestamptz, next_attempt_at), lease_owner = NULL, lease_until = NULL
       WHERE campaign_id = $4 AND site_id = $5 AND state = 'running' AND lease_owner = $6`,
      [row.state, row.result, row.due, campaignId, siteId, owner],
    );
    return done.rowCount === 1;
  }

  async finishDeliveries(
    campaignId: string,
    owner: string,
    items: ReadonlyArray<{ siteId: string; outcome: DeliveryOutcome }>,
    now: string,
  ): Promise<boolean[]> {
    if (items.length === 0) return [];
    const rows = items.map((item) => outcomeRow(item.outcome, now));
    // One statement over arrays: one round trip and one commit for the whole group.
    const done = await this.#query<{ site_id: string }>(
      'finishing deliveries',
      `UPDATE deliveries d SET state = v.state, result = v.result::jsonb, next_attempt_at = coalesce(v.due::timestamptz, d.next_attempt_at), lease_owner = NULL, lease_until = NULL
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(site_id, state, result, due)
       WHERE d.campaign_id = $5 AND d.site_id = v.site_id AND d.state = 'running' AND d.lease_owner = $6
       RETURNING d.site_id`,
      [items.map((i) => i.siteId), rows.map((r) => r.state), rows.map((r) => r.result), rows.map((r) => r.due), campaignId, owner],
    );
    const finished = new Set(done.rows.map((r) => r.site_id));
    return items.map((item) => finished.has(item.siteId));
  }

  async campaignProgress(campaignId: string): Promise<CampaignProgress> {
    const rows = (
      await this.#query<{ state: DeliveryState; n: number }>(
        'counting deliveries',
        'SELECT state, count(*)::integer AS n FROM deliveries WHERE campaign_id = $1 GROUP BY state',
        [campaignId],
      )
    ).rows;
    const progress: CampaignProgress = { pending: 0, running: 0, done: 0, failed: 0, total: 0 };
    for (const { state, n } of rows) {
      progress[state] = n;
      progress.total += n;
    }
    return progress;
  }

  async deliveryResults(campaignId: string): Promise<DeliveryResult[]> {
    return (
      await this.#query<DeliveryResult>(
        'reading deliveries',
        'SELECT site_id AS "siteId", state, attempts, result FROM deliveries WHERE campaign_id = $1 ORDER BY site_id COLLATE "C"',
        [campaignId],
      )
    ).rows;
  }

  async finishCampaign(id: string, now: string): Promise<void> {
    const found = await this.#query('finishing a campaign', 'UPDATE campaigns SET finished = coalesce(finished, $1) WHERE id = $2', [isoTime(now, 'now'), id]);
    if (found.rowCount === 0) throw unknownCampaign(id);
  }

  async nextDue(campaignId: string): Promise<string | null> {
    const due = (
      await this.#query<{ due: Date | null }>(
        'reading deliveries',
        "SELECT min(next_attempt_at) AS due FROM deliveries WHERE campaign_id = $1 AND state = 'pending'",
        [campaignId],
      )
    ).rows[0]!.due;
    return due && due.toISOString();
  }

  #noncesSincePurge = 0;

  async rememberNonce(credential: string, nonce: string, ts: number, expires: string, now: string): Promise<boolean> {
    if (++this.#noncesSincePurge >= NONCE_PURGE_EVERY) {
      this.#noncesSincePurge = 0;
      await this.#query('purging nonces', 'DELETE FROM nonces WHERE expires < $1', [isoTime(now, 'now')]);
    }
    const added = await this.#query('recording a nonce', 'INSERT INTO nonces (credential, nonce, ts, expires) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      credential,
      nonce,
      ts,
      isoTime(expires, 'expires'),
    ]);
    return added.rowCount === 1;
  }

  async recordPoll(siteId: string, results: PackageResult[], now: string): Promise<void> {
    const at = isoTime(now, 'now');
    await this.#transaction('recording a poll', async (client) => {
      await client.query('INSERT INTO site_polls (site_id, last_seen) VALUES ($1, $2) ON CONFLICT (site_id) DO UPDATE SET last_seen = excluded.last_seen', [
        siteId,
        at,
      ]);
      for (const r of results) {
        await client.query(
          `INSERT INTO site_reports (site_id, name, status, code, message, kept, reported) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
           ON CONFLICT (site_id, name) DO UPDATE SET status = excluded.status, code = excluded.code, message = excluded.message, kept = excluded.kept, reported = excluded.reported`,
          [siteId, r.name, r.status, r.code ?? null, r.message ?? null, r.kept ? JSON.stringify(r.kept) : null, at],
        );
      }
    });
  }

  async pollingSites(): Promise<PollingSite[]> {
    const sites = (
      await this.#query<{ id: string; registered: Date; lastSeen: Date | null }>(
        'reading polling sites',
        'SELECT s.id, s.registered, p.last_seen AS "lastSeen" FROM sites s LEFT JOIN site_polls p ON p.site_id = s.id WHERE s.endpoint IS NULL ORDER BY s.id COLLATE "C"',
      )
    ).rows;
    const reports = (
      await this.#query<Omit<PollReport, 'reported'> & { siteId: string; reported: Date }>(
        'reading polling sites',
        `SELECT r.site_id AS "siteId", r.name, r.status, r.code, r.message, r.kept, r.reported FROM site_reports r JOIN sites s ON s.id = r.site_id
         WHERE s.endpoint IS NULL ORDER BY r.site_id COLLATE "C", r.name COLLATE "C"`,
      )
    ).rows;
    return groupReports(
      sites.map((s) => ({ id: s.id, registered: s.registered.toISOString(), lastSeen: s.lastSeen && s.lastSeen.toISOString() })),
      reports.map((r) => ({ ...r, reported: r.reported.toISOString() })),
    );
  }

  async #query<R extends QueryResultRow = QueryResultRow>(doing: string, sql: string, params: unknown[] = []) {
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (err) {
      throw registryError(err, doing);
    }
  }

  async #transaction<T>(doing: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient | undefined;
    let broken = false;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that cannot even roll back is discarded rather than returned to the pool.
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      }
    } catch (err) {
      throw registryError(err, doing);
    } finally {
      client?.release(broken);
    }
  }
}

function offerFromRow(row: OfferRow): OfferRecord {
  return {
    name: row.name,
    product: row.product,
    component: row.component,
    version: row.version,
    appliesTo: row.applies_to,
    risk: row.risk,
    advisory: row.advisory,
    size: Number(row.size),
    sha256: row.sha256,
    hawkHash: row.hawk_hash,
    file: row.file,
    published: row.published.toISOString(),
    manifestSha256: row.manifest_sha256,
  };
}

function campaignFromRow(row: CampaignRow): CampaignRecord {
  return { id: row.id, created: row.created.toISOString(), offers: row.offers, minRisk: row.min_risk, finished: row.finished && row.finished.toISOString() };
}
