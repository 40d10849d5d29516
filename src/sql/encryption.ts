/**
 * Encryption at rest of a self-hosted cluster, per store. There is no cluster setting for it
 * (`SHOW CLUSTER SETTING enterprise.encryption.type` does not exist, and we never send it):
 * encryption is a per-store start flag (--enterprise-encryption) whose effect shows as the store
 * metric rocksdb.encryption.algorithm (crdb_internal.kv_store_status) or as encryption_status
 * in GET /_status/stores/local. On CockroachDB Cloud, CMEK status comes from the Cloud API.
 */
import { OperatorError } from '../errors.js';
import type { ResolvedConnection } from './connection.js';
import type { SqlConnector } from './connector.js';
import { HTTP_ALTERNATIVES, metricsObject, readCrdbInternal, SENSITIVE_ACCESS_NOTE, UnsafeInternalsRefused, type UnsafeInternalsOutcome } from './internals.js';
import { detectServer, notCockroachNote, type ServerInfo } from './server-info.js';
import { fetchStatus } from './status-http.js';
import { parseStoresResponse } from './status-parsers.js';

/**
 * enginepb.EncryptionType, as rocksdb.encryption.algorithm reports it: 1-3 are the original
 * AES-CTR store keys, 4-6 the V2 variants (keys from `cockroach gen encryption-key --version 2`).
 */
export const ENCRYPTION_ALGORITHMS: Record<number, string> = {
  0: 'plaintext',
  1: 'AES-128-CTR',
  2: 'AES-192-CTR',
  3: 'AES-256-CTR',
  4: 'AES-128-CTR V2',
  5: 'AES-192-CTR V2',
  6: 'AES-256-CTR V2',
};

export interface StoreEncryption {
  node_id: string | null;
  store_id: number;
  algorithm_code: number | null;
  algorithm: string;
  encrypted: boolean | null;
}

export interface EncryptionReport {
  source: 'sql' | 'http' | 'none';
  unsafe_internals: UnsafeInternalsOutcome;
  stores: StoreEncryption[];
  summary: { stores: number; encrypted: number; plaintext: number; unknown: number };
  cmek_note: string | null;
  notes: string[];
  retries: number;
}

export interface EncryptionRequest {
  conn?: ResolvedConnection;
  server?: ServerInfo;
  httpUrl?: string;
  caPath?: string;
  signal?: AbortSignal;
}

export const STORE_STATUS_SQL = 'SELECT node_id, store_id, metrics FROM crdb_internal.kv_store_status ORDER BY node_id, store_id';
const ALGORITHM_METRIC = 'rocksdb.encryption.algorithm';

/** One store's verdict from its algorithm code (null = not reported). */
export function storeEncryption(nodeId: string | null, storeId: number, code: number | null): StoreEncryption {
  const known = code !== null && Number.isInteger(code) && code in ENCRYPTION_ALGORITHMS;
  return {
    node_id: nodeId,
    store_id: storeId,
    algorithm_code: code,
    algorithm: code === null ? 'not reported' : known ? ENCRYPTION_ALGORITHMS[code]! : `unknown (${code})`,
    encrypted: code === null || !known ? null : code !== 0,
  };
}

function summarize(stores: StoreEncryption[]): EncryptionReport['summary'] {
  return {
    stores: stores.length,
    encrypted: stores.filter((store) => store.encrypted === true).length,
    plaintext: stores.filter((store) => store.encrypted === false).length,
    unknown: stores.filter((store) => store.encrypted === null).length,
  };
}

const FLAG_NOTE =
  'Encryption at rest is a per-store start flag (--enterprise-encryption); no cluster setting shows it (SHOW CLUSTER SETTING enterprise.encryption.type does not exist).';

/** Said whenever a store is encrypted. */
export const ENCRYPTED_STORE_NOTE =
  'Once --enterprise-encryption is set for a store it must be given on every start of that node (with key=<current key>,old-key=<previous key or the same key>); a start without it cannot open the store. On the node, cockroach debug encryption-active-key <store dir> shows the active store key and algorithm.';

/** Cloud clusters: where CMEK status lives. */
export const CLOUD_CMEK_NOTE =
  'This is a CockroachDB Cloud cluster: encryption at rest is managed by Cloud and CMEK status comes from the Cloud API, not SQL. Run get_cmek_status for this cluster.';

/** Reads per-store encryption status over SQL, or over HTTP when http_url is given. */
export async function verifyEncryption(connector: SqlConnector, request: EncryptionRequest): Promise<EncryptionReport & { server: ServerInfo | null }> {
  const notes: string[] = [];
  let retries = 0;
  let unsafe: UnsafeInternalsOutcome = 'not_attempted';
  let server: ServerInfo | null = request.server ?? null;
  const options = request.signal ? { signal: request.signal } : {};
  const finish = (source: EncryptionReport['source'], stores: StoreEncryption[]) => ({
    source,
    unsafe_internals: unsafe,
    stores,
    summary: summarize(stores),
    cmek_note: request.conn?.cloud || server?.cloud ? CLOUD_CMEK_NOTE : null,
    notes: [
      ...notes,
      ...(server?.product === 'cockroachdb' && !server.cloud ? [FLAG_NOTE] : []),
      ...(stores.some((store) => store.encrypted) ? [ENCRYPTED_STORE_NOTE] : []),
    ],
    retries,
    server,
  });
  if (request.conn && !server) {
    const detected = await detectServer(connector, request.conn, options);
    server = detected.info;
    retries += detected.retries;
  }
  if (request.httpUrl) {
    const response = await fetchStatus(request.httpUrl, '/_status/stores/local', { ...(request.caPath ? { caPath: request.caPath } : {}), ...options });
    if (response.status !== 200) {
      throw new OperatorError(
        `/_status/stores/local answered HTTP ${response.status}`,
        response.status === 401 || response.status === 403 ? 'The endpoint needs a DB Console admin login.' : 'The node did not return store details.',
        'read the store metric over SQL instead (omit http_url), or check http_url is the DB Console address of a node.',
        { kind: 'http_error' },
      );
    }
    let stores;
    try {
      stores = parseStoresResponse(JSON.parse(response.body));
    } catch (error) {
      throw new OperatorError(
        'Unexpected /_status/stores/local answer',
        `${(error as Error).message}.`,
        'check http_url is the DB Console address of a CockroachDB node.',
        { kind: 'http_error' },
      );
    }
    notes.push("HTTP status endpoints describe only the node that answered; repeat with each node's http_url to cover the cluster.");
    return finish(
      'http',
      stores.map((store) => storeEncryption(null, store.storeId, store.algorithm)),
    );
  }
  if (!request.conn || !server) throw new Error('verifyEncryption needs a connection or an http_url');
  if (server.product !== 'cockroachdb') {
    notes.push(notCockroachNote(server));
    return finish('none', []);
  }
  if (server.cloud) return finish('none', []);
  try {
    const read = await readCrdbInternal<{ node_id: unknown; store_id: unknown; metrics: unknown }>(connector, request.conn, server, STORE_STATUS_SQL, options);
    unsafe = read.unsafeInternals;
    retries += read.retries;
    if (unsafe === 'set') notes.push(SENSITIVE_ACCESS_NOTE);
    return finish(
      'sql',
      read.rows.map((row) => {
        const value = metricsObject(row.metrics)[ALGORITHM_METRIC];
        return storeEncryption(String(row.node_id), Number(row.store_id), value === undefined || value === null ? null : Number(value));
      }),
    );
  } catch (error) {
    if (error instanceof UnsafeInternalsRefused) {
      unsafe = 'refused';
      notes.push(
        `The cluster refused SET allow_unsafe_internals = true (${error.sqlstate}: ${error.serverMessage}), so store metrics are unreadable over SQL; ${HTTP_ALTERNATIVES}.`,
      );
      return finish('none', []);
    }
    if (error instanceof OperatorError && error.details.kind === 'permission_denied') {
      notes.push(`${error.what}: ${error.why} Store metrics are unreadable for this user; ${HTTP_ALTERNATIVES}.`);
      return finish('none', []);
    }
    throw error;
  }
}
