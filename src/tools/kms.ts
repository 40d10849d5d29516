/**
 * KMS tools: provision_cmek_key (keys + grants per cluster region, emits region_specs) and
 * delete_kms_key (gated; refuses keys any cluster references).
 */
import { z } from 'zod';
import type { CallOptions, CloudApi } from '../cloud/api.js';
import { OperatorError } from '../errors.js';
import { enableCall, rotateToNewKeysCall } from './cmek-next.js';
import { defineTool } from './define-tool.js';
import { nextFields, nextLine, nextOutput, nextSteps, suggest, type NextSteps } from './next-actions.js';

const keyName = () =>
  z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/, 'letters, digits and hyphens, 1-63 characters, starting with a letter or digit')
    .describe('Key name (AWS alias, GCP key id, Azure key name); reused if it exists');

export const provisionCmekKeyInput = () =>
  z.object({
    cluster: z.string().min(1).max(128).describe('Cluster name or id'),
    key_name: keyName(),
    regions: z.array(z.string().min(1).max(64)).max(32).optional().describe('Default: all cluster regions'),
    auth_principal: z.string().min(1).max(512).optional().describe('AWS role ARN, GCP service account or Azure tenant id'),
    aws_account_id: z
      .string()
      .regex(/^\d{12}$/, '12 digits')
      .optional()
      .describe('AWS: account for the default role crdb-cmek-<cluster>'),
    gcp_project: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id')
      .optional()
      .describe('GCP: project (default: from ADC)'),
    azure_vault: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, 'a Key Vault name')
      .optional()
      .describe('Azure: vault in the region (one region per call)'),
    multi_region: z.boolean().optional().describe('AWS: multi-Region keys'),
    hsm: z.boolean().optional().describe('HSM-backed key (Azure, GCP)'),
    gcp_key_ring: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,63}$/, 'a key ring id')
      .optional()
      .describe('GCP: key ring (default crdb-cmek)'),
    deletion_window_days: z.number().int().min(1).max(120).optional().describe('GCP: destroy window, days (default 30)'),
    rotation_period_days: z.number().int().min(1).max(2560).optional().describe('Auto-rotation period, days'),
    dry_run: z.boolean().default(false).describe('Show the plan; change nothing'),
  });

const regionSpecOutput = () =>
  z.object({
    region: z.string(),
    key_spec: z.object({ type: z.string(), uri: z.string(), auth_principal: z.string() }),
  });

export const provisionCmekKey = defineTool({
  name: 'provision_cmek_key',
  title: 'Provision CMEK keys',
  description:
    'Create or reuse a CMEK key per cluster region, grant CockroachDB access, turn on auto-rotation. Returns region_specs for enable_cmek plus manual IAM steps. Idempotent.',
  toolset: 'kms',
  input: provisionCmekKeyInput,
  output: () =>
    z.object({
      cluster: z.object({ id: z.string(), name: z.string(), cloud_provider: z.string() }),
      dry_run: z.boolean(),
      region_specs: z.array(regionSpecOutput()),
      resources: z.array(
        z.object({ region: z.string(), uri: z.string(), actions: z.array(z.object({ action: z.string(), resource: z.string(), detail: z.string() })) }),
      ),
      manual_steps: z.array(z.string()),
      warnings: z.array(z.string()),
      ...nextOutput(),
    }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  target: (args) => args.cluster,
  async run(args, ctx) {
    const { resolveCluster } = await import('../cloud/resolve-cluster.js');
    const { chooseRegions, provisionCmekKeys } = await import('../kms/provisioning.js');
    const { kmsProviderForCloud } = await import('../kms/providers/index.js');
    const cloud = ctx.deps.cloud();
    const callOptions = { signal: ctx.signal, onRequestId: ctx.noteRequestId };
    const cluster = await resolveCluster(cloud, args.cluster, callOptions);
    if (cluster.plan !== 'ADVANCED') {
      throw new OperatorError(
        `Cluster ${cluster.name} is on the ${cluster.plan} plan`,
        'CMEK requires an Advanced cluster with advanced security features.',
        'run check_cmek_eligibility for the upgrade path; no keys were created.',
      );
    }
    const profile = kmsProviderForCloud(cluster.cloud_provider);
    const type = profile.type;
    const regions = chooseRegions(cluster, args.regions);
    if (profile.provisioning.oneRegionPerCall && regions.length > 1) {
      throw new OperatorError(
        `Cluster ${cluster.name} has ${regions.length} regions`,
        profile.provisioning.oneRegionPerCall.why,
        `call provision_cmek_key once per region, e.g. regions: ["${regions[0]}"] with that region's ${profile.provisioning.oneRegionPerCall.argument}.`,
      );
    }
    const organization = await cloud.getOrganization(callOptions);
    const provider = await ctx.deps.kms.get(type);
    const gcpProject = type === 'GCP_CLOUD_KMS' ? (args.gcp_project ?? (await provider.defaultProject?.(ctx.signal))) : undefined;
    const placement = {
      ...(args.auth_principal ? { authPrincipal: args.auth_principal } : {}),
      ...(args.aws_account_id ? { awsAccountId: args.aws_account_id } : {}),
      ...(gcpProject ? { gcpProject } : {}),
      ...(args.azure_vault ? { azureVault: args.azure_vault } : {}),
    };
    const principal = profile.provisioning.defaultPrincipal(cluster.name, placement);
    const container = profile.provisioning.container(placement);
    const containerFor = () => container;
    const outcome = await provisionCmekKeys(
      provider,
      {
        cluster,
        organizationId: organization.id,
        regions,
        keyName: args.key_name,
        authPrincipal: principal,
        containerFor,
        ...(args.multi_region ? { multiRegion: true } : {}),
        ...(args.hsm ? { hsm: true } : {}),
        ...(args.gcp_key_ring ? { keyRing: args.gcp_key_ring } : {}),
        ...(args.deletion_window_days === undefined ? {} : { deletionWindowDays: args.deletion_window_days }),
        ...(args.rotation_period_days === undefined ? {} : { rotationPeriodDays: args.rotation_period_days }),
        dryRun: args.dry_run,
      },
      { signal: ctx.signal, onRegionDone: (done, total, region) => ctx.progress(done, total, `provisioned ${region}`) },
    );
    const { dry_run: _dryRun, ...again } = args;
    const manual = outcome.manualSteps.length ? `after the manual steps above (${outcome.manualSteps.length}) are done` : '';
    let next: NextSteps;
    if (args.dry_run) {
      next = nextSteps([suggest('provision_cmek_key', again, 'create the keys and grants listed above')]);
    } else {
      const cmekOn = await cmekIsOn(cloud, cluster.id, callOptions);
      const why = (what: string) => `${what} with these region_specs${manual ? `, ${manual}` : ''}`;
      next =
        cmekOn === true
          ? nextSteps(rotateToNewKeysCall(cluster, outcome.regionSpecs, why('CMEK is already on: move to the new keys (dry run first)'), true))
          : nextSteps(
              [
                enableCall(cluster, outcome.regionSpecs, why('check and preview enabling CMEK (dry run: sends nothing)'), true),
                ...(cmekOn === undefined
                  ? rotateToNewKeysCall(cluster, outcome.regionSpecs, 'instead, if CMEK is already enabled: move to the new keys', true)
                  : []),
              ],
              'Enabling protects data written from then on only: it does not re-encrypt existing data.',
            );
    }
    const lines = [
      `${args.dry_run ? 'Would provision' : 'Provisioned'} ${outcome.regions.length} ${type} key(s) for ${cluster.name}:`,
      ...outcome.regions.map((region) => `- ${region.region}: ${region.uri} (${region.actions.map((action) => action.action).join(', ')})`),
      ...(outcome.regionSpecs.length
        ? [
            `Region specs${args.dry_run ? ' (final only after the real run)' : ''}:`,
            ...outcome.regionSpecs.map(
              (spec) => `- ${spec.region}: type ${spec.key_spec.type}, uri ${spec.key_spec.uri}, auth_principal ${spec.key_spec.auth_principal}`,
            ),
          ]
        : []),
      ...(outcome.warnings.length ? ['Warnings:', ...outcome.warnings.map((warning) => `- ${warning}`)] : []),
      ...(outcome.manualSteps.length ? ['Manual steps (outside this server):', ...outcome.manualSteps.map((step, index) => `${index + 1}. ${step}`)] : []),
      nextLine(next),
    ];
    return {
      data: {
        cluster: { id: cluster.id, name: cluster.name, cloud_provider: cluster.cloud_provider },
        dry_run: args.dry_run,
        region_specs: outcome.regionSpecs,
        resources: outcome.regions,
        manual_steps: outcome.manualSteps,
        warnings: outcome.warnings,
        ...nextFields(next),
      },
      text: lines.join('\n'),
      ...(args.dry_run ? { auditOutcome: 'dry_run' as const } : {}),
    };
  },
});

/** Whether CMEK is on for the cluster; undefined when that could not be read. */
async function cmekIsOn(cloud: CloudApi, clusterId: string, options: CallOptions): Promise<boolean | undefined> {
  try {
    const info = await cloud.getCmek(clusterId, options);
    return info !== null && info.status !== 'DISABLED' && info.status !== 'ENABLE_FAILED';
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return undefined;
  }
}

export const deleteKmsKeyInput = () =>
  z.object({
    key_uri: z.string().min(1).max(512).describe('AWS key ARN, GCP key name or Azure key id'),
    action: z.enum(['schedule_deletion', 'disable']).default('schedule_deletion').describe('disable is the safer, reversible choice'),
    pending_window_days: z.number().int().min(1).max(365).optional().describe('AWS: 7-30 (default 30); others: fixed'),
    confirmation_token: z.string().max(2048).optional().describe('Two-step confirmation token'),
    dry_run: z.boolean().default(false).describe('Show the plan; change nothing'),
  });

export const deleteKmsKey = defineTool({
  name: 'delete_kms_key',
  title: 'Delete a KMS key',
  description:
    'Schedule a KMS key for deletion (or disable it) only if no cluster uses it as a current or past CMEK key. Needs human confirmation; says how to undo.',
  toolset: 'kms',
  input: deleteKmsKeyInput,
  output: () =>
    z.object({
      key_uri: z.string(),
      key_type: z.string(),
      action: z.string(),
      dry_run: z.boolean(),
      state: z.string(),
      clusters_checked: z.number().int(),
      window_days: z.number().int().optional(),
      deletion_date: z.string().optional(),
      undo: z.string(),
      note: z.string().optional(),
      ...nextOutput(),
    }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  target: (args) => args.key_uri,
  async run(args, ctx) {
    const { executeKeyDeletion, planKeyDeletion, validateDeletionRequest } = await import('../kms/deletion.js');
    const { keyTypeOfUri } = await import('../kms/providers/index.js');
    const { requireConfirmation } = await import('../safety/require-confirmation.js');
    const type = keyTypeOfUri(args.key_uri);
    validateDeletionRequest(type, args.key_uri, args.pending_window_days);
    const provider = await ctx.deps.kms.get(type);
    const cloud = ctx.deps.cloud();
    const plan = await planKeyDeletion(
      {
        uri: args.key_uri,
        action: args.action,
        ...(args.pending_window_days === undefined ? {} : { pendingWindowDays: args.pending_window_days }),
        now: ctx.deps.clock.now(),
      },
      provider,
      cloud,
      { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, 'checking cluster key references') },
    );
    const summary = {
      key_uri: plan.uri,
      key_type: plan.type,
      action: plan.action,
      clusters_checked: plan.scan.clustersScanned,
      ...(plan.windowDays === undefined ? {} : { window_days: plan.windowDays }),
    };
    const verb = plan.action === 'disable' ? 'Disable' : `Schedule deletion (${plan.windowDays}-day window) of`;
    if (args.dry_run) {
      const { dry_run: _dryRun, confirmation_token: _token, ...again } = args;
      const next = nextSteps(
        [
          suggest(
            'delete_kms_key',
            again,
            `${plan.action === 'disable' ? 'disable' : 'schedule the deletion of'} the key; a human must confirm by typing its name`,
          ),
        ],
        plan.action === 'disable' ? undefined : 'Prefer action "disable" if you only need to stop its use.',
      );
      return {
        data: {
          ...summary,
          dry_run: true,
          state: plan.key.state,
          ...(plan.deletionDate ? { deletion_date: plan.deletionDate } : {}),
          undo: plan.reversibility,
          ...nextFields(next),
        },
        text: [`Plan: ${verb} ${plan.uri}.`, 'Consequences:', ...plan.consequences.map((c) => `- ${c}`), plan.reversibility, nextLine(next)].join('\n'),
        auditOutcome: 'dry_run',
      };
    }
    await requireConfirmation(ctx.confirm, {
      tool: 'delete_kms_key',
      targetName: plan.keyName,
      targetDescription: `${plan.type} key ${plan.uri}`,
      action: `${verb} KMS key ${plan.keyName}.`,
      consequences: plan.consequences,
      reversibility: plan.reversibility,
      params: { key_uri: args.key_uri, action: args.action, pending_window_days: args.pending_window_days ?? null },
      targetState: { state: plan.key.state, references: plan.scan.references.length, windowDays: plan.windowDays ?? null },
      ...(args.confirmation_token ? { token: args.confirmation_token } : {}),
      signal: ctx.signal,
    });
    const result = await executeKeyDeletion(plan, provider, cloud, ctx.signal);
    const next = nextSteps(
      [],
      plan.action === 'disable'
        ? 'nothing more for this server to do: watch the KMS audit log for failed decrypt attempts; re-enable the key if anything still needs it.'
        : `nothing more for this server to do: watch the KMS audit log for use of this key until ${result.deletionDate}; cancel the deletion if anything still needs it.`,
    );
    return {
      data: {
        ...summary,
        dry_run: false,
        state: result.state,
        ...(result.deletionDate ? { deletion_date: result.deletionDate } : {}),
        undo: result.undo,
        ...(result.note ? { note: result.note } : {}),
        ...nextFields(next),
      },
      text: [
        `${plan.action === 'disable' ? 'Disabled' : 'Scheduled for deletion:'} ${plan.uri} (state ${result.state}${result.deletionDate ? `, deleted on ${result.deletionDate}` : ''}).`,
        ...(result.note ? [result.note] : []),
        result.undo,
        nextLine(next),
      ].join('\n'),
    };
  },
});

/** The KMS toolset. */
export const KMS_TOOLS = [provisionCmekKey, deleteKmsKey];
