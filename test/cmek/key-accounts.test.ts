import { describe, expect, it } from 'vitest';
import type { CmekClusterInfo, CmekRegionSpec } from '../../src/cloud/schemas.js';
import { existingKeySpecs, keyAccountChecks } from '../../src/cmek/key-accounts.js';
import type { KmsKeyType } from '../../src/kms/provider.js';

const spec = (type: KmsKeyType, region: string, uri: string, auth_principal: string): CmekRegionSpec => ({ region, key_spec: { type, uri, auth_principal } });
const info = (
  type: KmsKeyType,
  keys: Array<{ region: string; uri: string; principal: string; past?: { uri: string; principal: string } }>,
): CmekClusterInfo => ({
  status: 'ENABLED',
  region_infos: keys.map((key) => ({
    region: key.region,
    status: 'ENABLED' as const,
    key_infos: [
      ...(key.past
        ? [{ spec: { type, uri: key.past.uri, auth_principal: key.past.principal }, status: 'DISABLED' as const, created_at: '2024-01-01T00:00:00Z' }]
        : []),
      { spec: { type, uri: key.uri, auth_principal: key.principal }, status: 'ENABLED' as const, created_at: '2025-01-01T00:00:00Z' },
    ],
  })),
});
const summary = (checks: ReturnType<typeof keyAccountChecks>) => checks.map((check) => `${check.region ?? '-'}:${check.check}:${check.result}`);

describe('keyAccountChecks: AWS accounts', () => {
  const role = (account: string) => `arn:aws:iam::${account}:role/crdb-cmek`;
  const key = (account: string, region = 'us-east-1') => `arn:aws:kms:${region}:${account}:key/0b5c6f0e-1111-4222-8333-944455556666`;
  const cluster = info('AWS_KMS', [{ region: 'us-east-1', uri: key('210987654321'), principal: role('210987654321') }]);

  it('passes a key and role in the account of the existing keys', () => {
    const checks = keyAccountChecks('AWS_KMS', existingKeySpecs(cluster, 'AWS_KMS'), [
      spec('AWS_KMS', 'eu-west-1', key('210987654321', 'eu-west-1'), role('210987654321')),
    ]);
    expect(summary(checks)).toEqual(['-:key_account:pass']);
    expect(checks[0]!.detail).toContain('AWS account 210987654321');
  });

  it('warns for a key and, separately, a principal in another account, naming both accounts', () => {
    const checks = keyAccountChecks('AWS_KMS', existingKeySpecs(cluster, 'AWS_KMS'), [
      spec('AWS_KMS', 'eu-west-1', key('444455556666', 'eu-west-1'), role('210987654321')),
      spec('AWS_KMS', 'ap-south-1', key('210987654321', 'ap-south-1'), role('777788889999')),
    ]);
    expect(summary(checks)).toEqual(['eu-west-1:key_account:warn', 'ap-south-1:principal_account:warn']);
    expect(checks[0]!.detail).toMatch(/in AWS account 444455556666, unlike the cluster's existing keys \(AWS account 210987654321\)/);
    expect(checks[1]!.detail).toMatch(/role\/crdb-cmek is in AWS account 777788889999.*confirm it is yours/);
  });

  it("counts past keys as the cluster's own", () => {
    const withPast = info('AWS_KMS', [
      { region: 'us-east-1', uri: key('210987654321'), principal: role('210987654321'), past: { uri: key('444455556666'), principal: role('444455556666') } },
    ]);
    expect(
      summary(keyAccountChecks('AWS_KMS', existingKeySpecs(withPast, 'AWS_KMS'), [spec('AWS_KMS', 'us-east-1', key('444455556666'), role('444455556666'))])),
    ).toEqual(['-:key_account:pass']);
  });
});

describe('keyAccountChecks: GCP projects', () => {
  const sa = (project: string) => `crdb-cmek@${project}.iam.gserviceaccount.com`;
  const key = (project: string, location: string) => `projects/${project}/locations/${location}/keyRings/ring/cryptoKeys/k`;

  it('first enable: warns when the keys of one request span projects', () => {
    const checks = keyAccountChecks(
      'GCP_CLOUD_KMS',
      [],
      [
        spec('GCP_CLOUD_KMS', 'us-central1', key('acme-kms', 'us-central1'), sa('acme-kms')),
        spec('GCP_CLOUD_KMS', 'europe-west1', key('other-kms', 'global'), sa('acme-kms')),
      ],
    );
    expect(summary(checks)).toEqual(['us-central1:key_account:warn', 'europe-west1:key_account:warn']);
    expect(checks[1]!.detail).toMatch(/GCP project other-kms, unlike the other keys of this request \(GCP project acme-kms, other-kms\)/);
  });

  it('warns for a service account of another project than the existing keys', () => {
    const cluster = info('GCP_CLOUD_KMS', [{ region: 'us-central1', uri: key('acme-kms', 'us-central1'), principal: sa('acme-kms') }]);
    const checks = keyAccountChecks('GCP_CLOUD_KMS', existingKeySpecs(cluster, 'GCP_CLOUD_KMS'), [
      spec('GCP_CLOUD_KMS', 'us-central1', key('acme-kms', 'us-central1'), sa('someone-else')),
    ]);
    expect(summary(checks)).toEqual(['us-central1:principal_account:warn']);
    expect(checks[0]!.detail).toContain('GCP project someone-else');
  });
});

describe('keyAccountChecks: Azure tenants and vaults', () => {
  const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const OTHER = '0b6c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e';
  const keyId = (vault: string) => `https://${vault}.vault.azure.net/keys/payments-cmek/0123456789abcdef0123456789abcdef`;
  const cluster = info('AZURE_KEY_VAULT', [{ region: 'eastus', uri: keyId('acme-kv'), principal: TENANT }]);

  it('warns for a principal in another Microsoft Entra tenant', () => {
    const checks = keyAccountChecks('AZURE_KEY_VAULT', existingKeySpecs(cluster, 'AZURE_KEY_VAULT'), [
      spec('AZURE_KEY_VAULT', 'eastus', keyId('acme-kv'), OTHER),
    ]);
    expect(summary(checks)).toEqual(['eastus:principal_account:warn']);
    expect(checks[0]!.detail).toContain(`Microsoft Entra tenant ${OTHER}, unlike the cluster's existing keys (Microsoft Entra tenant ${TENANT})`);
  });

  it('warns for a key in another vault, and passes the same vault and tenant', () => {
    const elsewhere = keyAccountChecks('AZURE_KEY_VAULT', existingKeySpecs(cluster, 'AZURE_KEY_VAULT'), [
      spec('AZURE_KEY_VAULT', 'eastus', keyId('other-kv'), TENANT),
    ]);
    expect(summary(elsewhere)).toEqual(['eastus:key_account:warn']);
    expect(elsewhere[0]!.detail).toContain('Key Vault other-kv.vault.azure.net');
    expect(
      summary(keyAccountChecks('AZURE_KEY_VAULT', existingKeySpecs(cluster, 'AZURE_KEY_VAULT'), [spec('AZURE_KEY_VAULT', 'eastus', keyId('acme-kv'), TENANT)])),
    ).toEqual(['-:key_account:pass']);
  });
});
