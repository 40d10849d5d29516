import { describe, expect, it } from 'vitest';
import { planRotation } from '../../src/cmek/rotation-plan.js';
import { OperatorError } from '../../src/errors.js';
import { AWS_CMEK_ROLE, AWS_KEYS, awsKeyArn } from '../../src/sandbox/seed.js';
import { seededCluster, seededCmek } from './fixtures.js';

const cluster = seededCluster('prod-east');
const east = awsKeyArn(AWS_KEYS.prodEastUsEast1);
const west = awsKeyArn(AWS_KEYS.prodEastUsWest2);
const nextEast = awsKeyArn(AWS_KEYS.prodEastNext);
const nextWest = awsKeyArn(AWS_KEYS.prodEastNextWest);

function withWestFailed(target = west) {
  const info = seededCmek('prod-east')!;
  info.status = 'ROTATE_FAILED';
  const region = info.region_infos![1]!;
  region.status = 'ROTATE_FAILED';
  region.key_infos!.push({
    spec: { type: 'AWS_KMS', uri: target, auth_principal: AWS_CMEK_ROLE },
    status: 'ROTATE_FAILED',
    created_at: '2026-11-01T00:00:00Z',
    user_message: 'access denied',
  });
  return info;
}

describe('planRotation', () => {
  it('new_version rotates every region in the KMS and keeps the URIs (AWS)', () => {
    const plan = planRotation(cluster, seededCmek('prod-east'), { mode: 'new_version' });
    expect(plan.checks.filter((c) => c.result === 'fail')).toEqual([]);
    expect(plan.regions.map((r) => [r.region, r.action, r.target_uri, r.kms_rotation, r.auth_principal])).toEqual([
      ['us-east-1', 'rotate', east, true, AWS_CMEK_ROLE],
      ['us-west-2', 'rotate', west, true, AWS_CMEK_ROLE],
    ]);
  });

  it('new_version on Azure leaves the target URI to the KMS rotation', () => {
    const azure = seededCluster('payments-azure');
    const uri = 'https://acme-crdb-kv.vault.azure.net/keys/payments-cmek/0123456789abcdef0123456789abcdef';
    const info = {
      status: 'ENABLED' as const,
      region_infos: [
        {
          region: 'eastus',
          status: 'ENABLED' as const,
          key_infos: [{ spec: { type: 'AZURE_KEY_VAULT' as const, uri, auth_principal: 'a1b2c3d4-0000-4000-8000-00000000a2e1' }, status: 'ENABLED' as const }],
        },
      ],
    };
    const plan = planRotation(azure, info, { mode: 'new_version' });
    expect(plan.regions[0]).toMatchObject({ action: 'rotate', kms_rotation: true, from_uri: uri });
    expect(plan.regions[0]!.target_uri).toBeUndefined();
  });

  it('a re-run after a failure resumes only the failed region, without a new KMS version', () => {
    const plan = planRotation(cluster, withWestFailed(), { mode: 'new_version' });
    expect(plan.regions).toEqual([expect.objectContaining({ region: 'us-west-2', action: 'resume', target_uri: west, kms_rotation: false })]);
  });

  it('new_key skips regions already on the new key and resumes failed ones', () => {
    const info = withWestFailed(nextWest);
    const east0 = info.region_infos![0]!;
    east0.key_infos!.push({ spec: { type: 'AWS_KMS', uri: nextEast, auth_principal: AWS_CMEK_ROLE }, status: 'ENABLED', created_at: '2026-11-01T00:00:00Z' });
    const plan = planRotation(cluster, info, { mode: 'new_key', newKeys: { 'us-east-1': nextEast, 'us-west-2': nextWest } });
    expect(plan.regions.map((r) => [r.region, r.action])).toEqual([
      ['us-east-1', 'skip'],
      ['us-west-2', 'resume'],
    ]);
  });

  it('new_key validates the new URIs; a key in another region warns, never refuses', () => {
    const plan = planRotation(cluster, seededCmek('prod-east'), { mode: 'new_key', newKeys: { 'us-east-1': awsKeyArn(AWS_KEYS.wrongRegion) } });
    expect(plan.checks.filter((c) => c.result === 'fail')).toEqual([]);
    expect(plan.checks.filter((c) => c.result === 'warn').map((c) => c.check)).toEqual(['key_location']);
    const bad = planRotation(cluster, seededCmek('prod-east'), {
      mode: 'new_key',
      newKeys: { 'us-east-1': 'arn:aws:kms:us-east-1:111122223333:alias/aws/ebs' },
    });
    expect(bad.checks.filter((c) => c.result === 'fail').map((c) => c.check)).toEqual(['key_uri']);
  });

  it('rejects regions the cluster does not have, and new_keys outside the chosen regions', () => {
    const plan = planRotation(cluster, seededCmek('prod-east'), {
      mode: 'new_key',
      regions: ['us-east-1'],
      newKeys: { 'us-east-1': nextEast, 'eu-west-9': nextWest },
    });
    expect(plan.checks.filter((c) => c.result === 'fail').map((c) => `${c.check}:${c.region}`)).toEqual(['region_known:eu-west-9', 'new_keys:eu-west-9']);
  });

  it.each([
    [null, /not enabled/],
    [{ status: 'ROTATING' as const, region_infos: [] }, /in progress/],
    [{ status: 'REVOKED' as const, region_infos: [] }, /REVOKED/],
    [{ status: 'ENABLE_FAILED' as const, region_infos: [] }, /Enabling CMEK failed/],
  ])('refuses when CMEK is %j', (info, message) => {
    expect(() => planRotation(cluster, info, { mode: 'new_version' })).toThrow(OperatorError);
    expect(() => planRotation(cluster, info, { mode: 'new_version' })).toThrow(message);
  });
});
