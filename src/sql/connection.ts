/**
 * Connection references: a postgresql:// URL, a named target from the configuration, or the
 * default (DATABASE_URL; the sandbox's self-hosted target in sandbox mode). Parsed here without
 * any network I/O, with clear errors, and never echoing a password.
 */
import { OperatorError } from '../errors.js';
import { TARGET_NAME } from './target-name.js';

export { TARGET_NAME } from './target-name.js';

export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** What a tool call says about where to connect. */
export interface SqlConnectionRequest {
  /** postgresql:// URL or target name; omitted -> the default connection. */
  connection?: string;
  sslmode?: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
}

/** A parsed, validated connection. `display` is safe to show; nothing else is. */
export interface ResolvedConnection {
  display: string;
  /** Where it came from: the URL itself, a named target, or the default. */
  source: 'url' | 'target' | 'default';
  targetName?: string;
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  sslmode: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  /** libpq `options` (e.g. --cluster=... on Serverless) and application_name, passed through. */
  options?: string;
  applicationName?: string;
  connectTimeoutMs?: number;
  /** The host is a CockroachDB Cloud endpoint. */
  cloud: boolean;
}

const URL_SCHEME = /^postgres(?:ql)?:\/\//i;

function malformed(why: string): OperatorError {
  return new OperatorError(
    'Malformed connection string',
    why,
    'pass postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE?sslmode=verify-full (percent-encode special characters), or the name of a configured target.',
    { kind: 'malformed' },
  );
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw malformed(`The ${what} contains an invalid percent-encoding.`);
  }
}

/** The URL with its password masked (and nothing else of the secret). */
export function displayUrl(conn: Pick<ResolvedConnection, 'user' | 'password' | 'host' | 'port' | 'database' | 'sslmode'>): string {
  const host = conn.host.includes(':') ? `[${conn.host}]` : conn.host;
  const auth = `${encodeURIComponent(conn.user)}${conn.password ? ':***' : ''}`;
  return `postgresql://${auth}@${host}:${conn.port}/${encodeURIComponent(conn.database)}?sslmode=${conn.sslmode}`;
}

/** Parses a postgresql:// URL (no I/O). Throws OperatorError; never includes the input in messages. */
export function parseConnectionUrl(url: string, tls: Omit<SqlConnectionRequest, 'connection'> = {}): Omit<ResolvedConnection, 'source' | 'display'> {
  if (!URL_SCHEME.test(url)) throw malformed('It does not start with postgresql:// or postgres://.');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw malformed('It is not a valid URL.');
  }
  const rawHost = parsed.hostname;
  if (!rawHost) throw malformed('It has no host.');
  if (rawHost.includes(',')) throw malformed('Multi-host URLs are not supported.');
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : decode(rawHost, 'host');
  const port = parsed.port ? Number(parsed.port) : 26257;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw malformed('The port must be 1-65535.');
  const database = decode(parsed.pathname.replace(/^\//, ''), 'database name') || 'defaultdb';
  if (database.includes('/')) throw malformed('The database name must not contain "/".');
  const user = decode(parsed.username, 'user name') || 'root';
  const password = parsed.password ? decode(parsed.password, 'password') : undefined;
  const params = parsed.searchParams;
  const modeParam = tls.sslmode ?? params.get('sslmode') ?? undefined;
  if (modeParam === 'allow' || modeParam === 'prefer') {
    throw malformed(`sslmode=${modeParam} is not supported (it silently falls back to plaintext). Use verify-full, or disable for an insecure test cluster.`);
  }
  if (modeParam !== undefined && !(SSL_MODES as readonly string[]).includes(modeParam)) {
    throw malformed(`Unknown sslmode; use one of ${SSL_MODES.join(', ')}.`);
  }
  const sslrootcert = tls.sslrootcert ?? params.get('sslrootcert') ?? undefined;
  let sslmode = (modeParam as SslMode | undefined) ?? 'verify-full';
  // libpq: with a root certificate, require verifies the chain like verify-ca.
  if (sslmode === 'require' && sslrootcert) sslmode = 'verify-ca';
  const timeout = params.get('connect_timeout');
  const connectTimeoutSeconds = timeout === null ? undefined : Number(timeout);
  if (connectTimeoutSeconds !== undefined && !(Number.isInteger(connectTimeoutSeconds) && connectTimeoutSeconds > 0)) {
    throw malformed('connect_timeout must be a positive whole number of seconds.');
  }
  const sslcert = tls.sslcert ?? params.get('sslcert') ?? undefined;
  const sslkey = tls.sslkey ?? params.get('sslkey') ?? undefined;
  if (Boolean(sslcert) !== Boolean(sslkey)) throw malformed('sslcert and sslkey must be given together.');
  return {
    host,
    port,
    user,
    database,
    ...(password ? { password } : {}),
    sslmode,
    ...(sslrootcert ? { sslrootcert } : {}),
    ...(sslcert ? { sslcert } : {}),
    ...(sslkey ? { sslkey } : {}),
    ...(params.get('options') ? { options: params.get('options')! } : {}),
    ...(params.get('application_name') ? { applicationName: params.get('application_name')! } : {}),
    ...(connectTimeoutSeconds ? { connectTimeoutMs: connectTimeoutSeconds * 1000 } : {}),
    cloud: /(^|\.)cockroachlabs\.cloud$/i.test(host),
  };
}

/** Where named targets and the default come from. */
export interface TargetSource {
  /** Named targets: name -> URL (or a lazy URL, e.g. the sandbox emulator). */
  targets: Record<string, string | (() => Promise<string>)>;
  /** The default connection (DATABASE_URL, or the sandbox target). */
  defaultTarget?: string | (() => Promise<string>);
  /** The default's target name, when it is a named target. */
  defaultName?: string;
}

/** Resolves a request to a connection. Only a lazy sandbox target does any work (starts it). */
export async function resolveConnection(request: SqlConnectionRequest, source: TargetSource): Promise<ResolvedConnection> {
  const { connection, ...tls } = request;
  const finish = (url: string, kind: ResolvedConnection['source'], targetName?: string): ResolvedConnection => {
    const parsed = parseConnectionUrl(url, tls);
    return {
      ...parsed,
      source: kind,
      ...(targetName ? { targetName } : {}),
      display: `${targetName ? `${targetName} (` : ''}${displayUrl(parsed)}${targetName ? ')' : ''}`,
    };
  };
  const load = async (value: string | (() => Promise<string>)) => (typeof value === 'string' ? value : value());
  if (connection === undefined || connection.trim() === '') {
    if (!source.defaultTarget) {
      throw new OperatorError(
        'No SQL connection given',
        'The call has no `connection`, and neither DATABASE_URL nor a default target is configured.',
        `pass connection (a postgresql:// URL or one of: ${Object.keys(source.targets).join(', ') || 'no targets configured'}), or set DATABASE_URL.`,
        { kind: 'no_connection' },
      );
    }
    return finish(await load(source.defaultTarget), 'default', source.defaultName);
  }
  const value = connection.trim();
  if (URL_SCHEME.test(value)) return finish(value, 'url');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw malformed('Only postgresql:// (or postgres://) URLs are accepted.');
  if (!TARGET_NAME.test(value)) throw malformed('It is neither a postgresql:// URL nor a target name (letters, digits, - and _).');
  const target = Object.hasOwn(source.targets, value) ? source.targets[value] : undefined;
  if (target === undefined) {
    const known = Object.keys(source.targets);
    throw new OperatorError(
      `Unknown SQL target '${value}'`,
      known.length ? `Configured targets: ${known.join(', ')}.` : 'No named targets are configured.',
      'use one of the configured names, pass a postgresql:// URL, or add the target with --sql-target NAME=postgresql://... (or CRDB_SQL_TARGETS).',
      { kind: 'unknown_target', known },
    );
  }
  return finish(await load(target), 'target', value);
}
