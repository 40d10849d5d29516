/**
 * Approval is not the end of the checks: while the confirmation form is open, the world may
 * change. These tests change it for real (a rotate_cmek new_key onto the key being deleted, a
 * rotation of the cluster being revoked) between the form request and the human's answer, then
 * approve; the re-check immediately before the destructive call must refuse, counted at the
 * sandbox emulators.
 */
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ElicitRequest, ElicitResult } from '@modelcontextprotocol/client';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_KEYS, awsKeyArn } from '../../src/sandbox/seed.js';
import { auditEntries, callTool, type TestServer } from '../helpers/harness.js';
import { cloudCalls, startCmekServer, useSandboxPerFile } from '../tools/cmek-helpers.js';

let sandbox: Sandbox;
const servers = useSandboxPerFile((ready) => (sandbox = ready));

// Each test uses its own key: the Cloud API state is reset between tests, the KMS state is not.
const next = awsKeyArn(AWS_KEYS.prodEastNext);
const unused = awsKeyArn(AWS_KEYS.unused);
const nextWest = awsKeyArn(AWS_KEYS.prodEastNextWest);
const kmsDeletions = () => sandbox.aws.log.count({ operation: /ScheduleKeyDeletion|DisableKey/ });
let deletionsBefore = 0;
/** ScheduleKeyDeletion and DisableKey calls at the KMS emulator since the test began (its log spans the file). */
const deletions = () => kmsDeletions() - deletionsBefore;
beforeEach(() => {
  deletionsBefore = kmsDeletions();
});
const approve = (name: string): ElicitResult => ({ action: 'accept', content: { confirm_name: name, decision: 'approve' } });

/** A server whose form handler first runs `meanwhile` (the race), then answers with `answer`. */
async function serverRacing(meanwhile: (server: TestServer, request: ElicitRequest['params']) => Promise<void>, answer: ElicitResult) {
  let server: TestServer | undefined;
  const forms: string[] = [];
  server = await startCmekServer(sandbox, {
    cloud: { rateLimitPerSecond: 1000 },
    onElicit: async (request) => {
      forms.push(request.message);
      await meanwhile(server!, request);
      return answer;
    },
  });
  servers.push(server);
  return { server, forms };
}

describe('precondition re-check after approval (legacy elicitation)', () => {
  it('delete_kms_key: a cluster that starts using the key while the form is open stops the deletion', async () => {
    let rotated: Awaited<ReturnType<typeof callTool>> | undefined;
    const { server, forms } = await serverRacing(async (running) => {
      rotated = await callTool(running.client, 'rotate_cmek', {
        cluster: 'prod-east',
        mode: 'new_key',
        regions: ['us-east-1'],
        new_keys: { 'us-east-1': next },
      });
    }, approve(AWS_KEYS.prodEastNext.id));
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: next, pending_window_days: 7 });
    expect(forms).toHaveLength(1);
    expect(rotated?.isError, rotated?.text).toBe(false);
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/Refusing: the key is in use \(checked again after approval; nothing was sent\)/);
    expect(result.text).toMatch(/prod-east .* region us-east-1: current key/);
    expect(deletions()).toBe(0);
    expect(sandbox.aws.keyState(next)).toBe('Enabled');
    const entries = auditEntries(server.config.auditLog).filter((entry) => entry.tool === 'delete_kms_key');
    expect(entries.map((entry) => [entry.outcome, entry.confirmation])).toEqual([
      ['attempted', undefined],
      ['refused', 'approved'],
    ]);
  });

  it('delete_kms_key: a key disabled in the KMS while the form is open is not scheduled on the strength of the old plan', async () => {
    const { server } = await serverRacing(async () => {
      const kms = new KMSClient({ endpoint: sandbox.aws.url, region: AWS_KEYS.unused.region, credentials: sandbox.aws.credentials, maxAttempts: 1 });
      await kms.send(new DisableKeyCommand({ KeyId: unused }));
      kms.destroy();
    }, approve(AWS_KEYS.unused.id));
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: unused });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/the key changed after approval.*state changed from Enabled to Disabled/s);
    expect(deletions()).toBe(1); // our own DisableKey during the form; nothing from the tool
  });

  it('delete_kms_key: with nothing changed meanwhile, the approved deletion goes through once', async () => {
    const { server } = await serverRacing(async () => {}, approve(AWS_KEYS.prodEastNextWest.id));
    const result = await callTool(server.client, 'delete_kms_key', { key_uri: nextWest, pending_window_days: 7 });
    expect(result.isError, result.text).toBe(false);
    expect(deletions()).toBe(1);
    expect(auditEntries(server.config.auditLog).map((entry) => [entry.outcome, entry.confirmation])).toEqual([
      ['attempted', undefined],
      ['succeeded', 'approved'],
    ]);
  });

  it('revoke_cmek: a rotation while the form is open stops the revocation', async () => {
    const { server } = await serverRacing(async (running) => {
      const rotated = await callTool(running.client, 'rotate_cmek', {
        cluster: 'prod-east',
        mode: 'new_key',
        regions: ['us-east-1'],
        new_keys: { 'us-east-1': next },
      });
      expect(rotated.isError, rotated.text).toBe(false);
    }, approve('prod-east'));
    const result = await callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/CMEK state changed after approval/);
    expect(cloudCalls(sandbox, 'PATCH', 'PATCH /cmek')).toBe(0);
  });
});
