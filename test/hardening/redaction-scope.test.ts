/**
 * Redaction poisoning, as the red team found it: a read-only call whose connection URL carries the
 * password `prod-east` must not make later answers, in any session, mask the cluster prod-east.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_POOLS } from '../../src/sql/connector.js';
import { createServer } from '../../src/server.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { callTool, closedPort, connectClient, type TestServer } from '../helpers/harness.js';
import { startCmekServer } from '../tools/cmek-helpers.js';
import type { Client } from '@modelcontextprotocol/client';

let sandbox: Sandbox;
let server: TestServer;
let otherSession: Client;
let closed: number;

beforeAll(async () => {
  sandbox = await startSandbox({ cmekTransitionMs: 20, rateLimitPerSecond: 1000 });
  server = await startCmekServer(sandbox, { cloud: { rateLimitPerSecond: 1000 } });
  otherSession = await connectClient(createServer(server.config, server.deps));
  closed = await closedPort();
});

afterAll(async () => {
  await otherSession?.close();
  await server?.close();
  await sandbox?.stop();
});

const urlWith = (password: string) => `postgresql://root:${password}@127.0.0.1:${closed}/defaultdb?sslmode=disable`;

describe('per-call secrets', () => {
  it('a connection password masks nothing in later answers or other sessions', async () => {
    const before = server.deps.redactor.secretCount;
    const poisoned = await callTool(server.client, 'verify_encryption_sql', { connection: urlWith('prod-east') });
    expect(poisoned.text).not.toContain('prod-east');

    const clusters = await callTool(otherSession, 'list_clusters');
    expect(clusters.text).toContain('prod-east');
    expect(clusters.text).not.toContain('[REDACTED]');
    const status = await callTool(server.client, 'get_cmek_status', { cluster: 'prod-east' });
    expect(status.isError).toBe(false);
    expect(status.text).toContain('prod-east');
    expect(status.text).not.toContain('[REDACTED]');
    expect(server.deps.redactor.secretCount).toBe(before);
  });

  it('2,000 such calls grow no process-wide list: secrets stay as configured, pools stay capped', async () => {
    const before = server.deps.redactor.secretCount;
    for (let i = 0; i < 2000; i += 1) {
      // Distinct passwords are the worst case: each is its own connection.
      const result = await callTool(server.client, 'check_certificate_expiry', { connection: urlWith(`pw-${i}`) });
      expect(result.text).not.toContain(`pw-${i}`);
    }
    expect(server.deps.redactor.secretCount).toBe(before);
    expect(await server.deps.sql.openPools()).toBeLessThanOrEqual(MAX_POOLS);
  }, 120_000);
});
