import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { CLUSTER_IDS, SEEDED_PROBLEMS } from '../../src/sandbox/seed.js';
import { auditEntries, callTool, startTestServer, tempDir, type TestServer } from '../helpers/harness.js';
import { startCmekServer, useFastSandboxServer } from './cmek-helpers.js';

let sandbox: Sandbox;
let server: TestServer;

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});
beforeEach(() => {
  sandbox.cloud.reset();
  sandbox.aws.deny.clear();
  sandbox.aws.faults.reset();
  sandbox.aws.log.clear();
});

type F = { code: string; severity: string; cluster?: { name: string }; target?: string; node?: string; key?: string };
const problemKey = (p: { code: string; severity: string; cluster?: string; target?: string; node?: string | number; key?: string }) =>
  `${p.severity} ${p.code} ${p.cluster ?? p.target} ${p.key ?? '-'} ${p.node ?? '-'}`;
const findingKey = (f: F) => problemKey({ ...f, cluster: f.cluster?.name });
const seeded = SEEDED_PROBLEMS.map((p) => problemKey(p as Parameters<typeof problemKey>[0])).sort();
const notable = (findings: F[]) =>
  findings
    .filter((f) => f.severity !== 'info')
    .map(findingKey)
    .sort();
const KMS_DERIVED = new Set(['past_key_pending_deletion', 'rotation_not_automatic', 'key_policy_too_broad', 'current_key_unusable']);
const cloudOnly = (p: { code: string; target?: string }) => !KMS_DERIVED.has(p.code) && !p.target;
const audit = (args: Record<string, unknown> = {}, options = {}) => callTool(server.client, 'audit_encryption_posture', args, options);

describe('audit_encryption_posture on the sandbox', () => {
  it('finds every seeded problem and no other (info notes aside)', { timeout: 120_000 }, async () => {
    const result = await audit();
    expect(result.isError).toBe(false);
    const data = result.structured!;
    expect(notable(data.findings)).toEqual(seeded);
    // Info notes are only the expected kinds: nothing was left unverified.
    expect(new Set(data.findings.filter((f: F) => f.severity === 'info').map((f: F) => f.code))).toEqual(
      new Set(['cmek_rotation_due', 'cmek_covers_new_writes_only']),
    );
    expect(data.complete).toBe(true);
    expect(data.summary).toMatchObject({
      clusters_in_scope: 7,
      clusters_audited: 7,
      sql_targets: 1,
      kms: 'checked',
      kms_keys_checked: 4,
      kms_keys_unverified: 0,
    });
    expect(data.clusters.find((c: any) => c.name === 'prod-east').regions.find((r: any) => r.region === 'us-east-1').keys).toEqual([
      expect.objectContaining({ role: 'current', verified: true, kms: expect.objectContaining({ state: 'Enabled', rotation_automatic: true }) }),
      expect.objectContaining({ role: 'past', verified: true, kms: expect.objectContaining({ state: 'PendingDeletion', deletion_scheduled: true }) }),
    ]);
    expect(data.sql_targets[0]).toMatchObject({ name: 'selfhosted', status: 'audited' });
    expect(data.framework_summary.map((f: any) => [f.framework, f.status])).toEqual([
      ['SOC2', 'fail'],
      ['HIPAA', 'fail'],
      ['PCI_DSS', 'fail'],
    ]);
    const cert = data.findings.find((f: F) => f.code === 'node_certificate_expires_soon');
    expect(cert).toMatchObject({
      controls: ['SOC2 CC6.7', 'HIPAA 164.312(e)(2)(ii)'],
      fix: { tool: 'plan_certificate_rotation', arguments: { kind: 'node' } },
    });
    expect(result.text).toMatch(/^Encryption posture audit:/);
    expect(result.text).toMatch(/Findings: 3 critical, 4 high, 4 medium, 2 low, \d+ info/);
    expect(result.text).toMatch(
      /\nNext: get_cmek_status \{"cluster":"prod-east"\} - past_key_pending_deletion on prod-east \(critical\).* First, outside this server: Cancel the deletion now: aws kms cancel-key-deletion/,
    );
  });

  it('maps findings only to the chosen frameworks', async () => {
    const result = await audit({ frameworks: ['PCI_DSS'], include_sql_targets: false });
    const data = result.structured!;
    expect(data.framework_summary.map((f: any) => f.framework)).toEqual(['PCI_DSS']);
    expect(data.findings.every((f: any) => f.controls.length > 0 && f.controls.every((c: string) => c.startsWith('PCI_DSS ')))).toBe(true);
    expect(data.framework_summary[0].controls.map((c: any) => c.control)).not.toContain('PCI_DSS 4.2.1');
  });

  it('scopes by names and ids, by labels, and refuses an unknown name before reading any CMEK state', async () => {
    const byRef = await audit({ clusters: ['prod-east', CLUSTER_IDS['reports-aws']], include_sql_targets: false });
    expect(byRef.structured!.clusters.map((c: any) => c.name)).toEqual(['prod-east', 'reports-aws']);
    expect(sandbox.cloud.log.count({ operation: 'GET /cmek' })).toBe(2);
    const byLabel = await audit({ labels: { team: 'payments', env: 'prod' }, include_sql_targets: false });
    expect(byLabel.structured!.clusters.map((c: any) => c.name)).toEqual(['payments-azure', 'prod-east']);
    sandbox.cloud.log.clear();
    const unknown = await audit({ clusters: ['prod-eats'] });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/Cluster 'prod-eats' not found.*prod-east/s);
    expect(sandbox.cloud.log.count({ operation: 'GET /cmek' })).toBe(0);
  });

  it('include_kms false asks no KMS and says so', async () => {
    const result = await audit({ include_kms: false, include_sql_targets: false });
    expect(sandbox.aws.log.count()).toBe(0);
    const data = result.structured!;
    expect(data.summary.kms).toBe('skipped');
    expect(data.findings.filter((f: F) => f.code === 'kms_checks_skipped')).toHaveLength(1);
    expect(notable(data.findings)).toEqual(
      SEEDED_PROBLEMS.filter(cloudOnly)
        .map((p) => problemKey(p as any))
        .sort(),
    );
    expect(result.text).toMatch(/KMS: skipped \(include_kms false\)/);
  });

  it('a KMS that denies our credentials gives could-not-verify notes, not false findings', async () => {
    sandbox.aws.deny.add('DescribeKey');
    sandbox.aws.deny.add('GetKeyPolicy');
    const result = await audit({ include_sql_targets: false });
    expect(result.isError).toBe(false);
    const data = result.structured!;
    expect(notable(data.findings)).toEqual(
      SEEDED_PROBLEMS.filter(cloudOnly)
        .map((p) => problemKey(p as any))
        .sort(),
    );
    const notes = data.findings.filter((f: F) => f.code === 'kms_check_unverified');
    expect(notes.map((f: F) => f.cluster!.name).sort()).toEqual(['prod-east', 'reports-aws']);
    expect(notes[0].evidence).toMatch(/AccessDeniedException|not authorized/);
    expect(data.summary.kms_keys_unverified).toBe(4);
    expect(data.framework_summary.find((f: any) => f.framework === 'SOC2').controls[0].status).toBe('fail');
  });

  it('a cluster whose GET /cmek keeps failing is reported failed while the others complete', async () => {
    sandbox.cloud.faults.inject({
      kind: 'server_error',
      status: 503,
      count: 10,
      match: { method: 'GET', path: new RegExp(`/clusters/${CLUSTER_IDS['analytics-gcp']}/cmek$`) },
    });
    const result = await audit({ include_sql_targets: false });
    expect(result.isError).toBe(false);
    const data = result.structured!;
    expect(data.complete).toBe(false);
    expect(data.summary).toMatchObject({ clusters_in_scope: 7, clusters_audited: 6, clusters_failed: 1 });
    expect(data.clusters.find((c: any) => c.name === 'analytics-gcp')).toMatchObject({ status: 'failed', error: expect.stringMatching(/HTTP 503/) });
    expect(sandbox.cloud.log.count({ path: new RegExp(`/clusters/${CLUSTER_IDS['analytics-gcp']}/cmek$`) })).toBe(4);
    expect(notable(data.findings)).toEqual(
      SEEDED_PROBLEMS.filter((p) => !('target' in p) && p.cluster !== 'analytics-gcp')
        .map((p) => problemKey(p as any))
        .sort(),
    );
    expect(result.text).toMatch(/could not audit cluster analytics-gcp/);
  });

  it('sends progress notifications up to clusters done / total', async () => {
    const events: Array<{ progress: number; total?: number }> = [];
    await audit({ include_sql_targets: false }, { onprogress: (event: { progress: number; total?: number }) => events.push(event) });
    expect(events.length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ progress: 7, total: 7 });
  });

  it('writes the Markdown report and an HTML timeline beside it, in the reports directory, and audits the write', async () => {
    mkdirSync(server.config.reportsDir, { recursive: true });
    const dir = realpathSync(server.config.reportsDir);
    const path = join(dir, `posture-${Date.now()}.md`);
    const result = await audit({ report_path: basename(path), format: 'json' });
    expect(result.structured!.report_files).toEqual({ markdown: path, html: path.replace(/\.md$/, '.html') });
    const markdown = readFileSync(path, 'utf8');
    for (const problem of SEEDED_PROBLEMS) expect(markdown).toContain(`code \`${problem.code}\``);
    const html = readFileSync(path.replace(/\.md$/, '.html'), 'utf8');
    const audited = auditEntries(server.config.auditLog);
    expect(
      audited
        .filter((entry) => entry.tool === 'audit_encryption_posture')
        .map((entry) => entry.outcome)
        .slice(-2),
    ).toEqual(['attempted', 'succeeded']);
    expect(html).toMatch(/<table class="timeline" aria-label="Key age and certificate expiry timeline">/);
    expect(html).toMatch(/selfhosted node 2 node cert<\/th><td class="plot"><svg [^>]*>(<line [^>]*>)*<rect [^>]*fill="#c62828"/);
    expect(html).toMatch(/prod-east us-east-1 past key<\/th><td class="plot"><svg [^>]*>(<line [^>]*>)*<rect [^>]*fill="#c62828"/);
    const text = JSON.parse(result.text);
    expect(text).toMatchObject({ complete: true, report_files: { markdown: path }, next: expect.stringMatching(/past_key_pending_deletion/) });
  });

  it('refuses a report_path over a foreign file or outside the reports directory, and an unknown SQL target, before any upstream call', async () => {
    const dir = server.config.reportsDir;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'mine.md'), 'keep me');
    const foreign = await audit({ report_path: join(dir, 'mine.md') });
    expect(foreign.isError).toBe(true);
    expect(foreign.text).toMatch(/Not overwriting .*mine.md[\s\S]*Next: /);
    const target = await audit({ include_sql_targets: ['prod-db'] });
    expect(target.isError).toBe(true);
    expect(target.text).toMatch(/Unknown SQL target 'prod-db'.*Configured targets: selfhosted/s);
    expect(sandbox.cloud.log.count()).toBe(0);
    expect(readFileSync(join(dir, 'mine.md'), 'utf8')).toBe('keep me');
    // As the red team found it: a CLAUDE.md where agents load instructions from.
    const elsewhere = tempDir();
    const claude = await audit({ report_path: join(elsewhere, 'CLAUDE.md') });
    expect(claude.isError).toBe(true);
    expect(claude.text).toMatch(/Not writing a report to .*CLAUDE\.md[\s\S]*only inside the reports directory[\s\S]*Next: /);
    expect(existsSync(join(elsewhere, 'CLAUDE.md'))).toBe(false);
    expect(sandbox.cloud.log.count()).toBe(0);
  });

  it('answers malformed arguments with isError, calls nothing upstream, and keeps serving (property)', async () => {
    const bad = fc.oneof(
      fc.record({ clusters: fc.oneof(fc.string(), fc.integer(), fc.constant([]), fc.constant(['bad name!']), fc.constant([''])) }),
      fc.record({ labels: fc.oneof(fc.constant({}), fc.constant({ 'a b': 'c' }), fc.constant({ env: '' }), fc.array(fc.string())) }),
      fc.constant({ clusters: ['prod-east'], labels: { env: 'prod' } }),
      fc.record({
        frameworks: fc.oneof(
          fc.constant([]),
          fc.array(
            fc.string().filter((s) => !['SOC2', 'HIPAA', 'PCI_DSS'].includes(s)),
            { minLength: 1, maxLength: 3 },
          ),
        ),
      }),
      fc.record({ include_kms: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }),
      fc.record({ include_sql_targets: fc.oneof(fc.string(), fc.constant([]), fc.constant(['bad target!'])) }),
      fc.record({ format: fc.string().filter((s) => s !== 'markdown' && s !== 'json') }),
      fc.record({ report_path: fc.oneof(fc.constant('x.md\0'), fc.constant('/tmp/x.txt'), fc.integer()) }),
      fc.record({ time_limit_seconds: fc.oneof(fc.constant(0), fc.constant(3601), fc.double({ min: 1.1, max: 2.9, noNaN: true })) }),
      fc.record({ unexpected: fc.anything() }),
    );
    await fc.assert(
      fc.asyncProperty(bad, async (args) => {
        const result = await audit(args as Record<string, unknown>);
        expect(result.isError).toBe(true);
        expect(result.text.length).toBeGreaterThan(10);
      }),
      { numRuns: 60 },
    );
    expect(sandbox.cloud.log.count()).toBe(0);
    expect(sandbox.aws.log.count()).toBe(0);
    expect((await server.client.listTools()).tools.some((tool) => tool.name === 'audit_encryption_posture')).toBe(true);
  });

  it('reports an unreachable SQL target as failed and still audits the clusters', async () => {
    const other = await startTestServer({
      sandbox,
      config: { sql: { targets: { broken: 'postgresql://audit@127.0.0.1:1/defaultdb?sslmode=disable&connect_timeout=2' }, statementTimeoutMs: 2000 } },
    });
    try {
      const result = await callTool(other.client, 'audit_encryption_posture', { clusters: ['prod-east'], include_sql_targets: ['broken'] });
      expect(result.isError).toBe(false);
      const data = result.structured!;
      expect(data.sql_targets).toEqual([expect.objectContaining({ name: 'broken', status: 'failed', error: expect.stringMatching(/127\.0\.0\.1:1/) })]);
      expect(data.summary).toMatchObject({ clusters_audited: 1, sql_targets_failed: 1 });
      expect(data.complete).toBe(false);
      expect(result.text).toMatch(/could not audit SQL target broken/);
    } finally {
      await other.close();
    }
  });

  it('without a Cloud API key, audits the self-hosted targets alone and says so', async () => {
    const other = await startTestServer({ config: { sql: { targets: { self: await sandbox.sql.connectionString() }, statementTimeoutMs: 5000 } } });
    try {
      const result = await callTool(other.client, 'audit_encryption_posture', {});
      expect(result.isError).toBe(false);
      const data = result.structured!;
      expect(data.scope).toMatch(/self-hosted SQL targets only \(no CockroachDB Cloud API key/);
      expect(data.summary).toMatchObject({ clusters_in_scope: 0, sql_targets: 1 });
      const selfHosted = SEEDED_PROBLEMS.filter((p) => 'target' in p).map((p) => problemKey({ ...(p as any), target: 'self' }));
      expect(notable(data.findings)).toEqual(selfHosted.sort());
      const named = await callTool(other.client, 'audit_encryption_posture', { clusters: ['prod-east'] });
      expect(named.isError).toBe(true);
      expect(named.text).toMatch(/No CockroachDB Cloud API key/);
    } finally {
      await other.close();
    }
  });

  it('stays available with --read-only, where its report writing is refused', async () => {
    const readOnly = await startTestServer({ sandbox, config: { readOnly: true } });
    try {
      const tool = (await readOnly.client.listTools()).tools.find((t) => t.name === 'audit_encryption_posture');
      expect(tool?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
      const refused = await callTool(readOnly.client, 'audit_encryption_posture', { include_sql_targets: false, report_path: 'posture.md' });
      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(
        /would write report files .* --read-only[\s\S]*Next: call audit_encryption_posture \{[^}]*"include_sql_targets":false[^}]*\} \(the same call without report_path/,
      );
      const [retry] = refused.structured?.next_actions;
      expect(retry).toMatchObject({
        tool: 'audit_encryption_posture',
        arguments: { include_sql_targets: false },
        why: 'the same call without report_path: its read part works under --read-only',
      });
      expect(retry.arguments).not.toHaveProperty('report_path');
      expect(sandbox.cloud.log.count()).toBe(0);
      const followed = await callTool(readOnly.client, retry.tool, retry.arguments);
      expect(followed.isError).toBe(false);
      expect(existsSync(readOnly.config.reportsDir)).toBe(false);
    } finally {
      await readOnly.close();
    }
  });
});

describe('audit_encryption_posture stopping early', () => {
  let slow: Sandbox;
  let slowServer: TestServer;

  beforeAll(async () => {
    slow = await startSandbox({ fleetSize: 60, latencyMs: 20, rateLimitPerSecond: 20, cmekTransitionMs: 30 });
    slowServer = await startCmekServer(slow, { cloud: { rateLimitPerSecond: 20 }, client: { pageSize: 10 } });
  });
  afterAll(async () => {
    await slowServer?.close();
    await slow?.stop();
  });

  it('a time limit returns partial results marked as such', async () => {
    const result = await callTool(slowServer.client, 'audit_encryption_posture', { include_sql_targets: false, time_limit_seconds: 1 });
    expect(result.isError).toBe(false);
    const data = result.structured!;
    // Pages of 10: the listing itself may still be running when the limit hits.
    expect(data.stopped).toEqual({
      reason: 'time_limit',
      message: expect.stringMatching(/^Stopped at the time limit after \d+ of (67|\d+\+ \(listing incomplete\)) clusters$/),
    });
    expect(data.complete).toBe(false);
    expect(data.summary.clusters_audited).toBeGreaterThan(0);
    expect(data.summary.clusters_audited + data.summary.clusters_not_audited).toBe(data.summary.clusters_in_scope);
    expect(slow.cloud.log.count({ operation: 'GET /clusters' })).toBeGreaterThan(1);
    expect(result.text).toMatch(/PARTIAL: Stopped at the time limit after/);
    expect(slow.cloud.log.maxInWindow(1000)).toBeLessThanOrEqual(20);
  });

  it('cancellation stops the work and still writes the partial report it was asked for', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    slow.cloud.log.clear();
    const dir = slowServer.config.reportsDir;
    const path = join(dir, 'partial.md');
    const controller = new AbortController();
    const call = callTool(
      slowServer.client,
      'audit_encryption_posture',
      { include_sql_targets: false, report_path: 'partial.md' },
      {
        signal: controller.signal,
        onprogress: () => controller.abort(),
      },
    );
    await expect(call).rejects.toThrow();
    for (let i = 0; i < 100 && !existsSync(join(dir, 'partial.html')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readFileSync(path, 'utf8')).toMatch(/\*\*PARTIAL: Cancelled after \d+ of \d+\+? ?(\(listing incomplete\) )?clusters\.\*\*/);
    // Requests already in flight at the abort are logged when the emulator answers them.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const requests = slow.cloud.log.count();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slow.cloud.log.count()).toBe(requests);
    expect(requests).toBeLessThan(40);
  });
});
