/** CMEK write tools: enable_cmek, rotate_cmek and the gated revoke_cmek. */
import { z } from 'zod';
import { CMEK_KEY_TYPES } from '../cloud/constants.js';
import type { KeySpecInput } from '../cmek/key-specs.js';
import {
  checkOutput,
  clusterInput,
  clusterRefOutput,
  cmekEnv,
  dryRunInput,
  joinText,
  keyUriInput,
  principalInput,
  regionInput,
  regionName,
  cmekStatusOutput,
  regionsOutput,
  renderChecks,
  requestOutput,
  waitInput,
} from './cmek-common.js';
import { defineTool } from './define-tool.js';

const keysByRegion = () => z.record(regionName(), z.string().min(1).max(512));

export const enableCmekInput = () =>
  z
    .strictObject({
      cluster: clusterInput(),
      region_specs: z
        .array(
          z.strictObject({
            region: regionInput(),
            key_spec: z
              .strictObject({
                type: z.enum(CMEK_KEY_TYPES).exclude(['NULL_KMS']).optional().describe('Default: from the cloud'),
                uri: keyUriInput(),
                auth_principal: principalInput(),
              })
              .describe('Key for the region'),
          }),
        )
        .min(1)
        .max(50)
        .optional()
        .describe('One per region (from provision_cmek_key)'),
      keys: keysByRegion().optional().describe('Or: region -> key URI, plus auth_principal'),
      auth_principal: principalInput().optional(),
      wait: waitInput(),
      dry_run: dryRunInput(),
    })
    .superRefine((args, ctx) => {
      if (args.region_specs && args.keys) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'give region_specs or keys, not both' });
      if (!args.region_specs && !args.keys) ctx.addIssue({ code: 'custom', path: ['region_specs'], message: 'give region_specs, or keys with auth_principal' });
      if (args.keys && Object.keys(args.keys).length === 0) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'keys is empty' });
      if (args.keys && !args.auth_principal) ctx.addIssue({ code: 'custom', path: ['auth_principal'], message: 'keys needs auth_principal' });
      if (args.region_specs && args.auth_principal) ctx.addIssue({ code: 'custom', path: ['auth_principal'], message: 'with region_specs, set auth_principal inside each key_spec' });
    });

function specInputs(args: z.output<ReturnType<typeof enableCmekInput>>): KeySpecInput[] {
  if (args.region_specs) return args.region_specs.map((spec) => ({ region: spec.region, ...spec.key_spec }));
  return Object.entries(args.keys ?? {}).map(([region, uri]) => ({ region, uri, auth_principal: args.auth_principal! }));
}

const WRITE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true } as const;

export const enableCmekTool = defineTool({
  name: 'enable_cmek',
  title: 'Enable CMEK',
  description:
    'Enable CMEK with one key per cluster region. Validates regions, key type, URI, location, principal and KMS access first; sends nothing if any fails.',
  toolset: 'cmek',
  input: enableCmekInput,
  output: () => z.object({
    cluster: clusterRefOutput(),
    outcome: z.enum(['dry_run', 'enabled', 'failed', 'in_progress']),
    status: cmekStatusOutput(),
    request: requestOutput(),
    checks: z.array(checkOutput()),
    regions: regionsOutput(),
    next_step: z.string(),
  }),
  annotations: WRITE,
  target: (args) => args.cluster,
  async run(args, ctx) {
    const { enableCmek } = await import('../cmek/enable.js');
    const { describeOutcomes } = await import('../cmek/operation.js');
    const result = await enableCmek(cmekEnv(ctx), args.cluster, specInputs(args), { wait: args.wait, dryRun: args.dry_run });
    const head =
      result.outcome === 'dry_run'
        ? `Dry run for ${result.cluster.name}: checks passed; would send ${result.request.method} ${result.request.path} (nothing sent).`
        : `enable_cmek on ${result.cluster.name}: ${result.outcome} (${result.status}).`;
    return {
      data: result,
      text: joinText(head, result.outcome === 'dry_run' ? '' : describeOutcomes(result.regions), renderChecks(result.checks), `Next: ${result.next_step}`),
      auditOutcome: result.outcome === 'dry_run' ? 'dry_run' : result.outcome === 'failed' ? 'failed' : 'succeeded',
    };
  },
});

export const rotateCmekInput = () =>
  z
    .strictObject({
      cluster: clusterInput(),
      mode: z.enum(['new_version', 'new_key']).describe('new_version of the current key, or new_key (new_keys)'),
      regions: z.array(regionInput()).min(1).max(50).optional().describe('Default: all, or the failed ones'),
      new_keys: keysByRegion().optional().describe('Region -> new key URI'),
      auth_principal: principalInput().optional(),
      wait: waitInput(),
      dry_run: dryRunInput(),
    })
    .superRefine((args, ctx) => {
      if (args.mode === 'new_key' && (!args.new_keys || Object.keys(args.new_keys).length === 0)) {
        ctx.addIssue({ code: 'custom', path: ['new_keys'], message: 'mode new_key needs new_keys (region -> key URI)' });
      }
      if (args.mode === 'new_version' && args.new_keys) ctx.addIssue({ code: 'custom', path: ['new_keys'], message: 'new_keys is only for mode new_key' });
      if (args.regions && new Set(args.regions).size !== args.regions.length) ctx.addIssue({ code: 'custom', path: ['regions'], message: 'regions has duplicates' });
    });

export const rotateCmekTool = defineTool({
  name: 'rotate_cmek',
  title: 'Rotate CMEK keys',
  description:
    'Rotate CMEK: new KMS key version (new_version) or new keys (new_key), PUT, wait, verify per region. A re-run resumes the failed regions.',
  toolset: 'cmek',
  input: rotateCmekInput,
  output: () => z.object({
    cluster: clusterRefOutput(),
    mode: z.enum(['new_version', 'new_key']),
    outcome: z.enum(['dry_run', 'rotated', 'partial', 'failed', 'in_progress', 'nothing_to_do']),
    plan: z.array(
      z.object({
        region: z.string(),
        action: z.enum(['rotate', 'resume', 'skip']),
        reason: z.string(),
        status_before: cmekStatusOutput(),
        from_uri: z.string().optional(),
        target_uri: z.string().optional(),
        auth_principal: z.string().optional(),
        kms_rotation: z.boolean(),
      }),
    ),
    request: requestOutput().optional(),
    kms_rotations: z.array(z.object({ uri: z.string(), new_uri: z.string(), new_version: z.string().optional(), detail: z.string() })),
    checks: z.array(checkOutput()),
    regions: z.array(
      z.object({
        region: z.string(),
        result: z.enum(['rotated', 'failed', 'skipped', 'in_progress']),
        status: cmekStatusOutput(),
        key_uri: z.string().optional(),
        previous_key_uri: z.string().optional(),
        user_message: z.string().optional(),
        detail: z.string(),
      }),
    ),
    old_keys_notice: z.string(),
    next_step: z.string(),
  }),
  annotations: WRITE,
  target: (args) => args.cluster,
  async run(args, ctx) {
    const { rotateCmek } = await import('../cmek/rotation.js');
    const result = await rotateCmek(
      cmekEnv(ctx),
      args.cluster,
      {
        mode: args.mode,
        ...(args.regions ? { regions: args.regions } : {}),
        ...(args.new_keys ? { newKeys: args.new_keys } : {}),
        ...(args.auth_principal ? { authPrincipal: args.auth_principal } : {}),
      },
      { wait: args.wait, dryRun: args.dry_run },
    );
    const lines =
      result.outcome === 'dry_run'
        ? result.plan.map((p) => `- ${p.region}: ${p.action} - ${p.reason}`)
        : result.regions.map((r) => `- ${r.region}: ${r.result.toUpperCase()} (${r.status}) ${r.detail}`);
    const head =
      result.outcome === 'dry_run'
        ? `Dry run for ${result.cluster.name} (${args.mode}): would send PUT ${result.request?.path} (nothing sent).`
        : `rotate_cmek on ${result.cluster.name} (${args.mode}): ${result.outcome.toUpperCase()}.`;
    return {
      data: result,
      text: joinText(head, ...lines, renderChecks(result.checks), `Next: ${result.next_step}`),
      auditOutcome: result.outcome === 'dry_run' ? 'dry_run' : result.outcome === 'partial' || result.outcome === 'failed' ? 'failed' : 'succeeded',
    };
  },
});

export const revokeCmekInput = () =>
  z.strictObject({
    cluster: clusterInput(),
    confirmation_token: z.string().min(1).max(4096).optional().describe('Token from the previous call'),
    wait: waitInput(),
    dry_run: dryRunInput(),
  });

export const revokeCmekTool = defineTool({
  name: 'revoke_cmek',
  title: 'Revoke CMEK',
  description:
    "DESTRUCTIVE: revoke CMEK (after removing CockroachDB's KMS access). Restarted nodes cannot rejoin, backups fail; only support can restore. Needs human confirmation.",
  toolset: 'cmek',
  input: revokeCmekInput,
  output: () => z.object({
    cluster: clusterRefOutput(),
    outcome: z.enum(['dry_run', 'revoked', 'failed', 'in_progress']),
    status: cmekStatusOutput(),
    steps: z.array(z.string()),
    consequences: z.array(z.string()),
    checks: z.array(checkOutput()),
    request: requestOutput(),
    regions: regionsOutput(),
    next_step: z.string(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  target: (args) => args.cluster,
  async run(args, ctx) {
    const { revokeCmek } = await import('../cmek/revocation.js');
    const { requireConfirmation } = await import('../safety/require-confirmation.js');
    const { confirmation_token: token, ...params } = args;
    const result = await revokeCmek(cmekEnv(ctx), args.cluster, {
      wait: args.wait,
      dryRun: args.dry_run,
      params,
      ...(token ? { token } : {}),
      confirm: (request) => requireConfirmation(ctx.confirm, request),
    });
    const head =
      result.outcome === 'dry_run'
        ? `Dry run: revoking CMEK on ${result.cluster.name} (${result.cluster.id}) would send PATCH ${result.request.path} {"action":"REVOKE"} (nothing sent).`
        : `revoke_cmek on ${result.cluster.name}: ${result.outcome} (${result.status}).`;
    return {
      data: result,
      text: joinText(head, ...result.steps, `What stops working: ${result.consequences.join(' ')}`, renderChecks(result.checks), `Next: ${result.next_step}`),
      auditOutcome: result.outcome === 'dry_run' ? 'dry_run' : result.outcome === 'failed' ? 'failed' : 'succeeded',
    };
  },
});

/** The CMEK write tools, in listing order. */
export const CMEK_WRITE_TOOLS = [enableCmekTool, rotateCmekTool, revokeCmekTool];
