/** Read-only CMEK tools: list_clusters, check_cmek_eligibility, get_cmek_status. */
import { z } from 'zod';
import { CLOUD_PROVIDERS, PLANS } from '../cloud/constants.js';
import type { KeyView } from '../cmek/status.js';
import { checkOutput, clusterInput, clusterRefOutput, cmekEnv, cmekStatusOutput, joinText, renderChecks } from './cmek-common.js';
import { eligibilityNext, listNext, statusNext } from './cmek-read-next.js';
import type { Deps } from '../deps.js';
import { defineTool } from './define-tool.js';
import { nextFields, nextLine, nextOutput } from './next-actions.js';

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;

export const listClustersInput = () =>
  z.strictObject({
    plan: z.enum(PLANS).optional().describe('Only this plan'),
    cloud: z.enum(CLOUD_PROVIDERS).optional().describe('Only this cloud'),
    label: z
      .string()
      .max(200)
      .regex(/^[^=\s]{1,63}=[^=\s]{0,63}$/, 'expected key=value')
      .optional()
      .describe('Label filter, key=value'),
  });

export const listClusters = defineTool({
  name: 'list_clusters',
  title: 'List clusters',
  description: 'List CockroachDB Cloud clusters (plan, cloud, state, regions, labels; CMEK status if Advanced). Start here.',
  toolset: 'cmek',
  input: listClustersInput,
  output: () =>
    z.object({
      clusters: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          plan: z.enum(PLANS),
          cloud_provider: z.enum(CLOUD_PROVIDERS),
          state: z.string(),
          regions: z.array(z.string()),
          labels: z.record(z.string(), z.string()),
          cmek_status: z.union([cmekStatusOutput(), z.enum(['NOT_AVAILABLE', 'UNKNOWN'])]),
          cmek_error: z.string().optional(),
        }),
      ),
      count: z.number().int(),
      total: z.number().int(),
      ...nextOutput(),
      sandbox: sandboxIdentitiesOutput()
        .optional()
        .describe('Only on the sandbox: its simulated organization, AWS account, GCP project, Azure tenant and vaults'),
    }),
  annotations: READ,
  async run(args, ctx) {
    const { listClustersWithCmek } = await import('../cmek/clusters.js');
    const { clusters, total } = await listClustersWithCmek(cmekEnv(ctx), args);
    const sandbox = ctx.deps.sandboxIdentities;
    const lines = clusters.map(
      (c) =>
        `- ${c.name} (${c.id}) ${c.plan} ${c.cloud_provider} ${c.state} [${c.regions.join(', ')}] CMEK ${c.cmek_status}${c.cmek_error ? ` (${c.cmek_error})` : ''}`,
    );
    const next = listNext(clusters, total, Boolean(args.plan || args.cloud || args.label));
    return {
      data: { clusters, count: clusters.length, total, ...(sandbox ? { sandbox } : {}), ...nextFields(next) },
      text: joinText(
        `${clusters.length} of ${total} clusters${clusters.length < total ? ' match the filter' : ''}:`,
        ...lines,
        ...(sandbox ? [describeSandbox(sandbox)] : []),
        nextLine(next),
      ),
    };
  },
});

const sandboxIdentitiesOutput = () =>
  z.object({
    organization: z.object({ id: z.string(), name: z.string() }),
    aws: z.object({ account_id: z.string(), key_regions: z.array(z.string()), cmek_role_arn: z.string() }),
    gcp: z.object({ project: z.string(), key_ring: z.string(), key_locations: z.array(z.string()), service_account: z.string() }),
    azure: z.object({ tenant_id: z.string(), vaults: z.array(z.object({ name: z.string(), location: z.string(), purge_protection: z.boolean() })) }),
    sql_targets: z.array(z.string()),
  });

function describeSandbox(sandbox: NonNullable<Deps['sandboxIdentities']>): string {
  const vaults = sandbox.azure.vaults.map((vault) => `${vault.name} (${vault.location}, purge protection ${vault.purge_protection ? 'on' : 'off'})`);
  return [
    `Sandbox: simulated organization "${sandbox.organization.name}" (${sandbox.organization.id}); nothing real is touched.`,
    `- AWS account ${sandbox.aws.account_id}, keys in ${sandbox.aws.key_regions.join(', ')}; prod-east's CMEK role ${sandbox.aws.cmek_role_arn}`,
    `- GCP project ${sandbox.gcp.project} (the default credentials' project), key ring ${sandbox.gcp.key_ring} in ${sandbox.gcp.key_locations.join(', ')}; service account ${sandbox.gcp.service_account}`,
    `- Azure tenant ${sandbox.azure.tenant_id}; vaults ${vaults.join(', ')}`,
    `- SQL target(s): ${sandbox.sql_targets.join(', ')}`,
  ].join('\n');
}

export const clusterOnlyInput = () => z.strictObject({ cluster: clusterInput() });

export const checkCmekEligibility = defineTool({
  name: 'check_cmek_eligibility',
  title: 'Check CMEK eligibility',
  description:
    'Can a cluster use CMEK? Checks plan, state, network, BYOC, operations, CMEK state. Verdict: eligible, not_eligible or cannot_verify (the security add-on is not in the API).',
  toolset: 'cmek',
  input: clusterOnlyInput,
  output: () =>
    z.object({
      cluster: clusterRefOutput(),
      verdict: z.enum(['eligible', 'not_eligible', 'cannot_verify']),
      cmek_enabled: z.boolean(),
      checks: z.array(checkOutput()),
      reasons: z.array(z.string()),
      ...nextOutput(),
    }),
  annotations: READ,
  async run(args, ctx) {
    const { checkEligibility } = await import('../cmek/eligibility.js');
    const { cluster, report } = await checkEligibility(cmekEnv(ctx), args.cluster);
    const next = eligibilityNext(cluster, report, await ctx.deps.keyHomes());
    return {
      data: {
        cluster: {
          id: cluster.id,
          name: cluster.name,
          plan: cluster.plan,
          cloud_provider: cluster.cloud_provider,
          regions: cluster.regions.map((r) => r.name),
        },
        verdict: report.verdict,
        cmek_enabled: report.cmekEnabled,
        checks: report.checks,
        reasons: report.reasons,
        ...nextFields(next),
      },
      text: joinText(
        `${cluster.name} (${cluster.id}): ${report.verdict}${report.cmekEnabled ? ', CMEK already on' : ''}.`,
        renderChecks(report.checks),
        nextLine(next),
      ),
    };
  },
});

const keyViewOutput = () =>
  z.object({
    type: z.string().optional(),
    uri: z.string().optional(),
    auth_principal: z.string().optional(),
    status: cmekStatusOutput().optional(),
    created_at: z.string().optional(),
    updated_at: z.string().optional(),
    last_wrapped_at: z.string().optional(),
    age_days: z.number().int().optional(),
    user_message: z.string().optional(),
  });

function keyLine(key: KeyView | null): string {
  if (!key) return 'no key';
  return `${key.uri ?? '?'} ${key.status ?? ''}${key.age_days === undefined ? '' : `, last re-wrapped ${key.age_days} d ago (${key.last_wrapped_at?.slice(0, 10)})`}`;
}

const healthFinding = () =>
  z.object({
    code: z.string(),
    severity: z.enum(['critical', 'high', 'medium', 'low', 'info']),
    region: z.string().optional(),
    key: z.string().optional(),
    title: z.string(),
    evidence: z.string(),
    fix: z.object({ tool: z.string(), arguments: z.record(z.string(), z.unknown()).optional(), description: z.string() }),
  });

export const getCmekStatusTool = defineTool({
  name: 'get_cmek_status',
  title: 'Get CMEK status',
  description: 'CMEK status per region: current and past keys (still needed for old data) with age, failures with user_message, and the next step.',
  toolset: 'cmek',
  input: clusterOnlyInput,
  output: () =>
    z.object({
      cluster: clusterRefOutput(),
      status: cmekStatusOutput(),
      cmek_enabled: z.boolean(),
      regions: z.array(
        z.object({
          region: z.string(),
          status: cmekStatusOutput(),
          current_key: keyViewOutput().nullable(),
          past_keys: z.array(keyViewOutput()),
          failures: z.array(z.string()),
        }),
      ),
      problems: z.array(z.string()),
      health: z.enum(['critical', 'high', 'medium', 'low', 'info', 'ok']),
      findings: z.array(healthFinding()),
      unverified: z.array(z.string()),
      ...nextOutput(),
    }),
  annotations: READ,
  async run(args, ctx) {
    const { getCmekStatus } = await import('../cmek/status.js');
    const { clusterHealth } = await import('../audit/cluster-health.js');
    const { cluster, info, view } = await getCmekStatus(cmekEnv(ctx), args.cluster);
    const health = await clusterHealth(cluster, info, ctx.deps.kms, ctx.signal, ctx.deps.clock.now());
    const lines = view.regions.map(
      (r) =>
        `- ${r.region}: ${r.status}; current ${keyLine(r.current_key)}${r.past_keys.length ? `; ${r.past_keys.length} past key(s) kept` : ''}${r.failures.length ? `; failure: ${r.failures.join(' | ')}` : ''}`,
    );
    const notable = health.findings.filter((finding) => finding.severity !== 'info');
    const next = statusNext(cluster, view, health.findings);
    const { next_step: _domainNext, ...rest } = view;
    return {
      data: {
        cluster: { id: cluster.id, name: cluster.name },
        ...rest,
        health: health.health,
        findings: health.findings.map(({ cluster: _cluster, ...finding }) => finding),
        unverified: health.unverified,
        ...nextFields(next),
      },
      text: joinText(
        `${cluster.name} (${cluster.id}) CMEK ${view.status}, health ${health.health === 'ok' ? 'ok' : health.health.toUpperCase()}:`,
        ...lines,
        ...notable.map(
          (finding) =>
            `- [${finding.severity}] ${finding.region ? `${finding.region}: ` : ''}${finding.title}${finding.key ? ` (${finding.key})` : ''} (${finding.code})`,
        ),
        ...(health.unverified.length ? [`- could not verify in the KMS: ${health.unverified.slice(0, 3).join(' | ')}`] : []),
        nextLine(next),
      ),
    };
  },
});

/** The read-only CMEK tools, in listing order. */
export const CMEK_READ_TOOLS = [listClusters, checkCmekEligibility, getCmekStatusTool];
