/**
 * What the sandbox's self-hosted SQL target looks like: a three-node CockroachDB v26.1 cluster
 * whose crdb_internal metrics carry certificate expirations and store encryption status.
 * Expiry dates are relative to the moment the emulator starts, so the seeded problems never age.
 */

/** version() of the emulated cluster. */
export const SANDBOX_CRDB_VERSION = 'CockroachDB CCL v26.1.0 (x86_64-pc-linux-gnu, built 2026/02/02 14:31:07, go1.23.12 X:nocoverageredesign)';

/** Days until each seeded certificate expires; 0 means the certificate is absent (metric 0). */
export interface SeededNode {
  nodeId: number;
  address: string;
  /** Days until the node certificate expires. */
  nodeCertDays: number;
  /**
   * Days until the client certificate of each SQL user that authenticated to this node with a
   * certificate expires (security.certificate.expiration.client{sql_user}).
   */
  clientCertDays: Readonly<Record<string, number>>;
  /** rocksdb.encryption.algorithm of the node's single store (0 plaintext, 1-3 AES-128/192/256 CTR, 4-6 their V2 variants). */
  storeEncryption: number;
}

/** Days until the shared cluster CA (ca.crt) expires. */
export const SEEDED_CA_DAYS = 3 * 365 + 40;

/**
 * The seeded nodes. Node 2's node certificate expires in under 30 days (rotate now), node 3's in
 * under 90 (schedule); node 3's store runs without encryption at rest, node 2's with an AES-256
 * V2 key (`cockroach gen encryption-key --version 2`). Client certificates: ledger_writer's on
 * node 1 is due now, report.reader's on node 2 within 90 days; node 3 has seen no certificate login.
 */
export const SEEDED_NODES: readonly SeededNode[] = [
  { nodeId: 1, address: 'roach-1.selfhosted.crdb.example:26257', nodeCertDays: 200, clientCertDays: { root: 300, ledger_writer: 9 }, storeEncryption: 3 },
  { nodeId: 2, address: 'roach-2.selfhosted.crdb.example:26257', nodeCertDays: 12, clientCertDays: { root: 300, 'report.reader': 45 }, storeEncryption: 6 },
  { nodeId: 3, address: 'roach-3.selfhosted.crdb.example:26257', nodeCertDays: 60, clientCertDays: {}, storeEncryption: 0 },
];

const DAY = 86_400;

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Each SQL user's client certificate expiry on one node, UNIX seconds. */
export function clientCertExpirations(node: SeededNode, nowSeconds: number): Record<string, number> {
  return Object.fromEntries(Object.entries(node.clientCertDays).map(([user, days]) => [user, nowSeconds + days * DAY]));
}

/**
 * Node-level metrics as CockroachDB reports them in crdb_internal.kv_node_status (expirations in
 * UNIX seconds, 0 = missing). The client metric there is only the aggregate of its per-user
 * children: the sum of their expirations, a meaningless number (cockroach pkg/security).
 */
export function nodeMetrics(node: SeededNode, nowSeconds: number): Record<string, number> {
  return {
    'security.certificate.expiration.client': Object.values(clientCertExpirations(node, nowSeconds)).reduce((sum, value) => sum + value, 0),
    'security.certificate.expiration.ca': nowSeconds + SEEDED_CA_DAYS * DAY,
    'security.certificate.expiration.client-ca': 0,
    'security.certificate.expiration.ui-ca': 0,
    'security.certificate.expiration.node': nowSeconds + node.nodeCertDays * DAY,
    'security.certificate.expiration.node-client': 0,
    'security.certificate.expiration.ui': 0,
    'security.certificate.expiration.ca-client-tenant': 0,
    'security.certificate.expiration.client-tenant': 0,
    'sys.uptime': 86_400 * 9,
    'liveness.livenodes': SEEDED_NODES.length,
  };
}

/** Store-level metrics, including the encryption-at-rest algorithm. */
export function storeMetrics(node: SeededNode): Record<string, number> {
  return {
    'rocksdb.encryption.algorithm': node.storeEncryption,
    capacity: 500 * 2 ** 30,
    'capacity.available': 380 * 2 ** 30,
    'capacity.used': 120 * 2 ** 30,
    ranges: 412,
    replicas: 412,
  };
}

/**
 * The seed script. crdb_internal views read tables in the hidden schema crdb_emulator through
 * crdb_emulator.check_unsafe_internals(), which raises CockroachDB's v26.1 error (42501) unless
 * the transaction (or session) set crdb.allow_unsafe_internals; the wire interceptor rewrites
 * `SET allow_unsafe_internals = ...` into that setting. version() resolves to crdb_compat.version()
 * because crdb_compat precedes pg_catalog on the search_path (public stays first, so unqualified
 * CREATE TABLE still lands in public).
 */
export function seedSql(nowSeconds: number): string {
  const nodes = SEEDED_NODES.map(
    (node) =>
      `(${node.nodeId}, ${quote(node.address)}, ${quote(SANDBOX_CRDB_VERSION)}, to_timestamp(${nowSeconds - 9 * DAY}), to_timestamp(${nowSeconds}), ${quote(JSON.stringify(nodeMetrics(node, nowSeconds)))}::jsonb)`,
  ).join(',\n  ');
  const stores = SEEDED_NODES.map(
    (node) => `(${node.nodeId}, ${node.nodeId}, ${500 * 2 ** 30}, ${380 * 2 ** 30}, ${120 * 2 ** 30}, ${quote(JSON.stringify(storeMetrics(node)))}::jsonb)`,
  ).join(',\n  ');
  return `
CREATE SCHEMA crdb_emulator;
CREATE SCHEMA crdb_internal;
CREATE SCHEMA crdb_compat;

CREATE TABLE crdb_emulator.node_status (
  node_id INT8 PRIMARY KEY, address TEXT NOT NULL, tag TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, metrics JSONB NOT NULL
);
CREATE TABLE crdb_emulator.store_status (
  node_id INT8 NOT NULL, store_id INT8 PRIMARY KEY, capacity INT8, available INT8, used INT8,
  metrics JSONB NOT NULL
);
INSERT INTO crdb_emulator.node_status VALUES
  ${nodes};
INSERT INTO crdb_emulator.store_status VALUES
  ${stores};

CREATE FUNCTION crdb_emulator.check_unsafe_internals() RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF coalesce(current_setting('crdb.allow_unsafe_internals', true), 'off') NOT IN ('on', 'true') THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = 'Access to crdb_internal and system is restricted.',
      HINT = 'These are unsafe internals. To override, run SET allow_unsafe_internals = true (not recommended).';
  END IF;
  RETURN true;
END $$;

CREATE FUNCTION crdb_emulator.raise(code TEXT, message TEXT) RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END $$;

CREATE VIEW crdb_internal.kv_node_status AS
  SELECT node_id, address, tag, started_at, updated_at, metrics
  FROM crdb_emulator.node_status WHERE crdb_emulator.check_unsafe_internals();
CREATE VIEW crdb_internal.kv_store_status AS
  SELECT node_id, store_id, capacity, available, used, metrics
  FROM crdb_emulator.store_status WHERE crdb_emulator.check_unsafe_internals();

CREATE FUNCTION crdb_compat.version() RETURNS TEXT LANGUAGE sql STABLE AS $$ SELECT ${quote(SANDBOX_CRDB_VERSION)}::TEXT $$;
SET search_path = public, crdb_compat, pg_catalog;
`;
}
