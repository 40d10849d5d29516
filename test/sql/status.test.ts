import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStatus } from '../../src/sql/status-http.js';
import { decodeEncryptionStatus, parseCertificatesResponse, parsePrometheusCertExpirations, parseStoresResponse } from '../../src/sql/status-parsers.js';
import { encodeEncryptionStatus, PROMETHEUS_VARS, CERTIFICATES_JSON } from './status-fixtures.js';

describe('status endpoint parsers', () => {
  it('parses security_certificate_expiration_* from Prometheus text', () => {
    expect(parsePrometheusCertExpirations(PROMETHEUS_VARS)).toEqual([
      { nodeId: '2', type: 'ca', expiresAt: 1_900_000_000 },
      { nodeId: '2', type: 'client-ca', expiresAt: null },
      { nodeId: '2', type: 'node', expiresAt: 1_790_000_000 },
      { nodeId: '2', type: 'node-client', expiresAt: null },
      { nodeId: '2', type: 'ui-ca', expiresAt: null },
      { nodeId: 'local', type: 'ca-client-tenant', expiresAt: null },
    ]);
  });

  it('reads client certificates per sql_user, drops their top-level aggregate, and accepts the labelled metric name', () => {
    const text = [
      'security_certificate_expiration_client{node_id="4"} 3.5e+09',
      'security_certificate_expiration_client{node_id="4",sql_user="etl.loader"} 1.75e+09',
      'security_certificate_expiration_client{node_id="4",sql_user="svc_42"} 1.76e+09',
      'security_certificate_expiration{certificate_type="client",node_id="4",sql_user="svc_42"} 1.76e+09',
      'security_certificate_expiration{certificate_type="client",node_id="4"} 3.5e+09',
      'security_certificate_expiration{certificate_type="node",node_id="4"} 1.8e+09',
      'security_certificate_ttl_client{node_id="4",sql_user="svc_42"} 8.6e+06',
    ].join('\n');
    expect(parsePrometheusCertExpirations(text)).toEqual([
      { nodeId: '4', type: 'client', expiresAt: 1_750_000_000, user: 'etl.loader' },
      { nodeId: '4', type: 'client', expiresAt: 1_760_000_000, user: 'svc_42' },
      { nodeId: '4', type: 'node', expiresAt: 1_800_000_000 },
    ]);
  });

  it('parses a CertificatesResponse in snake_case and camelCase, enums as names or numbers', () => {
    expect(parseCertificatesResponse(CERTIFICATES_JSON)).toEqual([
      { nodeId: 'local', type: 'ca', expiresAt: 1_900_000_000, subject: 'O=Cockroach,CN=Cockroach CA' },
      { nodeId: 'local', type: 'ca', expiresAt: 1_800_000_000, subject: 'O=Cockroach,CN=Old CA' },
      { nodeId: 'local', type: 'node', expiresAt: 1_790_000_000, subject: 'O=Cockroach,CN=node' },
      { nodeId: 'local', type: 'client', expiresAt: 1_795_000_000, subject: 'CN=root' },
      { nodeId: 'local', type: 'ui', expiresAt: null, error: 'open ui.crt: no such file' },
    ]);
    expect(() => parseCertificatesResponse({ nope: [] })).toThrow(/CertificatesResponse/);
  });

  it('decodes the EncryptionStatus protobuf of a StoresResponse', () => {
    const encrypted = encodeEncryptionStatus({ storeType: 3, storeKeyId: 'abc', dataType: 3, dataKeyId: 'def' });
    expect(decodeEncryptionStatus(encrypted)).toEqual({ storeKey: { encryptionType: 3, keyId: 'abc' }, dataKey: { encryptionType: 3, keyId: 'def' } });
    const stores = parseStoresResponse({
      stores: [
        { store_id: 1, encryption_status: Buffer.from(encrypted).toString('base64'), total_files: '120', active_key_files: '118' },
        { storeId: 2, encryptionStatus: '' },
        {
          store_id: '3',
          encryption_status: Buffer.from(encodeEncryptionStatus({ storeType: 0, storeKeyId: 'plain', dataType: 0, dataKeyId: 'plain-data' })).toString(
            'base64',
          ),
        },
      ],
    });
    expect(stores.map((s) => [s.storeId, s.algorithm])).toEqual([
      [1, 3],
      [2, 0],
      [3, 0],
    ]);
    expect(stores[0]).toMatchObject({ totalFiles: 120, activeKeyFiles: 118 });
    expect(() => decodeEncryptionStatus(new Uint8Array([0x0a, 0x05, 0x08]))).toThrow(/truncated/);
  });
});

describe('fetchStatus over a local HTTP server', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/_status/vars') {
        response.writeHead(200, { 'content-type': 'text/plain' }).end(PROMETHEUS_VARS);
      } else if (request.url === '/_status/certificates/local') {
        response.writeHead(401).end('{"error":"not authenticated"}');
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('returns body and status, and maps unreachable hosts', async () => {
    const vars = await fetchStatus(`${base}/`, '/_status/vars');
    expect(vars.status).toBe(200);
    expect(parsePrometheusCertExpirations(vars.body)).toHaveLength(6);
    expect((await fetchStatus(base, '/_status/certificates/local')).status).toBe(401);
    await expect(fetchStatus('http://127.0.0.1:1', '/_status/vars')).rejects.toMatchObject({ what: 'Cannot reach http://127.0.0.1:1' });
    await expect(fetchStatus('ftp://x', '/')).rejects.toMatchObject({ what: 'Malformed http_url' });
  });

  it('honours cancellation', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(fetchStatus(base, '/_status/vars', { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
