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
import { clusterOnly, enableCall, specArgument } from './cmek-next.js';
import { defineTool } from './define-tool.js';
import { nextFields, nextLine, nextOutput, nextSteps, suggest, type NextSteps } from './next-actions.js';

/** A request as the operator approves it: method, path and the exact JSON body. */
function requestText(request: { method: string; path: string; body: unknown }): string {
  return `${request.method} ${request.path}\n${JSON.stringify(request.body, null, 2)}`;
}

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
      add_regions: z
        .record(regionName(), z.number().int().min(1).max(150))
        .optional()
        .describe('CMEK already on: add these regions (region -> nodes); keys for these only'),
      wait: waitInput(),
      dry_run: dryRunInput(),
    })
    .superRefine((args, ctx) => {
      if (args.add_regions && Object.keys(args.add_regions).length === 0)
        ctx.addIssue({ code: 'custom', path: ['add_regions'], message: 'add_regions is empty' });
      if (args.region_specs && args.keys) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'give region_specs or keys, not both' });
      if (!args.region_specs && !args.keys) ctx.addIssue({ code: 'custom', path: ['region_specs'], message: 'give region_specs, or keys with auth_principal' });
      if (args.keys && Object.keys(args.keys).length === 0) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'keys is empty' });
      if (args.keys && !args.auth_principal) ctx.addIssue({ code: 'custom', path: ['auth_principal'], message: 'keys needs auth_principal' });
      if (args.region_specs && args.auth_principal)
        ctx.addIssue({ code: 'custom', path: ['auth_principal'], message: 'with region_specs, set auth_principal inside each key_spec' });
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
    'Enable CMEK with a key per cluster region, or add regions to a CMEK cluster (add_regions). Validates first; sends nothing if a check fails. Existing data is not re-encrypted; earlier managed backups become unrestorable.',
  toolset: 'cmek',
  input: enableCmekInput,
  output: () =>
    z.object({
      cluster: clusterRefOutput(),
      outcome: z.enum(['dry_run', 'enabled', 'failed', 'in_progress']),
      status: cmekStatusOutput(),
      request: requestOutput(),
      checks: z.array(checkOutput()),
      regions: regionsOutput(),
      joined: z.boolean().optional(),
      ...nextOutput(),
    }),
  annotations: WRITE,
  target: (args) => args.cluster,
  async run(args, ctx) {
    const { describeOutcomes } = await import('../cmek/operation.js');
    const options = { wait: args.wait, dryRun: args.dry_run };
    const result = args.add_regions
      ? await (await import('../cmek/add-regions.js')).addCmekRegions(cmekEnv(ctx), args.cluster, args.add_regions, specInputs(args), options)
      : await (await import('../cmek/enable.js')).enableCmek(cmekEnv(ctx), args.cluster, specInputs(args), options);
    const action = args.add_regions ? `adding ${Object.keys(args.add_regions).join(', ')} to` : 'enable_cmek on';
    const head =
      result.outcome === 'dry_run'
        ? `Dry run for ${result.cluster.name}: checks passed; nothing sent. The request to approve:\n${requestText(result.request)}`
        : `${action} ${result.cluster.name}: ${result.outcome} (${result.status}).${result.joined ? ' An identical request was already running in this server: this is its result, and nothing was sent twice.' : ''}`;
    const ref = clusterOnly(result.cluster);
    const body = result.request.body as {
      region_specs?: Parameters<typeof specArgument>[0][];
      dedicated?: { cmek_region_specs: Parameters<typeof specArgument>[0][] };
    };
    const specs = body.region_specs ?? body.dedicated!.cmek_region_specs;
    const send = enableCall(result.cluster, specs, 'send this request (every check passed)', false);
    const next: NextSteps =
      result.outcome === 'dry_run'
        ? nextSteps(
            [args.add_regions ? { ...send, arguments: { ...send.arguments, add_regions: args.add_regions } } : send],
            'Enabling protects data written from then on only: it does not re-encrypt existing data.',
          )
        : result.outcome === 'enabled'
          ? nextSteps(
              [
                suggest('get_cmek_status', ref, 'verify every region is ENABLED on its key'),
                suggest('audit_encryption_posture', { clusters: [ref.cluster] }, 'audit the new keys (rotation, deletion protection, grants)'),
              ],
              `Keep every key enabled and never schedule it for deletion while ${result.cluster.name} uses it.`,
            )
          : result.outcome === 'in_progress'
            ? nextSteps([suggest('get_cmek_status', ref, 'follow the operation; do not send the request again')])
            : nextSteps([suggest('get_cmek_status', ref, "read each failed region's user_message")], result.next_step);
    return {
      data: { ...result, ...nextFields(next) },
      text: joinText(head, result.outcome === 'dry_run' ? '' : describeOutcomes(result.regions), renderChecks(result.checks), nextLine(next)),
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
      if (args.regions && new Set(args.regions).size !== args.regions.length)
        ctx.addIssue({ code: 'custom', path: ['regions'], message: 'regions has duplicates' });
    });

export const rotateCmekTool = defineTool({
  name: 'rotate_cmek',
  title: 'Rotate CMEK keys',
  description: 'Rotate CMEK: new KMS key version (new_version) or new keys (new_key), PUT, wait, verify per region. A re-run resumes the failed regions.',
  toolset: 'cmek',
  input: rotateCmekInput,
  output: () =>
    z.object({
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
      joined: z.boolean().optional(),
      ...nextOutput(),
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
      result.outcome === 'dry_run' && result.request
        ? `Dry run for ${result.cluster.name} (${args.mode}): nothing sent. Plan per region:`
        : `rotate_cmek on ${result.cluster.name} (${args.mode}): ${result.outcome.toUpperCase()}.${result.joined ? ' An identical rotate_cmek was already running in this server: this is its result, and no second rotation was started.' : ''}`;
    const request = result.outcome === 'dry_run' && result.request ? `The request to approve:\n${requestText(result.request)}` : '';
    const ref = clusterOnly(result.cluster);
    const { dry_run: _dryRun, ...again } = args;
    const next: NextSteps =
      result.outcome === 'dry_run'
        ? nextSteps([suggest('rotate_cmek', again, 'run the rotation as planned')], result.next_step)
        : result.outcome === 'in_progress'
          ? nextSteps([suggest('get_cmek_status', ref, 'follow the rotation; do not start another change meanwhile')])
          : result.outcome === 'partial' || result.outcome === 'failed'
            ? nextSteps(
                [
                  suggest('get_cmek_status', ref, "read each failed region's user_message"),
                  suggest('rotate_cmek', again, 'resume only the failed regions once the key or grant is fixed'),
                ],
                result.next_step,
              )
            : nextSteps(
                [suggest('get_cmek_status', ref, 'verify every region is ENABLED on the new key version and see the new re-wrap date')],
                result.old_keys_notice,
              );
    return {
      data: { ...result, ...nextFields(next) },
      text: joinText(head, ...lines, request, renderChecks(result.checks), nextLine(next)),
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
    "DESTRUCTIVE: revoke CMEK (after removing CockroachDB's KMS access). The cluster restarts and stops serving at once; only support can restore. Needs human confirmation.",
  toolset: 'cmek',
  input: revokeCmekInput,
  output: () =>
    z.object({
      cluster: clusterRefOutput(),
      outcome: z.enum(['dry_run', 'revoked', 'failed', 'in_progress']),
      status: cmekStatusOutput(),
      steps: z.array(z.string()),
      consequences: z.array(z.string()),
      checks: z.array(checkOutput()),
      request: requestOutput(),
      regions: regionsOutput(),
      joined: z.boolean().optional(),
      ...nextOutput(),
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
        ? `Dry run: revoking CMEK on ${result.cluster.name} (${result.cluster.id}); nothing sent. The request to approve:\n${requestText(result.request)}`
        : `revoke_cmek on ${result.cluster.name}: ${result.outcome} (${result.status}).${result.joined ? ' An identical approved revocation was already running in this server: this is its result, and REVOKE was sent once.' : ''}`;
    const ref = clusterOnly(result.cluster);
    const next: NextSteps =
      result.outcome === 'dry_run'
        ? nextSteps(
            [
              suggest('revoke_cmek', ref, 'revoke for real; a human must confirm by typing the cluster name', {
                manual_step: "remove CockroachDB's access to every key in the KMS (step 1 above)",
              }),
            ],
            result.next_step,
          )
        : result.outcome === 'in_progress'
          ? nextSteps([suggest('get_cmek_status', ref, 'follow the revocation')], result.next_step)
          : nextSteps([], result.next_step);
    return {
      data: { ...result, ...nextFields(next) },
      text: joinText(head, 'Steps:', ...result.steps, `What stops working: ${result.consequences.join(' ')}`, renderChecks(result.checks), nextLine(next)),
      auditOutcome: result.outcome === 'dry_run' ? 'dry_run' : result.outcome === 'failed' ? 'failed' : 'succeeded',
    };
  },
});

/** The CMEK write tools, in listing order. */
export const CMEK_WRITE_TOOLS = [enableCmekTool, rotateCmekTool, revokeCmekTool];
