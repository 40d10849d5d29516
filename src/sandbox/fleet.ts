/**
 * Generated clusters for fleet-scale benchmarks (CRDB_SANDBOX_FLEET_SIZE): deterministic names
 * fleet-0001..., a mix of plans, clouds and regions; about 60% ADVANCED, of which most AWS/GCP
 * clusters have CMEK ENABLED (some with a past key), a few ENABLE_FAILED / ROTATE_FAILED, and
 * the rest (Azure included) without CMEK. Same size, same fleet, every time.
 */
import type { Cluster, CmekClusterInfo, CmekKeyInfo, CmekKeySpec, CmekStatus } from '../cloud/schemas.js';
import { newRegion } from './cloud-cmek.js';
import { AWS_ACCOUNT, GCP_PROJECT } from './seed.js';

export interface Fleet {
  clusters: Cluster[];
  /** CMEK state by cluster id (clusters absent here never had CMEK). */
  cmek: Record<string, CmekClusterInfo>;
}

const REGIONS: Record<Cluster['cloud_provider'], string[]> = {
  AWS: ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1'],
  GCP: ['us-central1', 'europe-west1', 'asia-southeast1', 'us-east1'],
  AZURE: ['eastus', 'westeurope', 'southeastasia'],
};

const hex = (value: number, width: number) => value.toString(16).padStart(width, '0');

/** Name of the i-th generated cluster (1-based). */
export function fleetClusterName(index: number): string {
  return `fleet-${String(index).padStart(4, '0')}`;
}

/** Id of the i-th generated cluster (1-based). */
export function fleetClusterId(index: number): string {
  return `f1ee0000-0000-4000-8000-${hex(index, 12)}`;
}

function keySpec(provider: 'AWS' | 'GCP', name: string, region: string, serial: number): CmekKeySpec {
  if (provider === 'AWS') {
    return {
      type: 'AWS_KMS',
      uri: `arn:aws:kms:${region}:${AWS_ACCOUNT}:key/f1ee1000-0000-4000-8000-${hex(serial, 12)}`,
      auth_principal: `arn:aws:iam::${AWS_ACCOUNT}:role/crdb-cmek-${name}`,
    };
  }
  return {
    type: 'GCP_CLOUD_KMS',
    uri: `projects/${GCP_PROJECT}/locations/${region}/keyRings/crdb-fleet/cryptoKeys/${name}-k${serial % 8}`,
    auth_principal: `crdb-cmek-fleet@${GCP_PROJECT}.iam.gserviceaccount.com`,
  };
}

function cmekFor(index: number, cluster: Cluster, provider: 'AWS' | 'GCP'): CmekClusterInfo | undefined {
  const bucket = (index * 13) % 20;
  if (bucket >= 16) return undefined;
  const failure: CmekStatus | undefined = bucket === 14 ? 'ENABLE_FAILED' : bucket === 15 ? 'ROTATE_FAILED' : undefined;
  const region_infos = cluster.regions.map((region, r) => {
    const serial = index * 16 + r;
    const current = keySpec(provider, cluster.name, region.name, serial);
    const failedHere = failure !== undefined && r === 0;
    const keys: CmekKeyInfo[] = [
      {
        spec: current,
        status: failedHere ? failure : 'ENABLED',
        created_at: '2025-01-10T10:00:00Z',
        updated_at: '2025-01-10T10:05:00Z',
        ...(failedHere ? { user_message: `CockroachDB Cloud could not use key ${current.uri}: access denied for ${current.auth_principal}.` } : {}),
      },
    ];
    if (index % 4 === 0 && !failure) {
      keys.unshift({
        spec: keySpec(provider, cluster.name, region.name, serial + 8),
        status: 'DISABLED',
        created_at: '2024-03-01T10:00:00Z',
        updated_at: '2025-01-10T10:05:00Z',
      });
    }
    const status: CmekStatus = failedHere ? failure : 'ENABLED';
    return { region: region.name, status, key_infos: keys };
  });
  return { status: failure ?? 'ENABLED', region_infos };
}

/** Generates `size` clusters and their CMEK state. */
export function generateFleet(size: number): Fleet {
  const fleet: Fleet = { clusters: [], cmek: {} };
  for (let index = 1; index <= size; index++) {
    const provider: Cluster['cloud_provider'] = index % 10 < 5 ? 'AWS' : index % 10 < 8 ? 'GCP' : 'AZURE';
    const planBucket = (index * 7) % 10;
    const plan: Cluster['plan'] = planBucket < 6 ? 'ADVANCED' : planBucket < 8 ? 'STANDARD' : 'BASIC';
    const names = REGIONS[provider];
    const regionCount = plan === 'ADVANCED' ? 1 + (index % 3) : 1;
    const name = fleetClusterName(index);
    const cluster: Cluster = {
      id: fleetClusterId(index),
      name,
      plan,
      cloud_provider: provider,
      state: 'CREATED',
      operation_status: 'UNSPECIFIED',
      cockroach_version: 'v25.4.2',
      regions: Array.from({ length: regionCount }, (_, r) => newRegion(names[(index + r) % names.length]!, provider, plan === 'ADVANCED' ? 3 : 0)),
      labels: { env: index % 3 === 0 ? 'dev' : 'prod', fleet: 'generated' },
      network_visibility: plan === 'ADVANCED' && provider !== 'AZURE' ? 'PRIVATE' : 'PUBLIC',
      created_at: '2024-06-01T12:00:00Z',
      updated_at: '2026-10-01T12:00:00Z',
      ...(plan === 'ADVANCED' ? { account_id: provider === 'GCP' ? `crl-prod-${hex(index, 8)}` : `9876${String(index).padStart(8, '0')}` } : {}),
    };
    fleet.clusters.push(cluster);
    if (plan === 'ADVANCED' && provider !== 'AZURE') {
      const cmek = cmekFor(index, cluster, provider);
      if (cmek) {
        fleet.cmek[cluster.id] = cmek;
        if (cmek.status !== 'ENABLED') cluster.operation_status = 'CRDB_CMEK_OPERATION_FAILED';
      }
    }
  }
  return fleet;
}
