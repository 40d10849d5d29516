/**
 * Certificate expiry of a self-hosted cluster, per node and certificate type, from the node
 * metrics security.certificate.expiration.* (crdb_internal.kv_node_status), or from the HTTP
 * status endpoints when SQL cannot read them.
 */
import { MAX_MESSAGE, untrustedText } from '../safety/untrusted.js';
import { certTypeInfo, nextAction, SQL_USER_NAME } from '../certs/cert-types.js';
import { classifyExpiry, worstSeverity, type ExpiryStatus, type Severity } from '../certs/thresholds.js';
import { OperatorError } from '../errors.js';
import type { ResolvedConnection } from './connection.js';
import type { SqlConnector } from './connector.js';
import { HTTP_ALTERNATIVES, metricsObject, readCrdbInternal, SENSITIVE_ACCESS_NOTE, UnsafeInternalsRefused, type UnsafeInternalsOutcome } from './internals.js';
import { detectServer, notCockroachNote, type ServerInfo } from './server-info.js';
import { fetchStatus } from './status-http.js';
import { parseCertificatesResponse, parsePrometheusCertExpirations, PER_USER_CERT_TYPE, type StatusCertExpiry } from './status-parsers.js';

export interface CertExpiryItem {
  node_id: string;
  address: string | null;
  type: string;
  /** The SQL user of a client certificate; null for every other type. */
  sql_user: string | null;
  certificate: string;
  expires_at: string | null;
  days_left: number | null;
  status: ExpiryStatus;
  severity: Severity;
  next_action: string;
}

export type CertExpirySource = 'sql' | 'http_vars' | 'http_certificates' | 'none';

export interface CertExpiryReport {
  source: CertExpirySource;
  unsafe_internals: UnsafeInternalsOutcome;
  certificates: CertExpiryItem[];
  summary: Record<ExpiryStatus, number> & { certificates: number; nodes: number; worst: Severity };
  notes: string[];
  retries: number;
}

export interface CertExpiryRequest {
  conn?: ResolvedConnection;
  server?: ServerInfo;
  warnDays: number;
  httpUrl?: string;
  /** CA bundle path trusted for an https http_url. */
  caPath?: string;
  signal?: AbortSignal;
  now: number;
}

const METRIC = /^security\.certificate\.expiration\.(.+)$/;

/** Why the client certificate metric is not read from crdb_internal. */
export const CLIENT_AGGREGATE_NOTE =
  "Client certificate expiry is labelled per SQL user (security.certificate.expiration.client{sql_user}); crdb_internal.kv_node_status holds only its top-level value, which sums every user's minimum expiry and means nothing, so it is not reported. It cannot be read per user over SQL: pass http_url (a node's DB Console URL) to read it per user from /_status/vars.";

/** Where per-user client metrics come from, and why a user may be absent. */
export const CLIENT_PER_NODE_NOTE =
  'A node reports a client certificate (per sql_user) only after that user authenticated to it with a certificate since the node started; a user missing here may simply not have connected to this node.';

export const NODE_STATUS_SQL = 'SELECT node_id, address, metrics FROM crdb_internal.kv_node_status ORDER BY node_id';

/** One item per certificate; missing mandatory certificates are worth a look (medium). */
export function expiryItem(entry: StatusCertExpiry & { address?: string | null }, now: number, warnDays: number): CertExpiryItem {
  const info = certTypeInfo(entry.type);
  const verdict = classifyExpiry(info.role, entry.expiresAt === null ? null : entry.expiresAt * 1000, now, warnDays);
  const severity = verdict.status === 'missing' && !info.optional ? 'medium' : verdict.severity;
  const user = entry.user === undefined ? null : SQL_USER_NAME.test(entry.user) ? entry.user : untrustedText(entry.user);
  const label = user === null ? info.label : `client certificate of SQL user ${user} (client.${user}.crt)`;
  return {
    node_id: untrustedText(String(entry.nodeId)),
    address: entry.address ? untrustedText(entry.address) : null,
    type: entry.type,
    sql_user: user,
    certificate: entry.subject ? `${label}: ${untrustedText(entry.subject)}` : label,
    expires_at: entry.expiresAt === null ? null : new Date(entry.expiresAt * 1000).toISOString(),
    days_left: verdict.daysLeft,
    status: verdict.status,
    severity,
    next_action: entry.error
      ? `The node reported an error for this certificate: ${untrustedText(entry.error, MAX_MESSAGE)}`
      : user !== null && verdict.status !== 'ok' && verdict.status !== 'missing'
        ? nextAction(entry.type, verdict).replace('kind=client', `kind=client user=${user}`)
        : nextAction(entry.type, verdict),
  };
}

/** Soonest expiry first; missing certificates last. */
export function sortItems(items: CertExpiryItem[]): CertExpiryItem[] {
  const key = (item: CertExpiryItem) => (item.expires_at === null ? Number.POSITIVE_INFINITY : Date.parse(item.expires_at));
  return [...items].sort(
    (a, b) =>
      key(a) - key(b) ||
      a.node_id.localeCompare(b.node_id, 'en', { numeric: true }) ||
      a.type.localeCompare(b.type) ||
      (a.sql_user ?? '').localeCompare(b.sql_user ?? ''),
  );
}

/** Expiry entries from kv_node_status rows, without the per-user client aggregate (see CLIENT_AGGREGATE_NOTE). */
export function entriesFromNodeRows(
  rows: Array<{ node_id: unknown; address?: unknown; metrics: unknown }>,
): Array<StatusCertExpiry & { address: string | null }> {
  const out: Array<StatusCertExpiry & { address: string | null }> = [];
  for (const row of rows) {
    for (const [name, value] of Object.entries(metricsObject(row.metrics))) {
      const match = METRIC.exec(name);
      if (!match || match[1] === PER_USER_CERT_TYPE) continue;
      const seconds = Number(value);
      out.push({
        nodeId: String(row.node_id),
        address: row.address ? String(row.address) : null,
        type: match[1]!,
        expiresAt: Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : null,
      });
    }
  }
  return out;
}

function report(source: CertExpirySource, items: CertExpiryItem[], unsafe: UnsafeInternalsOutcome, notes: string[], retries: number): CertExpiryReport {
  const sorted = sortItems(items);
  const counts: Record<ExpiryStatus, number> = { expired: 0, rotate_now: 0, schedule_rotation: 0, plan_rotation: 0, ok: 0, missing: 0 };
  for (const item of sorted) counts[item.status] += 1;
  return {
    source,
    unsafe_internals: unsafe,
    certificates: sorted,
    summary: {
      ...counts,
      certificates: sorted.length,
      nodes: new Set(sorted.map((item) => item.node_id)).size,
      worst: worstSeverity(sorted.map((item) => item.severity)),
    },
    notes,
    retries,
  };
}

/** Per-user client certificate entries from one node's /_status/vars, next to a SQL read. */
async function clientEntriesFromVars(request: CertExpiryRequest, httpUrl: string, notes: string[]): Promise<StatusCertExpiry[]> {
  const vars = await fetchStatus(httpUrl, '/_status/vars', {
    ...(request.caPath ? { caPath: request.caPath } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  if (vars.status !== 200) {
    notes.push(`Client certificates per SQL user were not read: /_status/vars answered HTTP ${vars.status}.`);
    return [];
  }
  const clients = parsePrometheusCertExpirations(vars.body).filter((entry) => entry.type === PER_USER_CERT_TYPE);
  notes.push(`Client certificates per SQL user come from /_status/vars of ${new URL(httpUrl).origin} only (the node that answered). ${CLIENT_PER_NODE_NOTE}`);
  return clients;
}

async function fromHttp(request: CertExpiryRequest, httpUrl: string): Promise<{ source: CertExpirySource; entries: StatusCertExpiry[]; notes: string[] }> {
  const options = { ...(request.caPath ? { caPath: request.caPath } : {}), ...(request.signal ? { signal: request.signal } : {}) };
  const notes: string[] = [];
  const vars = await fetchStatus(httpUrl, '/_status/vars', options);
  if (vars.status === 200) {
    const entries = parsePrometheusCertExpirations(vars.body);
    if (entries.length > 0) return { source: 'http_vars', entries, notes: [...notes, CLIENT_PER_NODE_NOTE] };
    notes.push('/_status/vars has no security_certificate_expiration_* metrics.');
  } else {
    notes.push(`/_status/vars answered HTTP ${vars.status}.`);
  }
  const certs = await fetchStatus(httpUrl, '/_status/certificates/local', options);
  if (certs.status === 200) {
    try {
      return { source: 'http_certificates', entries: parseCertificatesResponse(JSON.parse(certs.body)), notes };
    } catch (error) {
      notes.push(`/_status/certificates/local is not a CertificatesResponse (${(error as Error).message}).`);
    }
  } else {
    notes.push(
      `/_status/certificates/local answered HTTP ${certs.status}${certs.status === 401 || certs.status === 403 ? ' (it needs a DB Console admin login)' : ''}.`,
    );
  }
  throw new OperatorError(
    `No certificate data from ${new URL(httpUrl).origin}`,
    notes.join(' '),
    'check that http_url is the DB Console address of a CockroachDB node (port 8080 by default).',
    { kind: 'http_no_data' },
  );
}

/** Reads certificate expirations over SQL, falling back to HTTP when http_url is given. */
export async function checkCertificateExpiry(connector: SqlConnector, request: CertExpiryRequest): Promise<CertExpiryReport & { server: ServerInfo | null }> {
  const notes: string[] = [];
  let retries = 0;
  let unsafe: UnsafeInternalsOutcome = 'not_attempted';
  let server: ServerInfo | null = request.server ?? null;
  const finish = (source: CertExpirySource, entries: Array<StatusCertExpiry & { address?: string | null }>) => ({
    ...report(
      source,
      entries.map((entry) => expiryItem(entry, request.now, request.warnDays)),
      unsafe,
      notes,
      retries,
    ),
    server,
  });
  const options = request.signal ? { signal: request.signal } : {};
  if (request.conn) {
    if (!server) {
      const detected = await detectServer(connector, request.conn, options);
      server = detected.info;
      retries += detected.retries;
    }
    if (server.product !== 'cockroachdb') {
      notes.push(notCockroachNote(server));
      if (!request.httpUrl) return finish('none', []);
    } else {
      if (server.cloud) notes.push('CockroachDB Cloud manages node certificates itself; only the client CA is customer-managed (Cloud API client-ca-cert).');
      try {
        const read = await readCrdbInternal<{ node_id: unknown; address: unknown; metrics: unknown }>(
          connector,
          request.conn,
          server,
          NODE_STATUS_SQL,
          options,
        );
        unsafe = read.unsafeInternals;
        retries += read.retries;
        if (unsafe === 'set') notes.push(SENSITIVE_ACCESS_NOTE);
        const entries = entriesFromNodeRows(read.rows);
        if (!request.httpUrl) {
          notes.push(CLIENT_AGGREGATE_NOTE);
          return finish('sql', entries);
        }
        return finish('sql', [...entries, ...(await clientEntriesFromVars(request, request.httpUrl, notes))]);
      } catch (error) {
        if (error instanceof UnsafeInternalsRefused) {
          unsafe = 'refused';
          const why = `The cluster refused SET allow_unsafe_internals = true (${error.sqlstate}: ${error.serverMessage}); from v26.1 crdb_internal is restricted by default.`;
          if (!request.httpUrl)
            throw new OperatorError('Certificate metrics are not readable over SQL', why, `${HTTP_ALTERNATIVES}.`, { kind: 'unsafe_internals_refused' });
          notes.push(`${why} Read over HTTP instead.`);
        } else if (error instanceof OperatorError && error.details.kind === 'permission_denied' && request.httpUrl) {
          notes.push(`${error.what}: ${error.why} Read over HTTP instead.`);
        } else {
          throw error;
        }
      }
    }
  }
  if (!request.httpUrl) throw new Error('checkCertificateExpiry needs a connection or an http_url');
  const http = await fromHttp(request, request.httpUrl);
  notes.push(...http.notes);
  notes.push("HTTP status endpoints describe only the node that answered; repeat with each node's http_url to cover the cluster.");
  return finish(http.source, http.entries);
}
