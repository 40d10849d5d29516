/**
 * Fleet audit benchmark: a sandbox with a generated fleet and realistic latency, the Cloud API
 * rate limit raised (client limit set to match), and audit_encryption_posture called through a real
 * in-process MCP client. Compares wall time with the rate-limit bound (Cloud API requests counted
 * at the emulator / limit) and reports the most requests the emulator saw in any 1 s window.
 *
 * Standalone: npx tsx tools/bench/fleet-audit.ts [clusters] [latencyMs] [ratePerSecond]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/client';
import { buildConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { createServer } from '../../src/server.js';

export interface FleetAuditBenchOptions {
  /** Generated clusters on top of the 7 seeded ones. */
  clusters: number;
  latencyMs: number;
  rateLimitPerSecond: number;
}

export interface FleetAuditBenchResult {
  /** Clusters the audit covered (generated + seeded). */
  clusters: number;
  cloudRequests: number;
  wallMs: number;
  /** cloudRequests / rate limit, in ms: no client could finish sooner. */
  boundMs: number;
  ratio: number;
  /** Most Cloud API requests the emulator received in any 1 s window. */
  maxPerSecond: number;
  rateLimitPerSecond: number;
  /** Requests the emulator answered 429 (should be 0: the client limiter keeps under the limit). */
  throttled: number;
  kmsRequests: number;
  findings: Record<string, number>;
}

const WARM_UP_KEYS = {
  AWS_KMS: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000',
  GCP_CLOUD_KMS: 'projects/warm-up/locations/us-central1/keyRings/warm-up/cryptoKeys/warm-up',
  AZURE_KEY_VAULT: 'https://acme-crdb-kv.vault.azure.net/keys/warm-up/00000000000000000000000000000000',
} as const;

/** Runs one fleet audit and measures it. */
export async function benchFleetAudit(options: FleetAuditBenchOptions): Promise<FleetAuditBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'crdb-bench-audit-'));
  const sandboxOptions = {
    latencyMs: options.latencyMs,
    errorRate: 0,
    throttleNext: 0,
    cmekTransitionMs: 50,
    rateLimitPerSecond: options.rateLimitPerSecond,
    fleetSize: options.clusters,
  };
  const sandbox = await startSandbox(sandboxOptions);
  // Client limit = emulator limit (createDeps takes the sandbox's; the audit sizes its concurrency from the config).
  const config = buildConfig({ auditLog: join(dir, 'audit.jsonl'), sandbox: true, sandboxOptions });
  const deps = await createDeps(config, sandbox);
  const server = createServer(config, deps);
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  try {
    // Load the KMS SDKs and their protocol stubs first (one throw-away call each; GCP compiles its
    // protos on the first RPC): the benchmark measures the audit, not one-time module loading.
    await Promise.all(
      Object.entries(WARM_UP_KEYS).map(async ([type, uri]) => (await deps.kms.get(type as keyof typeof WARM_UP_KEYS)).describeKey(uri).catch(() => undefined)),
    );
    for (const emulator of [sandbox.cloud, sandbox.aws, sandbox.gcp, sandbox.azure]) emulator.log.clear();
    // The rate window must be empty when timing starts (no earlier request still counted).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const started = performance.now();
    const result = await client.callTool({ name: 'audit_encryption_posture', arguments: { include_sql_targets: false, format: 'json' } }, { timeout: 600_000 });
    const wallMs = performance.now() - started;
    if (result.isError) throw new Error(`audit failed: ${JSON.stringify(result.content)}`);
    const report = result.structuredContent as { summary: { clusters_audited: number; clusters_in_scope: number; findings: Record<string, number> } };
    if (report.summary.clusters_audited !== report.summary.clusters_in_scope) throw new Error(`audit incomplete: ${JSON.stringify(report.summary)}`);
    const cloudRequests = sandbox.cloud.log.count();
    const boundMs = (cloudRequests / options.rateLimitPerSecond) * 1000;
    return {
      clusters: report.summary.clusters_in_scope,
      cloudRequests,
      wallMs: Math.round(wallMs),
      boundMs: Math.round(boundMs),
      ratio: Math.round((wallMs / boundMs) * 100) / 100,
      maxPerSecond: sandbox.cloud.log.maxInWindow(1000),
      rateLimitPerSecond: options.rateLimitPerSecond,
      throttled: sandbox.cloud.log.entries.filter((entry) => entry.status === 429).length,
      kmsRequests: sandbox.aws.log.count() + sandbox.gcp.log.count() + sandbox.azure.log.count(),
      findings: report.summary.findings,
    };
  } finally {
    await client.close();
    await server.close();
    await deps.close();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [clusters = 1000, latencyMs = 50, rateLimitPerSecond = 100] = process.argv.slice(2).map(Number);
  const result = await benchFleetAudit({ clusters, latencyMs, rateLimitPerSecond });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
