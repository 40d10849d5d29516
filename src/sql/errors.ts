/**
 * Turns pg / network / TLS failures into OperatorErrors that say what failed, why, and what to
 * do next. Messages name the host and port, never the URL (which may carry a password).
 */
import { OperatorError, errorMessage } from '../errors.js';
import { MAX_MESSAGE, untrustedText } from '../safety/untrusted.js';
import type { ResolvedConnection } from './connection.js';

/** A pg DatabaseError or Node network error, as far as we look at it. */
interface RawSqlError {
  code?: string;
  message?: string;
  hint?: string;
}

/** SQLSTATE of a server error, if the error has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as RawSqlError | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True for errors CockroachDB asks clients to retry (serialization failure). */
export function isRetryable(error: unknown): boolean {
  return sqlState(error) === '40001';
}

export { abortError } from '../abort.js';

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * Maps a failure to an OperatorError. Already-mapped errors, cancellations and errors that are
 * neither SQL nor network failures (programmer errors) are returned unchanged.
 */
export function toSqlError(error: unknown, conn: Pick<ResolvedConnection, 'host' | 'port' | 'user' | 'database'>): unknown {
  if (error instanceof OperatorError || (error instanceof Error && error.name === 'AbortError')) return error;
  const raw = (error ?? {}) as RawSqlError;
  const where = `${conn.host}:${conn.port}`;
  // The server's text is upstream data: one safe line, quoted unless plain.
  const message = untrustedText(errorMessage(error), MAX_MESSAGE);
  const code = raw.code ?? '';
  const state = sqlState(error);
  const details = (kind: string) => ({ kind, ...(state ? { sqlstate: state } : {}) });
  const checkNetwork = `check the host and port (CockroachDB listens on 26257 by default), that the node is running, and that this machine may reach it; then retry.`;
  if (code === 'ECONNREFUSED')
    return new OperatorError(
      `Cannot connect to ${where}`,
      'The connection was refused: nothing is listening there, or a firewall rejected it.',
      checkNetwork,
      details('unreachable'),
    );
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new OperatorError(
      `Cannot resolve host ${conn.host}`,
      'DNS did not return an address for it.',
      'check the host name for typos and that this machine can resolve it; then retry.',
      details('unreachable'),
    );
  if (['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code) || /timeout expired|connection timeout/i.test(message)) {
    return new OperatorError(`Timed out connecting to ${where}`, 'No answer within the connection timeout.', checkNetwork, details('unreachable'));
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /Connection terminated unexpectedly/i.test(message)) {
    return new OperatorError(
      `Connection to ${where} was dropped`,
      'The server (or something in between) closed the connection mid-request.',
      'retry; if it keeps happening, check the node logs and any proxy or load balancer in between.',
      details('connection_lost'),
    );
  }
  if (/does not support SSL/i.test(message)) {
    return new OperatorError(
      `${where} does not accept TLS`,
      'The server answered the TLS request with "no": it runs in insecure mode.',
      'use sslmode=disable only for an insecure test cluster; a production cluster should run with certificates.',
      details('tls'),
    );
  }
  if (TLS_CODES.has(code) || /certificate|self[- ]signed/i.test(message)) {
    return new OperatorError(
      `TLS verification of ${where} failed`,
      `${message}.`,
      'pass sslrootcert (the cluster ca.crt) and check the node certificate covers this host name (inspect_certificates); use sslmode=verify-ca only if the host name cannot match.',
      details('tls'),
    );
  }
  if (/Query read timeout/i.test(message) || state === '57014') {
    return new OperatorError(
      `Query on ${where} timed out`,
      'The statement ran longer than the statement timeout.',
      'retry when the cluster is less busy; check node health in the DB Console.',
      details('timeout'),
    );
  }
  if (state === '28P01' || state === '28000') {
    return new OperatorError(
      `Authentication failed for user ${conn.user} on ${where}`,
      `${message}.`,
      'check the user name and password, or the client certificate (sslcert/sslkey) for that user; never paste passwords into chat—configure them with --sql-target or DATABASE_URL.',
      details('auth'),
    );
  }
  if (state === '42501') {
    return new OperatorError(
      `Permission denied on ${where}`,
      `${message}.${raw.hint ? ` Hint: ${untrustedText(raw.hint, MAX_MESSAGE)}` : ''}`,
      `connect as a user with the needed privilege (the admin role reads crdb_internal), or use the HTTP status endpoints via http_url.`,
      details('permission_denied'),
    );
  }
  if (state === '3D000')
    return new OperatorError(
      `Database ${conn.database} does not exist on ${where}`,
      `${message}.`,
      'fix the database name in the connection URL (CockroachDB ships defaultdb).',
      details('no_database'),
    );
  if (state === '40001') {
    return new OperatorError(
      `Transaction kept conflicting on ${where}`,
      'CockroachDB asked to retry (SQLSTATE 40001) more times than the retry cap allows.',
      'retry in a minute; sustained contention shows in the DB Console (Insights).',
      details('retry_exhausted'),
    );
  }
  if (state?.startsWith('08'))
    return new OperatorError(`Connection failure on ${where}`, `${message}.`, 'retry; if it persists check the node logs.', details('connection_lost'));
  if (state)
    return new OperatorError(`SQL error ${state} on ${where}`, `${message}.`, 'check the message above; the server rejected the statement.', details('sql'));
  return error;
}
