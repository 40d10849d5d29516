/**
 * The sandbox's seeded organization: one consistent world shared by the Cloud API, KMS and SQL
 * emulators. Its deliberate problems are listed in SEEDED_PROBLEMS (the fleet audit must find
 * exactly these). Documented in the README.
 */
import type { Cluster, CmekClusterInfo, Organization } from '../cloud/schemas.js';

export { SANDBOX_API_KEY, SELF_HOSTED_TARGET } from './constants.js';

export const ORG_ID = '9f3e1c2a-5b7d-4e8f-a1c3-2d4b6e8f0a1c';
/** The customer's AWS account that holds the KMS keys. */
export const AWS_ACCOUNT = '111122223333';
/** The customer's GCP project that holds the KMS keys. */
export const GCP_PROJECT = 'acme-kms-prod';
export const AZURE_TENANT = 'a1b2c3d4-0000-4000-8000-00000000a2e1';
export const AZURE_VAULT = 'acme-crdb-kv';

export const ORGANIZATION: Organization = {
  id: ORG_ID,
  name: 'Acme Payments',
  label: 'acme-payments',
  created_at: '2023-02-01T10:00:00Z',
  cockroach_cloud_service_principals: {
    aws: { user_arn: 'arn:aws:iam::541263489771:user/cockroach-cloud-cmek' },
    gcp: { service_account_email: 'crl-cmek@crl-prod-kms.iam.gserviceaccount.com' },
    azure: { app_registration_client_id: '5f1c0a2e-7e0d-4b9a-9b1e-6a9f3c2d1e0f', app_registration_name: 'CockroachDB Cloud' },
  },
};

/** Cluster ids, by name, for tests. */
export const CLUSTER_IDS = {
  'prod-east': '3b1f5c7e-2a4d-4c6e-8f10-a2b4c6d8e0f1',
  'analytics-gcp': '7c2e9a41-5d3b-4f6a-9e21-0b1c2d3e4f5a',
  'payments-azure': 'e5d4c3b2-a190-4f8e-8d7c-6b5a49382716',
  'byoc-ledger': '0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d',
  'reports-aws': '4d3c2b1a-0f9e-4d8c-b7a6-958473625140',
  'web-standard': '1f2e3d4c-5b6a-4978-8877-665544332211',
  'dev-basic': '9a8b7c6d-5e4f-4321-8fed-cba987654321',
} as const;

/** AWS role CockroachDB assumes for prod-east (trust: cluster account_id, External ID: ORG_ID). */
export const AWS_CMEK_ROLE = `arn:aws:iam::${AWS_ACCOUNT}:role/crdb-cmek-prod-east`;
export const GCP_CMEK_SERVICE_ACCOUNT = `crdb-cmek@${GCP_PROJECT}.iam.gserviceaccount.com`;

/** Seeded AWS KMS keys. */
export const AWS_KEYS = {
  /** prod-east us-east-1, current. Rotation on, policy exact. */
  prodEastUsEast1: { id: '1a2b3c4d-0001-4e5f-8a9b-000000000001', region: 'us-east-1', alias: 'alias/crdb-prod-east-use1' },
  /** prod-east us-west-2, current. Problem: automatic rotation off; policy grants kms:* to the role. */
  prodEastUsWest2: { id: '1a2b3c4d-0002-4e5f-8a9b-000000000002', region: 'us-west-2', alias: 'alias/crdb-prod-east-usw2' },
  /** prod-east us-east-1, past key still in key_infos. Problem: PendingDeletion (critical). */
  prodEastPast: { id: '1a2b3c4d-0003-4e5f-8a9b-000000000003', region: 'us-east-1', alias: 'alias/crdb-prod-east-use1-2024' },
  /** Not referenced by any cluster: safe to schedule for deletion. */
  unused: { id: '1a2b3c4d-0004-4e5f-8a9b-000000000004', region: 'us-east-1', alias: 'alias/crdb-unused' },
  /** In eu-central-1: the wrong region for every seeded cluster. */
  wrongRegion: { id: '1a2b3c4d-0005-4e5f-8a9b-000000000005', region: 'eu-central-1', alias: 'alias/prod-east-wrong-region' },
  /** reports-aws eu-west-1 current key. Problem: Disabled, so its rotation failed. */
  reportsDisabled: { id: '1a2b3c4d-0006-4e5f-8a9b-000000000006', region: 'eu-west-1', alias: 'alias/crdb-reports' },
  /** A second key in us-east-1 granted to the prod-east role, for "rotate to a new key". */
  prodEastNext: { id: '1a2b3c4d-0007-4e5f-8a9b-000000000007', region: 'us-east-1', alias: 'alias/crdb-prod-east-use1-next' },
  /** us-west-2 key granted to the role, for "rotate to a new key" in the second region. */
  prodEastNextWest: { id: '1a2b3c4d-0008-4e5f-8a9b-000000000008', region: 'us-west-2', alias: 'alias/crdb-prod-east-usw2-next' },
} as const;

/** ARN of a seeded AWS key. */
export function awsKeyArn(key: { id: string; region: string }): string {
  return `arn:aws:kms:${key.region}:${AWS_ACCOUNT}:key/${key.id}`;
}

/** Seeded GCP keys: key ring crdb-analytics in each analytics-gcp region, plus one in the wrong location. */
export const GCP_KEYS = {
  usCentral1: { location: 'us-central1', keyRing: 'crdb-analytics', key: 'analytics-cmek' },
  europeWest1: { location: 'europe-west1', keyRing: 'crdb-analytics', key: 'analytics-cmek' },
  wrongLocation: { location: 'us-east1', keyRing: 'crdb-analytics', key: 'analytics-cmek' },
} as const;

/** Resource name (without version) of a seeded GCP key. */
export function gcpKeyName(key: { location: string; keyRing: string; key: string }): string {
  return `projects/${GCP_PROJECT}/locations/${key.location}/keyRings/${key.keyRing}/cryptoKeys/${key.key}`;
}

/** Seeded Azure vault and key. Problem: purge protection is off. */
export const AZURE_KEYS = {
  vault: { name: AZURE_VAULT, location: 'eastus', softDeleteRetentionDays: 90, purgeProtection: false },
  payments: { name: 'payments-cmek', keyType: 'RSA', keySize: 3072, version: '7c1e4a9b2d3f40a58e6b9c0d1f2a3b4c', createdAt: '2025-06-02T09:30:00Z' },
  /** Same tenant and region, purge protection ON, no keys: for provisioning. */
  protectedVault: { name: 'acme-crdb-kv-protected', location: 'eastus', softDeleteRetentionDays: 90, purgeProtection: true },
} as const;

/** Key identifier of a seeded Azure key (versioned when `version` is given, as CMEK needs). */
export function azureKeyId(vault: string, key: string, version?: string): string {
  return `https://${vault}.vault.azure.net/keys/${key}${version ? `/${version}` : ''}`;
}

const T = (iso: string) => iso;

function dedicatedRegion(name: string, provider: string, nodes = 3) {
  return {
    name,
    node_count: nodes,
    sql_dns: `${name}.${provider}.crdb.example`,
    ui_dns: `ui.${name}.${provider}.crdb.example`,
    internal_dns: `internal.${name}.${provider}.crdb.example`,
    private_endpoint_dns: '',
  };
}

function cluster(fields: Partial<Cluster> & Pick<Cluster, 'id' | 'name' | 'plan' | 'cloud_provider' | 'regions'>): Cluster {
  const dedicated = fields.plan === 'ADVANCED';
  return {
    state: 'CREATED',
    operation_status: 'UNSPECIFIED',
    cockroach_version: 'v25.4.2',
    labels: {},
    // Azure has no private Advanced clusters (docs: private-clusters); the real service shows them PUBLIC.
    network_visibility: dedicated && fields.cloud_provider !== 'AZURE' ? 'PRIVATE' : 'PUBLIC',
    created_at: T('2024-01-15T12:00:00Z'),
    updated_at: T('2026-10-01T12:00:00Z'),
    config: dedicated
      ? { dedicated: { machine_type: 'm6i.xlarge', num_virtual_cpus: 4, storage_gib: 150, memory_gib: 16, disk_iops: 0 } }
      : { serverless: { routing_id: `${fields.name}-1234`, upgrade_type: 'AUTOMATIC' } },
    ...fields,
  };
}

/** The seeded clusters, in name order. */
export const CLUSTERS: Cluster[] = [
  cluster({
    id: CLUSTER_IDS['analytics-gcp'],
    name: 'analytics-gcp',
    plan: 'ADVANCED',
    cloud_provider: 'GCP',
    account_id: 'crl-prod-7c2e9a41',
    regions: [dedicatedRegion('us-central1', 'gcp'), dedicatedRegion('europe-west1', 'gcp')],
    labels: { env: 'prod', team: 'analytics' },
  }),
  cluster({
    id: CLUSTER_IDS['byoc-ledger'],
    name: 'byoc-ledger',
    plan: 'ADVANCED',
    cloud_provider: 'AWS',
    account_id: AWS_ACCOUNT,
    customer_cloud_account: { aws: { arn: `arn:aws:iam::${AWS_ACCOUNT}:role/cockroach-byoc-ledger` } },
    regions: [dedicatedRegion('us-east-2', 'aws')],
    labels: { env: 'prod', team: 'ledger' },
  }),
  cluster({
    id: CLUSTER_IDS['dev-basic'],
    name: 'dev-basic',
    plan: 'BASIC',
    cloud_provider: 'GCP',
    regions: [{ ...dedicatedRegion('us-central1', 'gcp', 0) }],
    labels: { env: 'dev' },
  }),
  cluster({
    id: CLUSTER_IDS['payments-azure'],
    name: 'payments-azure',
    plan: 'ADVANCED',
    cloud_provider: 'AZURE',
    account_id: '00000000-0000-4000-8000-0000c0ffee00',
    azure_cluster_identity_client_id: 'c0ffee00-1234-4abc-9def-00000000c0de',
    regions: [dedicatedRegion('eastus', 'azure')],
    labels: { env: 'prod', team: 'payments' },
  }),
  cluster({
    id: CLUSTER_IDS['prod-east'],
    name: 'prod-east',
    plan: 'ADVANCED',
    cloud_provider: 'AWS',
    account_id: '987654321098',
    regions: [dedicatedRegion('us-east-1', 'aws'), dedicatedRegion('us-west-2', 'aws')],
    labels: { env: 'prod', team: 'payments', compliance: 'pci' },
  }),
  cluster({
    id: CLUSTER_IDS['reports-aws'],
    name: 'reports-aws',
    plan: 'ADVANCED',
    cloud_provider: 'AWS',
    account_id: '987654321099',
    operation_status: 'CRDB_CMEK_OPERATION_FAILED',
    regions: [dedicatedRegion('eu-west-1', 'aws')],
    labels: { env: 'prod', team: 'reporting' },
  }),
  cluster({
    id: CLUSTER_IDS['web-standard'],
    name: 'web-standard',
    plan: 'STANDARD',
    cloud_provider: 'AWS',
    regions: [{ ...dedicatedRegion('us-east-1', 'aws', 0) }],
    labels: { env: 'prod', team: 'web' },
  }),
];

const awsSpec = (key: { id: string; region: string }, role = AWS_CMEK_ROLE) => ({
  type: 'AWS_KMS' as const,
  uri: awsKeyArn(key),
  auth_principal: role,
});

/** CMEK state per cluster id; clusters absent here never had CMEK enabled. */
export const CMEK: Record<string, CmekClusterInfo> = {
  [CLUSTER_IDS['prod-east']]: {
    status: 'ENABLED',
    region_infos: [
      {
        region: 'us-east-1',
        status: 'ENABLED',
        key_infos: [
          { spec: awsSpec(AWS_KEYS.prodEastPast), status: 'DISABLED', created_at: T('2024-02-01T09:00:00Z'), updated_at: T('2025-03-01T09:00:00Z') },
          { spec: awsSpec(AWS_KEYS.prodEastUsEast1), status: 'ENABLED', created_at: T('2025-03-01T09:00:00Z'), updated_at: T('2025-03-01T09:05:00Z') },
        ],
      },
      {
        region: 'us-west-2',
        status: 'ENABLED',
        key_infos: [
          { spec: awsSpec(AWS_KEYS.prodEastUsWest2), status: 'ENABLED', created_at: T('2024-02-01T09:00:00Z'), updated_at: T('2024-02-01T09:05:00Z') },
        ],
      },
    ],
  },
  [CLUSTER_IDS['reports-aws']]: {
    status: 'ROTATE_FAILED',
    region_infos: [
      {
        region: 'eu-west-1',
        status: 'ROTATE_FAILED',
        key_infos: [
          {
            spec: awsSpec(AWS_KEYS.reportsDisabled, `arn:aws:iam::${AWS_ACCOUNT}:role/crdb-cmek-reports`),
            status: 'ROTATE_FAILED',
            created_at: T('2024-06-01T09:00:00Z'),
            updated_at: T('2026-11-02T09:00:00Z'),
            user_message: `KMS key ${awsKeyArn(AWS_KEYS.reportsDisabled)} is disabled; re-enable it and retry the rotation.`,
          },
        ],
      },
    ],
  },
};

/**
 * Problems seeded on purpose, by cluster/key. The fleet audit must report each of these and no
 * others. `code` names the finding kind.
 */
export const SEEDED_PROBLEMS = [
  { code: 'past_key_pending_deletion', cluster: 'prod-east', key: awsKeyArn(AWS_KEYS.prodEastPast), severity: 'critical' },
  { code: 'rotation_not_automatic', cluster: 'prod-east', key: awsKeyArn(AWS_KEYS.prodEastUsWest2), severity: 'medium' },
  { code: 'key_policy_too_broad', cluster: 'prod-east', key: awsKeyArn(AWS_KEYS.prodEastUsWest2), severity: 'high' },
  { code: 'cmek_operation_failed', cluster: 'reports-aws', severity: 'high' },
  { code: 'current_key_unusable', cluster: 'reports-aws', key: awsKeyArn(AWS_KEYS.reportsDisabled), severity: 'critical' },
  { code: 'cmek_not_enabled', cluster: 'analytics-gcp', severity: 'medium' },
  { code: 'cmek_not_enabled', cluster: 'payments-azure', severity: 'medium' },
  { code: 'cmek_not_enabled', cluster: 'byoc-ledger', severity: 'medium' },
  { code: 'cmek_not_available_on_plan', cluster: 'web-standard', severity: 'low' },
  { code: 'cmek_not_available_on_plan', cluster: 'dev-basic', severity: 'low' },
  { code: 'node_certificate_expires_soon', target: 'selfhosted', node: 2, severity: 'critical' },
  { code: 'node_certificate_expiring', target: 'selfhosted', node: 3, severity: 'high' },
  { code: 'store_not_encrypted', target: 'selfhosted', node: 3, severity: 'high' },
] as const;
