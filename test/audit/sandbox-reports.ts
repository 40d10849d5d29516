/**
 * Report files written by the real audit_encryption_posture tool (through an MCP client) on a
 * sandbox with a generated fleet: several fleet sizes, upstream names that are long, wide or
 * hostile, and a cluster whose CMEK read keeps failing (so "Could not audit" has an entry).
 */
import { readFileSync } from 'node:fs';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { fleetClusterId } from '../../src/sandbox/fleet.js';
import { CLUSTER_IDS } from '../../src/sandbox/seed.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { startCmekServer } from '../tools/cmek-helpers.js';

/** Generated clusters in the sandbox; the largest variant audits all of them. */
export const FLEET_SIZE = 300;

/** Names an upstream API could send: long, without spaces, wide glyphs, Markdown and HTML syntax, right-to-left text. */
export const HOSTILE_NAMES: Record<number, string> = {
  1: '数据库集群'.repeat(40),
  2: 'W'.repeat(400),
  3: `**bold** [link](http://evil.example) | pipe \`code\` <img src=x onerror=alert(1)> &amp; _u_ ~s~ # h ${'x'.repeat(120)}`,
  4: 'production-payments-eu-central-ledger-replica-with-a-very-long-descriptive-name-that-keeps-going-and-going',
  5: '\u202eevil-rtl\u2066 name ﷽﷽﷽﷽﷽﷽﷽﷽',
  7: 'a b c d e f g h i j k l m n o p q r s t u v w x y z '.repeat(6),
};

/** The fleet cluster whose GET /cmek fails every time. */
const FAILING = fleetClusterId(9);

export interface SandboxReport {
  name: string;
  markdown: string;
  html: string;
  htmlPath: string;
  /** The tool's structured result (the report). */
  report: { findings: Array<{ id: string }>; clusters: unknown[]; errors: unknown[] };
}

const seeded = Object.values(CLUSTER_IDS);
const fleet = (count: number) => Array.from({ length: count }, (_, index) => fleetClusterId(index + 1));

/** The variants: the seeded clusters, about 40 clusters, and every cluster (more timeline rows than are drawn). */
const VARIANTS: Array<{ name: string; clusters?: string[] }> = [
  { name: 'seed', clusters: seeded },
  { name: 'fleet-40', clusters: [...seeded, ...fleet(33)] },
  { name: `fleet-${FLEET_SIZE}` },
];

/** Starts the sandbox, writes every variant's report files, stops the sandbox. */
export async function writeSandboxReports(): Promise<SandboxReport[]> {
  const sandbox: Sandbox = await startSandbox({ cmekTransitionMs: 20, rateLimitPerSecond: 10_000, fleetSize: FLEET_SIZE });
  let server: TestServer | undefined;
  try {
    server = await startCmekServer(sandbox, { cloud: { rateLimitPerSecond: 10_000 } });
    sandbox.cloud.edit((world) => {
      for (const [index, name] of Object.entries(HOSTILE_NAMES)) world.clusters.get(fleetClusterId(Number(index)))!.name = name;
      world.clusters.get(CLUSTER_IDS['reports-aws'])!.name = `reports-aws ${'<b>&quot;'.repeat(30)}`;
    });
    sandbox.cloud.faults.inject({ kind: 'server_error', status: 500, count: 1_000, match: { path: new RegExp(`/clusters/${FAILING}/cmek`) } });
    const reports: SandboxReport[] = [];
    for (const variant of VARIANTS) {
      const result = await callTool(server.client, 'audit_encryption_posture', {
        ...(variant.clusters ? { clusters: variant.clusters } : {}),
        report_path: `${variant.name}.md`,
      });
      if (result.isError) throw new Error(`audit ${variant.name} failed: ${result.text}`);
      const files = result.structured!.report_files as { markdown: string; html: string };
      reports.push({
        name: variant.name,
        markdown: readFileSync(files.markdown, 'utf8'),
        html: readFileSync(files.html, 'utf8'),
        htmlPath: files.html,
        report: result.structured as SandboxReport['report'],
      });
    }
    return reports;
  } finally {
    await server?.close();
    await sandbox.stop();
  }
}
