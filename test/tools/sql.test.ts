import fc from 'fast-check';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { auditEntries, callTool, closedPort, startTestServer, type TestServer } from '../helpers/harness.js';

let sandbox: Sandbox;
let server: TestServer;
let readOnly: TestServer;
let inspector: pg.Client;

async function probeTables(): Promise<string[]> {
  const { rows } = await inspector.query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'crdb_mcp_probe_%'");
  return rows.map((row) => row.tablename as string);
}

beforeAll(async () => {
  sandbox = await startSandbox({ cmekTransitionMs: 20 });
  server = await startTestServer({ sandbox });
  readOnly = await startTestServer({ sandbox, config: { readOnly: true } });
  inspector = new pg.Client({ connectionString: await sandbox.sql.connectionString() });
  await inspector.connect();
});

afterEach(() => sandbox.sql.faults.reset());

afterAll(async () => {
  await inspector?.end();
  await server?.close();
  await readOnly?.close();
  await sandbox?.stop();
});

describe('SQL tools in tools/list', () => {
  it('lists both as read-only, open-world tools of toolset sql with concise descriptions', async () => {
    const { tools } = await readOnly.client.listTools();
    for (const name of ['check_certificate_expiry', 'verify_encryption_sql']) {
      const tool = tools.find((t) => t.name === name)!;
      expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
      expect(tool.description!.length).toBeLessThanOrEqual(400);
      // Outputs are validated server-side against the full schema; tools/list carries no output schema.
      expect(tool.outputSchema).toBeUndefined();
      for (const property of Object.values(tool.inputSchema.properties ?? {})) expect((property as { description?: string }).description).toBeTruthy();
    }
  });
});

describe('check_certificate_expiry', () => {
  it('finds the seeded expiring certificates on the selfhosted target', async () => {
    const result = await callTool(server.client, 'check_certificate_expiry', { connection: 'selfhosted' });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ source: 'sql', unsafe_internals: 'set', server: { product: 'cockroachdb', release: 'v26.1.0' } });
    expect(result.structured!.certificates[0]).toMatchObject({ node_id: '2', type: 'node', status: 'rotate_now', severity: 'critical' });
    expect(result.structured!.certificates[1]).toMatchObject({ node_id: '3', type: 'node', status: 'schedule_rotation' });
    expect(result.text).toMatch(/node 2 node certificate \(node\.crt\): expires in \d+ days/);
    expect(result.text.trim().split('\n').at(-1)).toMatch(
      /^Next: plan_certificate_rotation \{"kind":"node"\} - plan the node certificate rotation .*Rotate now \(plan_certificate_rotation kind=node\)/,
    );
  });

  it('uses the sandbox target by default', async () => {
    const result = await callTool(server.client, 'check_certificate_expiry', {});
    expect(result.isError).toBe(false);
    expect(result.structured!.target).toMatch(/^selfhosted \(postgresql:\/\/root@127\.0\.0\.1:\d+\/defaultdb\?sslmode=disable\)$/);
  });

  it('reports a refused allow_unsafe_internals as a clear error pointing to HTTP', async () => {
    sandbox.sql.faults.refuseUnsafeInternals = true;
    const result = await callTool(server.client, 'check_certificate_expiry', { connection: 'selfhosted' });
    expect(result.isError).toBe(true);
    expect(result.text).toContain('refused SET allow_unsafe_internals = true');
    expect(result.text).toMatch(/Next: .*\/_status\/vars.*http_url/);
  });

  it('reports permission denied, unknown targets and unreachable hosts clearly, never echoing a password', async () => {
    sandbox.sql.faults.permissionDenied = true;
    const denied = await callTool(server.client, 'check_certificate_expiry', { connection: 'selfhosted' });
    expect(denied).toMatchObject({ isError: true });
    expect(denied.text).toMatch(/^Permission denied on 127\.0\.0\.1:\d+/);

    const unknown = await callTool(server.client, 'check_certificate_expiry', { connection: 'prod' });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toContain("Unknown SQL target 'prod'. Configured targets: selfhosted.");

    const port = await closedPort();
    const unreachable = await callTool(server.client, 'check_certificate_expiry', {
      connection: `postgresql://app:Sup3rSecretPw@127.0.0.1:${port}/db?sslmode=disable`,
    });
    expect(unreachable.isError).toBe(true);
    expect(unreachable.text).toContain(`Cannot connect to 127.0.0.1:${port}`);
    expect(unreachable.text).not.toContain('Sup3rSecretPw');

    const malformed = await callTool(server.client, 'check_certificate_expiry', { connection: 'postgresql://app:Sup3rSecretPw@h1,h2/db' });
    expect(malformed.isError).toBe(true);
    expect(malformed.text).toContain('Malformed connection string');
    expect(malformed.text).not.toContain('Sup3rSecretPw');
  });

  it('says what cannot be checked on a server that is not CockroachDB', async () => {
    sandbox.sql.faults.plainPostgres = true;
    const result = await callTool(server.client, 'check_certificate_expiry', { connection: 'selfhosted' });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ source: 'none', certificates: [], server: { product: 'postgresql' } });
    expect(result.text).toContain('not CockroachDB');
    expect(result.text).toMatch(/Next: .+$/);
  });
});

describe('verify_encryption_sql', () => {
  it('reports per-store encryption and the plaintext store, without SHOW CLUSTER SETTING', async () => {
    const result = await callTool(server.client, 'verify_encryption_sql', { connection: 'selfhosted' });
    expect(result.isError).toBe(false);
    expect(result.structured).toMatchObject({ source: 'sql', summary: { stores: 3, encrypted: 2, plaintext: 1, unknown: 0 }, probe: null });
    expect(result.text).toContain('node 3 store 3: PLAINTEXT');
    expect(result.text).toMatch(/Next: verify_encryption_sql .* Enable encryption at rest on the plaintext stores first/);
    expect(sandbox.sql.statements.count({ operation: /enterprise\.encryption/i })).toBe(0);
  });

  it('runs the probe and leaves no table behind, even after a failure between insert and drop', async () => {
    const ok = await callTool(server.client, 'verify_encryption_sql', { connection: 'selfhosted', probe: true });
    expect(ok.structured!.probe).toMatchObject({ ok: true, cleanup: 'same_connection', left_behind: false });
    expect(ok.text).toContain('Probe: create/insert/select passed; table dropped');
    expect(await probeTables()).toEqual([]);

    sandbox.sql.faults.failProbeAfterInsert();
    const failed = await callTool(server.client, 'verify_encryption_sql', { connection: 'selfhosted', probe: true });
    expect(failed.isError).toBe(false);
    expect(failed.structured!.probe).toMatchObject({ ok: false, failed_step: 'select', cleanup: 'same_connection', left_behind: false });
    expect(failed.text).toContain('Probe: FAILED at select');
    expect(await probeTables()).toEqual([]);
  });

  it('drops the probe table when the client cancels mid-probe', async () => {
    sandbox.sql.faults.latencyMs = 300;
    sandbox.sql.faults.latencyMatch = /^INSERT INTO "crdb_mcp_probe_/;
    const drops = sandbox.sql.statements.count({ operation: /^DROP TABLE IF EXISTS "crdb_mcp_probe_/ });
    const inserts = sandbox.sql.statements.count({ operation: /^INSERT INTO "crdb_mcp_probe_/ });
    const controller = new AbortController();
    const call = callTool(server.client, 'verify_encryption_sql', { connection: 'selfhosted', probe: true }, { signal: controller.signal });
    await vi.waitFor(() => expect(sandbox.sql.statements.count({ operation: /^INSERT INTO "crdb_mcp_probe_/ })).toBe(inserts + 1));
    controller.abort();
    await expect(call).rejects.toThrow();
    await vi.waitFor(() => expect(sandbox.sql.statements.count({ operation: /^DROP TABLE IF EXISTS "crdb_mcp_probe_/ })).toBe(drops + 1));
    await vi.waitFor(async () => expect(await probeTables()).toEqual([]));
  });

  it('refuses probe: true on a read-only server before any SQL, and still reads status', async () => {
    const before = sandbox.sql.statements.count();
    const refused = await callTool(readOnly.client, 'verify_encryption_sql', { connection: 'selfhosted', probe: true });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/would write a probe table .* --read-only/);
    expect(refused.text).toContain(
      'Next: call verify_encryption_sql {"connection":"selfhosted"} (the same call without probe: its read part works under --read-only)',
    );
    expect(refused.structured).toMatchObject({
      error: 'read_only',
      option: 'probe',
      next_actions: [{ tool: 'verify_encryption_sql', arguments: { connection: 'selfhosted' } }],
    });
    expect(sandbox.sql.statements.count()).toBe(before);
    const audited = auditEntries(readOnly.config.auditLog);
    expect(audited.at(-1)).toMatchObject({
      tool: 'verify_encryption_sql',
      outcome: 'refused',
      detail: 'read-only: would write a probe table (created, then dropped)',
    });
    const status = await callTool(readOnly.client, 'verify_encryption_sql', { connection: 'selfhosted' });
    expect(status.isError).toBe(false);
  });

  it('audits the probe (it writes and drops a table), and only the probe', async () => {
    const entries = () => auditEntries(server.config.auditLog);
    const before = entries().length;
    await callTool(server.client, 'verify_encryption_sql', { connection: 'selfhosted' });
    expect(entries().length).toBe(before);
    const probed = await callTool(server.client, 'verify_encryption_sql', { connection: 'selfhosted', probe: true });
    expect(probed.isError).toBe(false);
    expect(
      entries()
        .slice(before)
        .map((entry) => [entry.tool, entry.target, entry.outcome, entry.params.probe]),
    ).toEqual([
      ['verify_encryption_sql', 'selfhosted', 'attempted', true],
      ['verify_encryption_sql', 'selfhosted', 'succeeded', true],
    ]);
  });
});

describe('malformed input (property-based)', () => {
  const junk = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.object({ maxDepth: 1 }),
  );
  const badConnection = fc.oneof(
    junk.filter((v) => typeof v !== 'string' || !/^(postgres(ql)?:\/\/|[a-z0-9][a-z0-9_-]{0,62}$)/i.test(v)),
    fc.constantFrom(
      'postgresql://u:pw@h1,h2/db',
      'postgresql://u:%zz@h/db',
      'postgresql://h/db?sslmode=prefer',
      'postgres://h/db?sslcert=/a.crt',
      'nosuchtarget',
      'https://example.com',
    ),
  );
  const malformedArgs = fc.oneof(
    fc.record({ connection: badConnection }),
    fc.record({
      connection: fc.constant('selfhosted'),
      warn_days: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 3651 }), fc.string(), fc.double({ noInteger: true })),
    }),
    fc.record({ connection: fc.constant('selfhosted'), sslmode: fc.string().filter((s) => !['disable', 'require', 'verify-ca', 'verify-full'].includes(s)) }),
    fc.record({ connection: fc.constant('selfhosted'), sslrootcert: fc.oneof(fc.constant('relative/ca.crt'), fc.constant(''), fc.integer()) }),
    fc.record({
      connection: fc.constant('selfhosted'),
      http_url: fc.oneof(
        fc.constant('ftp://x'),
        fc.constant('https://u:p@h:8080'),
        fc.string({ maxLength: 20 }).filter((s) => !/^https?:\/\/\w/.test(s)),
      ),
    }),
    fc.record({ connection: fc.constant('selfhosted'), probe: fc.oneof(fc.string(), fc.integer()) }),
    fc.record({ connection: fc.constant('selfhosted'), unexpected_field: junk }),
  );

  it('answers isError, sends no SQL, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('check_certificate_expiry', 'verify_encryption_sql'), malformedArgs, async (tool, args) => {
        const before = sandbox.sql.statements.count();
        const result = await callTool(server.client, tool, args as Record<string, unknown>);
        expect(result, result.text).toMatchObject({ isError: true });
        expect(result.text.length).toBeGreaterThan(10);
        expect(sandbox.sql.statements.count()).toBe(before);
      }),
      { numRuns: 60 },
    );
    expect((await server.client.listTools()).tools.length).toBeGreaterThan(0);
  });
});
