/**
 * Mutations of one cluster serialise: two concurrent `rotate_cmek new_version` calls (as the red
 * team sent them, through a real MCP client) spend one AWS on-demand rotation, and the second
 * answer is the first's result, saying so. A revocation approved during a rotation waits for it.
 * (enable_cmek and add_regions under the same lock: test/tools/cmek-add-regions.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { CLUSTER_IDS } from '../../src/sandbox/seed.js';
import { callTool } from '../helpers/harness.js';
import { startCmekServer, useSandboxPerFile } from '../tools/cmek-helpers.js';

let sandbox: Sandbox;
const servers = useSandboxPerFile((ready) => {
  sandbox = ready;
});
const awsRotations = () => sandbox.aws.log.count({ operation: 'RotateKeyOnDemand' });

describe('per-cluster mutation lock', () => {
  it('two concurrent identical rotations spend one KMS rotation; the second sees the first result', async () => {
    const server = await startCmekServer(sandbox);
    servers.push(server);
    const before = awsRotations();
    const args = { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] };
    const [first, second] = await Promise.all([callTool(server.client, 'rotate_cmek', args), callTool(server.client, 'rotate_cmek', args)]);
    expect(first.isError, first.text).toBe(false);
    expect(second.isError, second.text).toBe(false);
    expect(awsRotations() - before).toBe(1);
    expect(sandbox.cloud.log.count({ method: 'PUT' })).toBe(1);
    const joined = [first, second].filter(
      (result) => /already running in this server: this is its result/.test(result.text) && result.structured?.joined === true,
    );
    expect(joined).toHaveLength(1);
    expect(joined[0]!.structured!.outcome).toBe([first, second].find((result) => result !== joined[0])!.structured!.outcome);
  });

  it('different requests for one cluster run one after the other, each on fresh state', async () => {
    const server = await startCmekServer(sandbox);
    servers.push(server);
    const before = awsRotations();
    const [east, all] = await Promise.all([
      callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] }),
      callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version' }),
    ]);
    // Serialised: neither was refused for an operation in progress, and both rotated.
    expect(east.isError, east.text).toBe(false);
    expect(all.isError, all.text).toBe(false);
    expect(sandbox.cloud.log.count({ method: 'PUT' })).toBe(2);
    expect(awsRotations() - before).toBeGreaterThanOrEqual(2);
  });

  it('a revocation approved while a rotation of the cluster runs waits for it, then re-checks against its result', async () => {
    const rotationsBefore = awsRotations();
    const rotationStarted = async () => {
      while (awsRotations() === rotationsBefore) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    // The human approves only once the rotation holds the cluster (its KMS rotation has started).
    const server = await startCmekServer(sandbox, {
      onElicit: async () => {
        await rotationStarted();
        return { action: 'accept', content: { confirm_name: 'prod-east', decision: 'approve' } };
      },
    });
    servers.push(server);
    const rotation = callTool(server.client, 'rotate_cmek', { cluster: 'prod-east', mode: 'new_version', regions: ['us-east-1'] });
    await rotationStarted();
    const revocation = callTool(server.client, 'revoke_cmek', { cluster: 'prod-east' });
    const [rotated, revoked] = await Promise.all([rotation, revocation]);
    expect(rotated.isError, rotated.text).toBe(false);
    expect(rotated.structured!.outcome).toBe('rotated');
    // Serialised: the REVOKE was not sent in the middle of the rotation; the re-check saw the rotation's result.
    expect(revoked.isError).toBe(true);
    expect(revoked.text).toMatch(/the CMEK state changed after approval/);
    expect(sandbox.cloud.log.count({ method: 'PATCH', operation: 'PATCH /cmek' })).toBe(0);
    expect(sandbox.cloud.cmek(CLUSTER_IDS['prod-east'])?.status).toBe('ENABLED');
  });
});
