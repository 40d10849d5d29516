/**
 * What is on the other end: CockroachDB (which release) or another Postgres-wire server, read
 * from version(). Decides what can be checked at all.
 */
import type { ResolvedConnection } from './connection.js';
import type { RunOptions, SqlConnector } from './connector.js';

export interface ServerInfo {
  product: 'cockroachdb' | 'postgresql' | 'other';
  /** version() as the server reports it. */
  version: string;
  /** CockroachDB release, e.g. { major: 26, minor: 1, patch: 0 }. */
  release?: { major: number; minor: number; patch: number };
  /** A CockroachDB Cloud endpoint (by host name). */
  cloud: boolean;
}

/** Parses a version() string. */
export function parseServerVersion(version: string, cloud = false): ServerInfo {
  const crdb = /CockroachDB(?:\s+(?:CCL|OSS))?\s+v(\d+)\.(\d+)\.(\d+)/i.exec(version);
  if (crdb) {
    return { product: 'cockroachdb', version, release: { major: Number(crdb[1]), minor: Number(crdb[2]), patch: Number(crdb[3]) }, cloud };
  }
  return { product: /^PostgreSQL\b/i.test(version) ? 'postgresql' : 'other', version, cloud };
}

/** True when the CockroachDB release is at least major.minor. */
export function atLeast(info: ServerInfo, major: number, minor: number): boolean {
  const release = info.release;
  return Boolean(release && (release.major > major || (release.major === major && release.minor >= minor)));
}

/** Reads version() in a read-only transaction. */
export async function detectServer(
  connector: SqlConnector,
  conn: ResolvedConnection,
  options: RunOptions = {},
): Promise<{ info: ServerInfo; retries: number }> {
  const { value, retries } = await connector.readOnly(conn, (session) => session.query<{ version: string }>('SELECT version() AS version'), options);
  return { info: parseServerVersion(String(value[0]?.version ?? ''), conn.cloud), retries };
}

/** What cannot be checked on a server that is not CockroachDB. */
export function notCockroachNote(info: ServerInfo): string {
  return `The server is not CockroachDB (${info.product}: ${info.version.slice(0, 80)}). crdb_internal certificate and store metrics, and CockroachDB encryption at rest, cannot be checked here; check the host's disk encryption and TLS configuration with that server's own tools.`;
}
