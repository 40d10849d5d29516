/**
 * Provisions one CMEK key per cluster region through a KmsProvider and assembles the
 * `region_specs` document that enable_cmek (or rotate_cmek with new keys) takes.
 */
import type { CmekRegionSpec, Cluster } from '../cloud/schemas.js';
import { OperatorError } from '../errors.js';
import type { KmsProvider, ProvisionAction, ProvisionKeyRequest } from './provider.js';

export interface ProvisionInput {
  cluster: Cluster;
  organizationId: string;
  regions: string[];
  keyName: string;
  authPrincipal: string;
  /** AWS account, GCP project or Azure vault for a region. */
  containerFor(region: string): string;
  multiRegion?: boolean;
  /** HSM-backed keys (Azure RSA-HSM, GCP HSM protection level). */
  hsm?: boolean;
  /** GCP key ring (default crdb-cmek). */
  keyRing?: string;
  deletionWindowDays?: number;
  rotationPeriodDays?: number;
  dryRun: boolean;
}

export interface RegionProvisioning {
  region: string;
  uri: string;
  actions: ProvisionAction[];
}

export interface ProvisionOutcome {
  regionSpecs: CmekRegionSpec[];
  regions: RegionProvisioning[];
  manualSteps: string[];
  warnings: string[];
}

/** Checks the requested regions against the cluster's; defaults to all of them. */
export function chooseRegions(cluster: Cluster, requested: string[] | undefined): string[] {
  const clusterRegions = cluster.regions.map((region) => region.name);
  if (!requested || requested.length === 0) return clusterRegions;
  const unknown = requested.filter((region) => !clusterRegions.includes(region));
  if (unknown.length > 0) {
    throw new OperatorError(
      `Region(s) ${unknown.join(', ')} not in cluster ${cluster.name}`,
      `The cluster runs in ${clusterRegions.join(', ')}; a CMEK key must live in the same region as the nodes it protects.`,
      `use regions from: ${clusterRegions.join(', ')} (or omit regions to provision every one).`,
    );
  }
  return [...new Set(requested)];
}

/**
 * Creates (or finds) a key in each region, one region at a time so a failure names its region
 * and what was already done stays reported.
 */
export async function provisionCmekKeys(
  provider: KmsProvider,
  input: ProvisionInput,
  options: { signal?: AbortSignal; onRegionDone?: (done: number, total: number, region: string) => void | Promise<void> } = {},
): Promise<ProvisionOutcome> {
  const outcome: ProvisionOutcome = { regionSpecs: [], regions: [], manualSteps: [], warnings: [] };
  for (const [index, region] of input.regions.entries()) {
    options.signal?.throwIfAborted();
    const request: ProvisionKeyRequest = {
      location: region,
      keyName: input.keyName,
      authPrincipal: input.authPrincipal,
      container: input.containerFor(region),
      organizationId: input.organizationId,
      clusterAccountId: input.cluster.account_id ?? '',
      clusterId: input.cluster.id,
      ...(input.cluster.azure_cluster_identity_client_id ? { azureClusterIdentityClientId: input.cluster.azure_cluster_identity_client_id } : {}),
      ...(input.multiRegion ? { multiRegion: true } : {}),
      ...(input.hsm ? { hsm: true } : {}),
      ...(input.keyRing ? { keyRing: input.keyRing } : {}),
      ...(input.deletionWindowDays === undefined ? {} : { deletionWindowDays: input.deletionWindowDays }),
      ...(input.rotationPeriodDays === undefined ? {} : { rotationPeriodDays: input.rotationPeriodDays }),
      dryRun: input.dryRun,
    };
    let result;
    try {
      result = await provider.provisionKey(request, options.signal);
    } catch (error) {
      if (error instanceof Error && outcome.regions.length > 0) {
        error.message = `${error.message} (region ${region}; already done: ${outcome.regions.map((r) => r.region).join(', ')})`;
      }
      throw error;
    }
    outcome.regions.push({ region, uri: result.uri, actions: result.actions });
    outcome.regionSpecs.push({ region, key_spec: { type: provider.type, uri: result.uri, auth_principal: result.authPrincipal } });
    for (const step of result.manualSteps) if (!outcome.manualSteps.includes(step)) outcome.manualSteps.push(step);
    for (const warning of result.warnings) if (!outcome.warnings.includes(warning)) outcome.warnings.push(warning);
    await options.onRegionDone?.(index + 1, input.regions.length, region);
  }
  return outcome;
}
