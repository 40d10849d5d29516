/**
 * Journeys an assistant makes by following only the server's own guidance, through a real MCP
 * client on the sandbox. Nothing is scripted call by call: each step executes the first entry of
 * the previous answer's next_actions that needs nothing from the operator.
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { cmekKeyPolicy } from '../../src/kms/providers/aws/policy.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_ACCOUNT, AWS_CMEK_ROLE } from '../../src/sandbox/seed.js';
import { callTool, type TestServer, type ToolCallOutcome } from '../helpers/harness.js';
import { expectActionableAnswer } from '../helpers/next-actions.js';
import { useFastSandboxServer } from '../tools/cmek-helpers.js';

let server: TestServer;
let sandbox: Sandbox;
useFastSandboxServer((readySandbox, ready) => {
  sandbox = readySandbox;
  server = ready;
});

type Action = { tool: string; arguments: Record<string, unknown>; why: string; needs?: Record<string, string> };

const MAX_STEPS = 12;

async function call(action: Pick<Action, 'tool' | 'arguments'>): Promise<ToolCallOutcome> {
  const result = await callTool(server.client, action.tool, action.arguments);
  expectActionableAnswer(result, `${action.tool} ${JSON.stringify(action.arguments)}`);
  return result;
}

function firstFree(result: ToolCallOutcome): Action | undefined {
  return (result.structured?.next_actions as Action[] | undefined)?.find((action) => !action.needs);
}

/** Follows first free next_actions from `start` until `done`; fails on a repeated call (a loop), no free action (a stall) or too many steps. */
async function follow(start: Pick<Action, 'tool' | 'arguments'>, done: (result: ToolCallOutcome) => boolean): Promise<string[]> {
  const trail: string[] = [];
  let action: Pick<Action, 'tool' | 'arguments'> = start;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const key = `${action.tool} ${JSON.stringify(action.arguments)}`;
    expect(trail, `loop: ${key} again after ${trail.join(' -> ')}`).not.toContain(key);
    trail.push(key);
    const result = await call(action);
    expect(result.isError, `${key}: ${result.text}`).toBe(false);
    if (done(result)) return trail;
    const next = firstFree(result);
    if (!next) throw new Error(`stalled after ${key}: ${result.text}`);
    action = next;
  }
  throw new Error(`no end after ${MAX_STEPS} steps: ${trail.join(' -> ')}`);
}

const enabled = (result: ToolCallOutcome) => result.structured?.status === 'ENABLED' && result.structured?.cmek_enabled !== false;

async function audit(clusters: string[]): Promise<ToolCallOutcome> {
  return call({ tool: 'audit_encryption_posture', arguments: { clusters, include_sql_targets: false } });
}

describe('an assistant that follows only next_actions', () => {
  it('(a) from check_cmek_eligibility on a cluster without CMEK to CMEK ENABLED', { timeout: 120_000 }, async () => {
    const trail = await follow({ tool: 'check_cmek_eligibility', arguments: { cluster: 'analytics-gcp' } }, enabled);
    expect(trail.map((step) => step.split(' ')[0])).toEqual([
      'check_cmek_eligibility',
      'provision_cmek_key',
      'provision_cmek_key',
      'enable_cmek',
      'enable_cmek',
    ]);
    expect(trail[1]).toContain('"gcp_project":"acme-kms-prod"');
    const status = await call({ tool: 'get_cmek_status', arguments: { cluster: 'analytics-gcp' } });
    expect(status.structured!.status).toBe('ENABLED');
  });

  it('(b) audit finding -> its fix (as next_actions) -> finding gone', { timeout: 180_000 }, async () => {
    const before = await audit(['byoc-ledger']);
    const finding = (before.structured!.findings as Array<{ id: string; code: string; fix: { tool: string; arguments?: Record<string, unknown> } }>).find(
      (f) => f.code === 'cmek_not_enabled',
    );
    expect(finding).toBeDefined();
    const fix = (before.structured!.next_actions as Action[]).find(
      (action) => action.tool === finding!.fix.tool && JSON.stringify(action.arguments) === JSON.stringify(finding!.fix.arguments),
    );
    expect(fix, "the finding's fix is one of the audit's next_actions").toBeDefined();
    await follow(fix!, enabled);
    const after = await audit(['byoc-ledger']);
    expect((after.structured!.findings as Array<{ id: string }>).map((f) => f.id)).not.toContain(finding!.id);
  });

  it('(c) rotate new_version -> status shows the new re-wrap -> the audit no longer asks to rotate', { timeout: 180_000 }, async () => {
    const asksToRotate = (result: ToolCallOutcome) => (result.structured!.next_actions as Action[]).filter((action) => action.tool === 'rotate_cmek');
    const before = await audit(['prod-east']);
    const rotations = asksToRotate(before);
    expect(rotations.length).toBeGreaterThan(0);
    for (const rotation of rotations) {
      const result = await call(rotation);
      expect(result.structured!.outcome, result.text).toBe('rotated');
    }
    const status = await call({ tool: 'get_cmek_status', arguments: { cluster: 'prod-east' } });
    for (const region of status.structured!.regions as Array<{ current_key: { age_days: number } }>) expect(region.current_key.age_days).toBe(0);
    expect(status.text).toMatch(/last re-wrapped 0 d ago/);
    const after = await audit(['prod-east']);
    expect(asksToRotate(after)).toEqual([]);
    expect((after.structured!.findings as Array<{ code: string }>).map((f) => f.code)).not.toContain('cmek_rotation_due');
  });

  it('(d) rotate_cmek new_key after provision_cmek_key, without auth_principal: told to pass the one from region_specs, with its value', {
    timeout: 120_000,
  }, async () => {
    const provisioned = await call({
      tool: 'provision_cmek_key',
      arguments: { cluster: 'reports-aws', key_name: 'crdb-cmek-reports-aws-2', aws_account_id: '111122223333' },
    });
    const [spec] = provisioned.structured!.region_specs as Array<{ region: string; key_spec: { uri: string; auth_principal: string } }>;
    expect(provisioned.text).toContain(`auth_principal ${spec!.key_spec.auth_principal}`);
    const refused = await call({
      tool: 'rotate_cmek',
      arguments: { cluster: 'reports-aws', mode: 'new_key', new_keys: { [spec!.region]: spec!.key_spec.uri } },
    });
    expect(refused.isError).toBe(true);
    expect(refused.text).toContain(`pass auth_principal from its region_specs`);
    expect(refused.text).toContain(spec!.key_spec.auth_principal);
    expect(refused.text).not.toMatch(/Next: .*provision_cmek_key does/);
    const retry = firstFree(refused)!;
    expect(retry).toMatchObject({ tool: 'rotate_cmek', arguments: { auth_principal: spec!.key_spec.auth_principal } });
    const rotated = await call(retry);
    expect(rotated.structured!.outcome, rotated.text).toBe('rotated');
  });

  it('(e) adding a region to a CMEK cluster: dry run -> the request it shows -> the new region ENABLED -> status', { timeout: 120_000 }, async () => {
    const kms = new KMSClient({ region: 'ap-south-1', endpoint: sandbox.aws.url, credentials: sandbox.aws.credentials, maxAttempts: 1 });
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Policy: JSON.stringify(cmekKeyPolicy(AWS_ACCOUNT, AWS_CMEK_ROLE)) }));
    kms.destroy();
    const start = {
      tool: 'enable_cmek',
      arguments: {
        cluster: 'prod-east',
        add_regions: { 'ap-south-1': 3 },
        keys: { 'ap-south-1': KeyMetadata!.Arn! },
        auth_principal: AWS_CMEK_ROLE,
        dry_run: true,
      },
    };
    const trail = await follow(start, (result) => result.structured?.outcome === 'enabled');
    expect(trail.map((step) => step.split(' ')[0])).toEqual(['enable_cmek', 'enable_cmek']);
    expect(trail[1]).toContain('"add_regions":{"ap-south-1":3}');
    const status = await call({ tool: 'get_cmek_status', arguments: { cluster: 'prod-east' } });
    expect((status.structured!.regions as Array<{ region: string; status: string }>).map((region) => [region.region, region.status])).toContainEqual([
      'ap-south-1',
      'ENABLED',
    ]);
  });
});
