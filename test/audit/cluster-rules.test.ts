import { describe, expect, it } from 'vitest';
import { auditAdvancedCluster, planFindings } from '../../src/audit/cluster-rules.js';
import { createKmsLookup } from '../../src/audit/kms-lookup.js';
import type { CmekClusterInfo, CmekKeyInfo } from '../../src/cloud/schemas.js';
import { KmsError } from '../../src/kms/provider.js';
import { cluster, fakeKms, keyDescription } from './fakes.js';

const NOW = Date.parse('2026-11-24T00:00:00Z');
const ROLE = 'arn:aws:iam::111122223333:role/crdb';
const arn = (n: number, region = 'us-east-1') => `arn:aws:kms:${region}:111122223333:key/00000000-0000-4000-8000-00000000000${n}`;
const key = (uri: string, status: CmekKeyInfo['status'], created: string, fields: Partial<CmekKeyInfo> = {}): CmekKeyInfo => ({
  spec: { type: 'AWS_KMS', uri, auth_principal: ROLE },
  status,
  created_at: created,
  updated_at: created,
  ...fields,
});
const enabled = (...keyInfos: CmekKeyInfo[]): CmekClusterInfo => ({
  status: 'ENABLED',
  region_infos: [{ region: 'us-east-1', status: 'ENABLED', key_infos: keyInfos }],
});
/** Finding codes, leaving out the info note every cluster with CMEK on gets (tested on its own below). */
const codes = (findings: Array<{ code: string; severity: string }>) =>
  findings
    .filter((f) => f.code !== 'cmek_covers_new_writes_only')
    .map((f) => `${f.severity}:${f.code}`)
    .sort();

async function run(info: CmekClusterInfo | null, kms?: ReturnType<typeof fakeKms>, fields = {}) {
  const lookup = kms ? createKmsLookup(kms.registry, new AbortController().signal, 4) : undefined;
  return auditAdvancedCluster(cluster('c', fields), info, lookup, NOW);
}

describe('cluster rules', () => {
  it('plans below Advanced: CMEK not available (low), no KMS', () => {
    expect(codes(planFindings(cluster('s', { plan: 'STANDARD' })))).toEqual(['low:cmek_not_available_on_plan']);
  });

  it('Advanced without CMEK: not enabled (medium); possible but unverifiable', async () => {
    const { findings, result } = await run(null);
    expect(codes(findings)).toEqual(['medium:cmek_not_enabled']);
    expect(result.cmek_possible).toBe('cannot_verify');
  });

  it('a healthy cluster has no findings; a past key kept enabled is info, not a problem', async () => {
    const kms = fakeKms({ [arn(1)]: keyDescription(arn(1), 'AWS_KMS'), [arn(2)]: keyDescription(arn(2), 'AWS_KMS') });
    const { findings, result } = await run(enabled(key(arn(1), 'DISABLED', '2026-01-01T00:00:00Z'), key(arn(2), 'ENABLED', '2026-06-01T00:00:00Z')), kms);
    expect(codes(findings)).toEqual(['info:past_key_retained']);
    expect(result.cmek_possible).toBe(true);
    expect(result.regions[0]!.keys.map((k) => [k.role, k.verified, k.age_days])).toEqual([
      ['current', true, 176],
      ['past', true, 327],
    ]);
  });

  it('past key disabled or scheduled for deletion is critical; current key scheduled or unusable is critical', async () => {
    const kms = fakeKms({
      [arn(1)]: keyDescription(arn(1), 'AWS_KMS', { state: 'Disabled', usable: false }),
      [arn(2)]: keyDescription(arn(2), 'AWS_KMS', {
        state: 'PendingDeletion',
        usable: false,
        deletion: { scheduled: true, scheduledFor: '2026-12-01T00:00:00Z' },
      }),
      [arn(3)]: keyDescription(arn(3), 'AWS_KMS', { state: 'PendingDeletion', usable: false, deletion: { scheduled: true } }),
    });
    const info: CmekClusterInfo = {
      status: 'ENABLED',
      region_infos: [
        {
          region: 'us-east-1',
          status: 'ENABLED',
          key_infos: [
            key(arn(1), 'DISABLED', '2025-01-01T00:00:00Z'),
            key(arn(2), 'DISABLED', '2025-02-01T00:00:00Z'),
            key(arn(3), 'ENABLED', '2026-06-01T00:00:00Z'),
          ],
        },
      ],
    };
    const { findings } = await run(info, kms);
    expect(codes(findings)).toEqual(['critical:current_key_pending_deletion', 'critical:past_key_disabled', 'critical:past_key_pending_deletion']);
    expect(findings.find((f) => f.code === 'past_key_pending_deletion')!.fix.description).toMatch(/aws kms cancel-key-deletion --key-id .*--region us-east-1/);
  });

  it('rotation off, broader grants and missing grants on the current key', async () => {
    const kms = fakeKms(
      { [arn(1)]: keyDescription(arn(1), 'AWS_KMS', { rotation: { automatic: false } }) },
      { [arn(1)]: { granted: false, missing: ['kms:ReEncrypt*'], broader: ['kms:* for the role'], verified: true } },
    );
    const { findings } = await run(enabled(key(arn(1), 'ENABLED', '2026-06-01T00:00:00Z')), kms);
    expect(codes(findings)).toEqual(['high:key_access_missing', 'high:key_policy_too_broad', 'medium:rotation_not_automatic']);
    // Without an alias there is no key name to give provision_cmek_key: the KMS command it is.
    expect(findings.find((f) => f.code === 'rotation_not_automatic')!.fix).toMatchObject({
      tool: 'manual',
      description: expect.stringContaining('aws kms enable-key-rotation'),
    });
  });

  it('rotation off on a key with an alias: the fix is provision_cmek_key, which reuses the key and turns rotation on', async () => {
    const kms = fakeKms({ [arn(1)]: keyDescription(arn(1), 'AWS_KMS', { rotation: { automatic: false }, aliases: ['alias/crdb-c-use1'] }) });
    const { findings } = await run(enabled(key(arn(1), 'ENABLED', '2026-06-01T00:00:00Z')), kms);
    expect(findings.find((f) => f.code === 'rotation_not_automatic')!.fix).toMatchObject({
      tool: 'provision_cmek_key',
      arguments: { cluster: 'c', regions: ['us-east-1'], key_name: 'crdb-c-use1', aws_account_id: expect.stringMatching(/^\d{12}$/) },
    });
  });

  it('Azure: purge protection off (high); no obsolete "soft delete off" finding (mandatory since Feb 2025); GCP: short destroy window (low)', async () => {
    const azure = 'https://kv1.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef';
    const azure2 = 'https://kv2.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef';
    const kms = fakeKms({
      [azure]: keyDescription(azure, 'AZURE_KEY_VAULT', { deletion: { scheduled: false, windowDays: 90, purgeProtection: false } }),
      [azure2]: keyDescription(azure2, 'AZURE_KEY_VAULT', { deletion: { scheduled: false, purgeProtection: false } }),
    });
    const spec = (uri: string) => ({
      spec: { type: 'AZURE_KEY_VAULT' as const, uri, auth_principal: 'a1b2c3d4-0000-4000-8000-00000000a2e1' },
      status: 'ENABLED' as const,
      created_at: '2026-06-01T00:00:00Z',
    });
    const info: CmekClusterInfo = {
      status: 'ENABLED',
      region_infos: [
        { region: 'eastus', status: 'ENABLED', key_infos: [spec(azure)] },
        { region: 'westeurope', status: 'ENABLED', key_infos: [spec(azure2)] },
      ],
    };
    const { findings } = await run(info, kms, { cloud_provider: 'AZURE', regions: [{ name: 'eastus' }, { name: 'westeurope' }] });
    expect(codes(findings)).toEqual(['high:purge_protection_disabled', 'high:purge_protection_disabled']);
    expect(findings.some((f) => f.code === 'soft_delete_disabled')).toBe(false);

    const gcp = 'projects/p1/locations/us-central1/keyRings/r/cryptoKeys/k';
    const gcpKms = fakeKms({ [gcp]: keyDescription(gcp, 'GCP_CLOUD_KMS', { deletion: { scheduled: false, windowDays: 1 } }) });
    const gcpInfo: CmekClusterInfo = {
      status: 'ENABLED',
      region_infos: [
        {
          region: 'us-central1',
          status: 'ENABLED',
          key_infos: [
            {
              spec: { type: 'GCP_CLOUD_KMS', uri: gcp, auth_principal: 'sa@p1.iam.gserviceaccount.com' },
              status: 'ENABLED',
              created_at: '2026-06-01T00:00:00Z',
            },
          ],
        },
      ],
    };
    const gcpRun = await run(gcpInfo, gcpKms, { cloud_provider: 'GCP', regions: [{ name: 'us-central1' }] });
    expect(codes(gcpRun.findings)).toEqual(['low:deletion_window_short']);
  });

  it('CMEK on is never presented as coverage of older data: an info note dates the coverage from the first key, in any region', async () => {
    const info: CmekClusterInfo = {
      status: 'ENABLED',
      region_infos: [
        { region: 'eu-west-1', status: 'ENABLED', key_infos: [key(arn(4, 'eu-west-1'), 'ENABLED', '2025-09-30T08:00:00Z')] },
        { region: 'ap-south-1', status: 'ENABLED', key_infos: [key(arn(5, 'ap-south-1'), 'ENABLED', '2025-03-02T10:00:00Z')] },
      ],
    };
    const { findings } = await run(info, undefined, { regions: [{ name: 'eu-west-1' }, { name: 'ap-south-1' }] });
    const note = findings.find((f) => f.code === 'cmek_covers_new_writes_only')!;
    expect(note.severity).toBe('info');
    expect(note.evidence).toMatch(/first key configured 2025-03-02T10:00:00Z/);
    expect(note.evidence).toMatch(/does not re-encrypt data written before it/);
    expect(note.evidence).toMatch(/backups taken before it cannot be restored/);
    const off = await run(null);
    expect(off.findings.find((f) => f.code === 'cmek_not_enabled')!.evidence).toMatch(/keys owned and managed by the cloud provider/);
    expect(off.findings.some((f) => f.code === 'cmek_covers_new_writes_only')).toBe(false);
  });

  it('KMS denied or unreachable: one could-not-verify note, no false finding', async () => {
    const kms = fakeKms(
      { [arn(1)]: new KmsError('access_denied', 'not authorized to perform kms:DescribeKey'), [arn(2)]: new KmsError('unavailable', 'no answer') },
      { [arn(1)]: new KmsError('access_denied', 'not authorized to perform kms:GetKeyPolicy') },
    );
    const { findings, result } = await run(enabled(key(arn(1), 'DISABLED', '2025-01-01T00:00:00Z'), key(arn(2), 'ENABLED', '2026-06-01T00:00:00Z')), kms);
    expect(codes(findings)).toEqual(['info:kms_check_unverified']);
    expect(findings.find((f) => f.code === 'kms_check_unverified')!.evidence).toMatch(/kms:DescribeKey/);
    expect(result.regions[0]!.keys.every((k) => !k.verified && !k.kms)).toBe(true);
  });

  it('failed operations are high with user_message; running ones are info; revoked is high', async () => {
    const failed: CmekClusterInfo = {
      status: 'ROTATE_FAILED',
      region_infos: [
        {
          region: 'us-east-1',
          status: 'ROTATE_FAILED',
          key_infos: [key(arn(1), 'ROTATE_FAILED', '2026-06-01T00:00:00Z', { user_message: 'key is disabled' })],
        },
      ],
    };
    const a = await run(failed, undefined, { operation_status: 'CRDB_CMEK_OPERATION_FAILED' });
    expect(codes(a.findings)).toEqual(['high:cmek_operation_failed']);
    expect(a.findings[0]!.evidence).toMatch(/user_message: us-east-1: key is disabled/);
    const enabling = await run({
      status: 'ENABLE_FAILED',
      region_infos: [{ region: 'us-east-1', status: 'ENABLE_FAILED', key_infos: [key(arn(1), 'ENABLE_FAILED', '2026-06-01T00:00:00Z')] }],
    });
    expect(codes(enabling.findings)).toEqual(['high:cmek_operation_failed']);
    expect(enabling.findings[0]!.fix.description).toMatch(/enable_cmek again/);
    const rotating = await run({
      status: 'ROTATING',
      region_infos: [{ region: 'us-east-1', status: 'ROTATING', key_infos: [key(arn(1), 'ROTATING', '2026-06-01T00:00:00Z')] }],
    });
    expect(codes(rotating.findings)).toEqual(['info:cmek_operation_in_progress']);
    const revoked = await run({ status: 'REVOKED', region_infos: [{ region: 'us-east-1', status: 'REVOKED', key_infos: [] }] });
    expect(codes(revoked.findings)).toEqual(['high:cmek_revoked']);
  });

  it('a cluster region without a key while CMEK is on is high; old key specs get an info rotation note', async () => {
    const { findings } = await run(enabled(key(arn(1), 'ENABLED', '2024-06-01T00:00:00Z')), undefined, {
      regions: [{ name: 'us-east-1' }, { name: 'us-west-2' }],
    });
    expect(codes(findings)).toEqual(['high:region_without_cmek', 'info:cmek_rotation_due']);
    expect(findings.find((f) => f.code === 'region_without_cmek')!.region).toBe('us-west-2');
  });

  it('asks the KMS once per key however many regions use it', async () => {
    const kms = fakeKms({ [arn(1)]: keyDescription(arn(1), 'AWS_KMS') });
    const lookup = createKmsLookup(kms.registry, new AbortController().signal, 4);
    const info: CmekClusterInfo = {
      status: 'ENABLED',
      region_infos: ['us-east-1', 'us-east-2', 'us-west-2'].map((region) => ({
        region,
        status: 'ENABLED' as const,
        key_infos: [key(arn(1), 'ENABLED', '2026-06-01T00:00:00Z')],
      })),
    };
    await auditAdvancedCluster(cluster('a'), info, lookup, NOW);
    await auditAdvancedCluster(cluster('b'), info, lookup, NOW);
    expect(kms.calls).toEqual({ describe: 1, access: 1 });
    expect(lookup.stats()).toEqual({ keys: 1, unverified: 0 });
  });
});
