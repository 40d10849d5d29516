import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/safety/redact.js';
import { createSqlEmulator, type SqlEmulator } from '../../src/sandbox/sql-server.js';
import { checkCertificateExpiry } from '../../src/sql/cert-expiry.js';
import type { ResolvedConnection } from '../../src/sql/connection.js';
import { createSqlConnector, type SqlConnector } from '../../src/sql/connector.js';
import { verifyEncryption } from '../../src/sql/encryption.js';
import { CERTIFICATES_JSON, encodeEncryptionStatus, PROMETHEUS_VARS } from './status-fixtures.js';

let emulator: SqlEmulator;
let connector: SqlConnector;
let conn: ResolvedConnection;
let http: Server;
let httpUrl: string;
let varsBody = PROMETHEUS_VARS;

beforeAll(async () => {
  emulator = createSqlEmulator();
  connector = createSqlConnector({
    targets: {},
    sandboxTarget: { name: 'selfhosted', url: () => emulator.connectionString() },
    statementTimeoutMs: 5000,
    redactor: createRedactor(),
  });
  conn = await connector.resolve({ connection: 'selfhosted' });
  http = createServer((request, response) => {
    const routes: Record<string, () => void> = {
      '/_status/vars': () => response.writeHead(200).end(varsBody),
      '/_status/certificates/local': () => response.writeHead(200).end(JSON.stringify(CERTIFICATES_JSON)),
      '/_status/stores/local': () =>
        response.writeHead(200).end(
          JSON.stringify({
            stores: [
              {
                store_id: 4,
                encryption_status: Buffer.from(encodeEncryptionStatus({ storeType: 3, storeKeyId: 'k', dataType: 3, dataKeyId: 'd' })).toString('base64'),
              },
              { store_id: 5 },
            ],
          }),
        ),
    };
    (routes[request.url ?? ''] ?? (() => response.writeHead(404).end()))();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(() => {
  emulator.faults.reset();
  varsBody = PROMETHEUS_VARS;
});

afterAll(async () => {
  await connector.close();
  await emulator.close();
  await new Promise((resolve) => http.close(resolve));
});

describe('checkCertificateExpiry', () => {
  it('finds the seeded expiring node certificates with the right status, soonest first', async () => {
    const before = emulator.statements.count();
    const report = await checkCertificateExpiry(connector, { conn, warnDays: 90, now: Date.now() });
    expect(report).toMatchObject({ source: 'sql', unsafe_internals: 'set', retries: 0 });
    expect(report.server).toMatchObject({ product: 'cockroachdb', release: { major: 26, minor: 1, patch: 0 } });
    const [first, second] = report.certificates;
    expect(first).toMatchObject({ node_id: '2', type: 'node', status: 'rotate_now', severity: 'critical' });
    expect(first!.days_left).toBeLessThan(30);
    expect(first!.next_action).toContain('plan_certificate_rotation kind=node');
    expect(second).toMatchObject({ node_id: '3', type: 'node', status: 'schedule_rotation', severity: 'high' });
    expect(report.certificates.filter((c) => c.type === 'ca').every((c) => c.status === 'ok')).toBe(true);
    expect(report.certificates.find((c) => c.type === 'ui-ca')).toMatchObject({ status: 'missing', severity: 'info', expires_at: null });
    expect(report.summary).toMatchObject({ nodes: 3, certificates: 24, rotate_now: 1, schedule_rotation: 1, ok: 4, missing: 18, worst: 'critical' });
    const sent = emulator.statements.entries.slice(before).map((entry) => entry.operation);
    const set = sent.indexOf('SET allow_unsafe_internals = true');
    expect(sent[set - 1]).toBe('BEGIN TRANSACTION READ ONLY');
    expect(sent[set + 1]).toContain('crdb_internal.kv_node_status');
  });

  it('widens the schedule window with warn_days', async () => {
    const report = await checkCertificateExpiry(connector, { conn, warnDays: 365, now: Date.now() });
    expect(report.summary.schedule_rotation).toBe(2);
  });

  it('retries 40001 and reports the count', async () => {
    emulator.faults.retryErrors(2);
    const report = await checkCertificateExpiry(connector, { conn, warnDays: 90, now: Date.now() });
    expect(report.retries).toBe(2);
    expect(report.summary.rotate_now).toBe(1);
  });

  it('says so when allow_unsafe_internals is refused, and points to HTTP', async () => {
    emulator.faults.refuseUnsafeInternals = true;
    const error = await checkCertificateExpiry(connector, { conn, warnDays: 90, now: Date.now() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ what: 'Certificate metrics are not readable over SQL', details: { kind: 'unsafe_internals_refused' } });
    expect((error as Error).message).toContain('/_status/vars');
  });

  it('falls back to /_status/vars when refused and http_url is given', async () => {
    emulator.faults.refuseUnsafeInternals = true;
    const report = await checkCertificateExpiry(connector, { conn, warnDays: 90, httpUrl, now: 1_789_000_000_000 });
    expect(report).toMatchObject({ source: 'http_vars', unsafe_internals: 'refused' });
    expect(report.certificates[0]).toMatchObject({ node_id: '2', type: 'node', status: 'rotate_now', days_left: 11 });
    expect(report.notes.join(' ')).toContain('refused');
  });

  it('falls back to /_status/certificates/local when /_status/vars has no certificate metrics', async () => {
    emulator.faults.permissionDenied = true;
    varsBody = 'sql_conns 3\n';
    const report = await checkCertificateExpiry(connector, { conn, warnDays: 90, httpUrl, now: 1_789_000_000_000 });
    expect(report.source).toBe('http_certificates');
    expect(report.certificates.map((c) => c.status)).toEqual(['rotate_now', 'schedule_rotation', 'plan_rotation', 'ok', 'missing']);
    expect(report.certificates.map((c) => c.type)).toEqual(['node', 'client', 'ca', 'ca', 'ui']);
    expect(report.certificates.at(-1)!.next_action).toContain('no such file');
    expect(report.notes.join(' ')).toContain('Permission denied');
  });

  it('reads HTTP only when no connection is given', async () => {
    const report = await checkCertificateExpiry(connector, { warnDays: 90, httpUrl, now: 1_780_000_000_000 });
    expect(report).toMatchObject({ source: 'http_vars', server: null, unsafe_internals: 'not_attempted' });
  });

  it('says what cannot be checked on a server that is not CockroachDB', async () => {
    emulator.faults.plainPostgres = true;
    const before = emulator.statements.count({ operation: /crdb_internal/ });
    const report = await checkCertificateExpiry(connector, { conn, warnDays: 90, now: Date.now() });
    expect(report).toMatchObject({ source: 'none', certificates: [], server: { product: 'postgresql' } });
    expect(report.notes[0]).toContain('not CockroachDB');
    expect(emulator.statements.count({ operation: /crdb_internal/ })).toBe(before);
  });
});

describe('verifyEncryption', () => {
  it('reports per-store encryption from kv_store_status, never via SHOW CLUSTER SETTING', async () => {
    const report = await verifyEncryption(connector, { conn });
    expect(report.source).toBe('sql');
    expect(report.stores).toEqual([
      { node_id: '1', store_id: 1, algorithm_code: 3, algorithm: 'AES-256-CTR', encrypted: true },
      { node_id: '2', store_id: 2, algorithm_code: 6, algorithm: 'AES-256-CTR V2', encrypted: true },
      { node_id: '3', store_id: 3, algorithm_code: 0, algorithm: 'plaintext', encrypted: false },
    ]);
    expect(report.summary).toEqual({ stores: 3, encrypted: 2, plaintext: 1, unknown: 0 });
    expect(report.cmek_note).toBeNull();
    expect(report.notes.join(' ')).toMatch(/must be given on every start/);
    expect(report.notes.join(' ')).toContain('cockroach debug encryption-active-key <store dir>');
    expect(report.notes.join(' ')).toContain('SENSITIVE_ACCESS');
    expect(emulator.statements.count({ operation: /enterprise\.encryption/i })).toBe(0);
  });

  it('reads /_status/stores/local when http_url is given', async () => {
    const report = await verifyEncryption(connector, { conn, httpUrl });
    expect(report.source).toBe('http');
    expect(report.stores.map((s) => [s.store_id, s.algorithm, s.encrypted])).toEqual([
      [4, 'AES-256-CTR', true],
      [5, 'plaintext', false],
    ]);
  });

  it('degrades to notes when crdb_internal is refused or denied', async () => {
    emulator.faults.refuseUnsafeInternals = true;
    const refused = await verifyEncryption(connector, { conn });
    expect(refused).toMatchObject({ source: 'none', unsafe_internals: 'refused', stores: [] });
    emulator.faults.refuseUnsafeInternals = false;
    emulator.faults.permissionDenied = true;
    const denied = await verifyEncryption(connector, { conn });
    expect(denied.notes[0]).toContain('Permission denied');
  });

  it('points Cloud clusters to get_cmek_status', async () => {
    const cloud = { ...conn, cloud: true };
    const report = await verifyEncryption(connector, { conn: cloud });
    expect(report.cmek_note).toContain('get_cmek_status');
    expect(report.stores).toEqual([]);
  });
});
