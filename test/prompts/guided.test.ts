import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { completePrompt, expectToolOrder, getPrompt } from './helpers.js';

const CMEK = 'skill://enabling-cmek-encryption';

describe('guided prompts (no cloud account)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('enable_cmek_guided names the tools in order with checkpoints, and embeds the provider procedure', async () => {
    const { text, embedded } = await getPrompt(t.client, 'enable_cmek_guided', { cluster: 'prod-east', provider: 'gcp' });
    expect(text).toContain('Target cluster: `prod-east`');
    expectToolOrder(text, [
      'check_cmek_eligibility',
      'provision_cmek_key',
      'enable_cmek',
      'get_cmek_status',
      'verify_encryption_sql',
      'audit_encryption_posture',
    ]);
    expect(text.match(/\*\*Checkpoint\*\*/g)).toHaveLength(2);
    expect(text).toContain('advanced security add-on');
    expect(text).toMatch(/must cover every cluster region/);
    expect(text).toMatch(/cross-tenant service account created in your project/);
    expect(text).toMatch(/key ring in the cluster region or `global`/);
    expect(text).not.toMatch(/location equals the cluster region/);
    expect(embedded).toEqual([`${CMEK}/references/gcp.md`]);
  });

  it('enable_cmek_guided without cluster or provider asks instead of guessing', async () => {
    const { text, embedded } = await getPrompt(t.client, 'enable_cmek_guided');
    expect(text).toContain('Ask the operator which cluster');
    expect(text).toContain('Do not pick one yourself');
    expect(text).toMatch(/Provider not given: `check_cmek_eligibility` shows the cluster's `cloud_provider`/);
    expect(embedded).toEqual([]);
  });

  it('rotate_cmek_guided: new_key provisions before rotating; keeps old keys; explains PUT /cmek', async () => {
    const { text, embedded } = await getPrompt(t.client, 'rotate_cmek_guided', { cluster: 'prod-east', mode: 'new_key', provider: 'AWS' });
    expectToolOrder(text, ['get_cmek_status', 'provision_cmek_key', 'rotate_cmek']);
    expect(text).toMatch(/not used until `PUT \/cmek` is sent/);
    expect(text).toMatch(/Keep every previous key and key version enabled/);
    expect(embedded).toEqual([`${CMEK}/references/rotation.md`, `${CMEK}/references/aws.md`]);
  });

  it('rotate_cmek_guided without mode asks for it', async () => {
    const { text } = await getPrompt(t.client, 'rotate_cmek_guided', { cluster: 'prod-east' });
    expect(text).toMatch(/Mode not given: ask the operator/);
  });

  it('respond_to_key_compromise: contain, new key, rotate, verify; revoke only as a gated last resort', async () => {
    const { text, embedded } = await getPrompt(t.client, 'respond_to_key_compromise', { cluster: 'prod-east', provider: 'Azure' });
    expectToolOrder(text, ['get_cmek_status', 'provision_cmek_key', 'rotate_cmek', 'revoke_cmek', 'audit_encryption_posture', 'verify_audit_log']);
    expect(text).toMatch(/\*\*Contain\*\*/);
    expect(text).toMatch(/Key Vault diagnostic logs/);
    expect(text).toMatch(/asks a human to type the cluster name/);
    expect(embedded).toEqual([`${CMEK}/references/safety-guide.md`, `${CMEK}/references/rotation.md`, `${CMEK}/references/azure.md`]);
  });

  it('compliance_audit: audit, audit log, evidence; frameworks parsed leniently', async () => {
    const { text } = await getPrompt(t.client, 'compliance_audit', { frameworks: 'soc2, pci-dss', scope: 'env=prod' });
    expect(text).toContain('Frameworks: SOC2, PCI_DSS.');
    expect(text).toContain('Scope: `env=prod`.');
    expectToolOrder(text, ['audit_encryption_posture', 'verify_audit_log', 'get_cmek_status']);
    expect(text).toMatch(/PCI DSS v4 3\.5-3\.7/);
  });

  it('compliance_audit without frameworks asks which apply', async () => {
    const { text } = await getPrompt(t.client, 'compliance_audit');
    expect(text).toMatch(/Frameworks not given: ask which apply \(SOC2, HIPAA, PCI_DSS\)/);
  });

  it.each([
    ['rotate_cmek_guided', { mode: 'sideways' }, /mode 'sideways' is not one of: new_version, new_key/],
    ['enable_cmek_guided', { provider: 'IBM' }, /provider 'IBM' is not one of: AWS, GCP, Azure/],
    ['respond_to_key_compromise', { provider: 'oci' }, /provider 'oci' is not one of: AWS, GCP, Azure/],
    ['compliance_audit', { frameworks: 'SOC2,ISO27001' }, /framework 'ISO27001' is not one of: SOC2, HIPAA, PCI_DSS/],
  ])('%s refuses invalid values with the valid list', async (name, args, message) => {
    await expect(getPrompt(t.client, name, args)).rejects.toThrow(message);
  });

  it('completes modes, providers and framework lists', async () => {
    expect(await completePrompt(t.client, 'rotate_cmek_guided', 'mode', 'new_')).toEqual(['new_version', 'new_key']);
    expect(await completePrompt(t.client, 'rotate_cmek_guided', 'mode', 'NEW K')).toEqual(['new_key']);
    expect(await completePrompt(t.client, 'enable_cmek_guided', 'provider', 'a')).toEqual(['AWS', 'Azure']);
    expect(await completePrompt(t.client, 'compliance_audit', 'frameworks', '')).toEqual(['SOC2', 'HIPAA', 'PCI_DSS']);
    expect(await completePrompt(t.client, 'compliance_audit', 'frameworks', 'SOC2,h')).toEqual(['SOC2,HIPAA']);
    expect(await completePrompt(t.client, 'compliance_audit', 'frameworks', 'SOC2, HIPAA,')).toEqual(['SOC2,HIPAA,PCI_DSS']);
  });

  it('cluster completion is empty (not an error) without a Cloud API key', async () => {
    expect(await completePrompt(t.client, 'enable_cmek_guided', 'cluster', 'p')).toEqual([]);
  });
});

describe('cluster completion on the sandbox', () => {
  let sandbox: Sandbox;
  let t: TestServer;
  beforeAll(async () => {
    sandbox = await startSandbox({ cmekTransitionMs: 20 });
    t = await startTestServer({ sandbox });
  });
  afterAll(async () => {
    await t.close();
    await sandbox.stop();
  });

  it('completes cluster names from list_clusters, case-insensitively by prefix then substring, from a short-lived cache', async () => {
    expect((await completePrompt(t.client, 'enable_cmek_guided', 'cluster', 'P')).slice(0, 2)).toEqual(['payments-azure', 'prod-east']);
    expect(await completePrompt(t.client, 'enable_cmek_guided', 'cluster', 'EAST')).toEqual(['prod-east']);
    const before = sandbox.cloud.log.count();
    expect(await completePrompt(t.client, 'rotate_cmek_guided', 'cluster', 'prod')).toEqual(['prod-east']);
    expect(await completePrompt(t.client, 'respond_to_key_compromise', 'cluster', '')).toHaveLength(7);
    expect(sandbox.cloud.log.count()).toBe(before);
  });
});
