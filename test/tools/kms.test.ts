import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ElicitResult } from '@modelcontextprotocol/client';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { AWS_ACCOUNT, AWS_CMEK_ROLE, AWS_KEYS, GCP_CMEK_SERVICE_ACCOUNT, GCP_PROJECT, awsKeyArn } from '../../src/sandbox/seed.js';
import { callTool } from '../helpers/harness.js';
import { startCmekServer } from './cmek-helpers.js';

const approve = (name: string) => (): ElicitResult => ({ action: 'accept', content: { confirm_name: name, decision: 'approve' } });
const kmsMutations = (sandbox: Sandbox) =>
  sandbox.aws.log.count({ operation: /ScheduleKeyDeletion|DisableKey|CreateKey|PutKeyPolicy|CreateAlias|EnableKeyRotation/ }) +
  sandbox.gcp.log.count({ operation: /Create|Update|Destroy|SetIamPolicy/ });

describe('provision_cmek_key', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ cmekTransitionMs: 20 });
  });
  afterAll(() => sandbox.stop());

  it('dry run on AWS plans keys in every region and creates nothing', async () => {
    const server = await startCmekServer(sandbox);
    const before = kmsMutations(sandbox);
    const result = await callTool(server.client, 'provision_cmek_key', {
      cluster: 'byoc-ledger',
      key_name: 'byoc-ledger-cmek',
      aws_account_id: AWS_ACCOUNT,
      dry_run: true,
    });
    expect(result.isError, result.text).toBe(false);
    expect(result.structured?.dry_run).toBe(true);
    expect(result.structured?.region_specs).toHaveLength(1);
    expect(result.structured?.resources[0].actions.map((a: { action: string }) => a.action)).toContain('would_create');
    expect(kmsMutations(sandbox)).toBe(before);
    await server.close();
  });

  it('provisions GCP keys in both regions whose region_specs enable CMEK, and a re-run reuses them', async () => {
    const server = await startCmekServer(sandbox);
    const args = { cluster: 'analytics-gcp', key_name: 'analytics-v2', gcp_project: GCP_PROJECT, auth_principal: GCP_CMEK_SERVICE_ACCOUNT };
    const first = await callTool(server.client, 'provision_cmek_key', args);
    expect(first.isError, first.text).toBe(false);
    const specs = first.structured?.region_specs as Array<{ region: string; key_spec: { type: string; uri: string } }>;
    expect(specs.map((spec) => spec.region).sort()).toEqual(['europe-west1', 'us-central1']);
    for (const spec of specs) {
      expect(spec.key_spec.type).toBe('GCP_CLOUD_KMS');
      expect(spec.key_spec.uri).toMatch(new RegExp(`^projects/${GCP_PROJECT}/locations/${spec.region}/keyRings/[^/]+/cryptoKeys/analytics-v2$`));
    }
    expect(first.text).toMatch(/crl-kms-user-/);
    expect(first.text).toMatch(/Next: .*enable_cmek/);

    const again = await callTool(server.client, 'provision_cmek_key', args);
    expect(again.isError, again.text).toBe(false);
    expect(again.structured?.region_specs).toEqual(specs);
    expect(again.structured?.resources.flatMap((r: { actions: Array<{ action: string }> }) => r.actions.map((a) => a.action))).not.toContain('created');

    const enabled = await callTool(server.client, 'enable_cmek', { cluster: 'analytics-gcp', region_specs: specs });
    expect(enabled.isError, enabled.text).toBe(false);
    expect(JSON.stringify(enabled.structured)).toContain('ENABLED');
    await server.close();
  });

  it('without gcp_project, keys go to the project of the default credentials (the sandbox: its seeded project)', async () => {
    const server = await startCmekServer(sandbox);
    const result = await callTool(server.client, 'provision_cmek_key', { cluster: 'analytics-gcp', key_name: 'analytics-adc', dry_run: true });
    expect(result.isError, result.text).toBe(false);
    for (const spec of result.structured?.region_specs as Array<{ key_spec: { uri: string; auth_principal: string } }>) {
      expect(spec.key_spec.uri).toMatch(new RegExp(`^projects/${GCP_PROJECT}/locations/`));
      expect(spec.key_spec.auth_principal).toBe(GCP_CMEK_SERVICE_ACCOUNT);
    }
    await server.close();
  });

  it('refuses a region the cluster does not run in, and non-Advanced clusters, before any KMS call', async () => {
    const server = await startCmekServer(sandbox);
    const before = kmsMutations(sandbox) + sandbox.aws.log.count();
    const wrongRegion = await callTool(server.client, 'provision_cmek_key', {
      cluster: 'prod-east',
      key_name: 'x',
      regions: ['eu-central-1'],
      auth_principal: AWS_CMEK_ROLE,
    });
    expect(wrongRegion.isError).toBe(true);
    expect(wrongRegion.text).toMatch(/eu-central-1.*not in cluster prod-east/);
    const standard = await callTool(server.client, 'provision_cmek_key', { cluster: 'web-standard', key_name: 'x', aws_account_id: AWS_ACCOUNT });
    expect(standard.isError).toBe(true);
    expect(standard.text).toMatch(/STANDARD plan/);
    const noPrincipal = await callTool(server.client, 'provision_cmek_key', { cluster: 'prod-east', key_name: 'x' });
    expect(noPrincipal.isError).toBe(true);
    expect(noPrincipal.text).toMatch(/auth_principal or aws_account_id/);
    expect(kmsMutations(sandbox) + sandbox.aws.log.count()).toBe(before);
    await server.close();
  });
});

describe('delete_kms_key', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ cmekTransitionMs: 20 });
  });
  afterAll(() => sandbox.stop());
  const unused = awsKeyArn(AWS_KEYS.unused);
  const deletions = () => sandbox.aws.log.count({ operation: /ScheduleKeyDeletion|DisableKey/ });

  it('refuses a key a cluster uses as its current key, naming the cluster and region', async () => {
    const server = await startCmekServer(sandbox, { onElicit: approve(AWS_KEYS.prodEastUsEast1.id) });
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: awsKeyArn(AWS_KEYS.prodEastUsEast1) });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/in use/);
    expect(result.text).toMatch(/prod-east .* region us-east-1: current key/);
    expect(result.structured!.next_actions).toEqual([
      { tool: 'get_cmek_status', arguments: { cluster: 'prod-east' }, why: expect.stringMatching(/must stay enabled/) },
    ]);
    expect(deletions()).toBe(0);
    await server.close();
  });

  it('refuses a past key still in key_infos and flags that it is already scheduled for deletion', async () => {
    const server = await startCmekServer(sandbox, { onElicit: approve(AWS_KEYS.prodEastPast.id) });
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: awsKeyArn(AWS_KEYS.prodEastPast), action: 'disable' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/past key, still needed/);
    expect(result.text).toMatch(/ALREADY scheduled for deletion/);
    expect(result.structured!.next_actions[0]).toMatchObject({
      tool: 'get_cmek_status',
      arguments: { cluster: 'prod-east' },
      needs: { manual_step: expect.stringMatching(/^cancel the key's scheduled deletion now: aws kms cancel-key-deletion/) },
    });
    expect(deletions()).toBe(0);
    await server.close();
  });

  it('refuses without a confirmation-capable client, and out-of-range windows before any call', async () => {
    const server = await startCmekServer(sandbox);
    const refused = await callTool(server.client, 'delete_kms_key', { key_uri: unused });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/elicitation|--dangerously-allow-token-confirmation/);
    const calls = sandbox.aws.log.count() + sandbox.cloud.log.count();
    const tooShort = await callTool(server.client, 'delete_kms_key', { key_uri: unused, pending_window_days: 3 });
    expect(tooShort.isError).toBe(true);
    expect(tooShort.text).toMatch(/7-30 days/);
    expect(sandbox.aws.log.count() + sandbox.cloud.log.count()).toBe(calls);
    expect(deletions()).toBe(0);
    await server.close();
  });

  it('a dry run shows the plan and changes nothing', async () => {
    const server = await startCmekServer(sandbox);
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: unused, dry_run: true, pending_window_days: 14 });
    expect(result.isError, result.text).toBe(false);
    expect(result.structured).toMatchObject({ dry_run: true, window_days: 14, state: 'Enabled' });
    expect(result.text).toMatch(/cancel-key-deletion/);
    expect(deletions()).toBe(0);
    await server.close();
  });

  it('a wrong typed name changes nothing; the exact name schedules deletion and says how to undo', async () => {
    const wrong = await startCmekServer(sandbox, { onElicit: approve('not-the-key') });
    const refused = await callTool(wrong.client, 'delete_kms_key', { key_uri: unused });
    expect(refused.isError).toBe(true);
    expect(deletions()).toBe(0);
    await wrong.close();

    const prompts: string[] = [];
    const server = await startCmekServer(sandbox, {
      onElicit: (request) => {
        prompts.push(request.message);
        return approve(AWS_KEYS.unused.id)();
      },
    });
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: unused, pending_window_days: 7 });
    expect(result.isError, result.text).toBe(false);
    expect(prompts[0]).toContain(unused);
    expect(result.structured).toMatchObject({ state: 'PendingDeletion', window_days: 7, dry_run: false });
    expect(result.structured?.undo).toMatch(/cancel-key-deletion/);
    expect(sandbox.aws.keyState(unused)).toBe('PendingDeletion');
    expect(deletions()).toBe(1);
    const audit = await server.deps.audit.verify();
    expect(audit.ok).toBe(true);
    await server.close();
  });

  it('answers malformed input with isError and no upstream call', async () => {
    const server = await startCmekServer(sandbox);
    const calls = () => sandbox.aws.log.count() + sandbox.cloud.log.count() + sandbox.gcp.log.count() + sandbox.azure.log.count();
    const before = calls();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          key_uri: fc.oneof(
            fc.string(),
            fc.constant(''),
            fc.constant('arn:aws:kms:us-east-1:12:key/x'),
            fc.constant('projects/p'),
            fc.string().map((s) => `https://${s}`),
          ),
          pending_window_days: fc.oneof(fc.integer(), fc.double(), fc.constant(undefined)),
          action: fc.oneof(fc.constant('schedule_deletion'), fc.constant('purge'), fc.string()),
        }),
        async (args) => {
          fc.pre(
            !(args.action === 'schedule_deletion' && Number.isInteger(args.pending_window_days) && /^arn:aws:kms:[a-z0-9-]+:\d{12}:key\//.test(args.key_uri)),
          );
          const result = await callTool(server.client, 'delete_kms_key', args as Record<string, unknown>);
          expect(result.isError).toBe(true);
          expect(result.text.length).toBeGreaterThan(10);
        },
      ),
      { numRuns: 200 },
    );
    expect(calls()).toBe(before);
    expect((await server.client.listTools()).tools.length).toBeGreaterThan(0);
    await server.close();
  });
});
