/**
 * The next calls after a CMEK answer, with every argument the server knows filled in: cluster
 * references, region_specs, key URIs, principals, the account/project/vault where keys live (when
 * the server knows it, see Deps.keyHomes) and a default key name `crdb-cmek-<cluster>`.
 */
import type { CmekRegionSpec } from '../cloud/schemas.js';
import type { KeyHomes } from '../deps.js';
import { suggest, type NextAction } from './next-actions.js';

/** What these builders need of a cluster. */
export interface ClusterFacts {
  id: string;
  name: string;
  cloud_provider: 'AWS' | 'GCP' | 'AZURE';
  regions: readonly string[];
}

const CLUSTER_REF = /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/;

/** The cluster argument: its name when a tool accepts it as written, else its id. */
export function clusterArg(cluster: { id: string; name: string }): string {
  return CLUSTER_REF.test(cluster.name) ? cluster.name : cluster.id;
}

/** `{cluster}` for the read tools. */
export function clusterOnly(cluster: { id: string; name: string }): { cluster: string } {
  return { cluster: clusterArg(cluster) };
}

/** The default key name for a cluster: crdb-cmek-<cluster>, cut to the 63 characters every KMS accepts. */
export function defaultKeyName(cluster: { name: string }): string {
  const name = `crdb-cmek-${cluster.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 63);
  return name.replace(/-+$/, '');
}

/**
 * provision_cmek_key for every region of the cluster (one call per region on Azure, where a vault
 * serves one region), as a dry run first when `dryRun`.
 */
export function provisionCalls(cluster: ClusterFacts, homes: KeyHomes, why: string, dryRun: boolean): NextAction[] {
  const base = { cluster: clusterArg(cluster), key_name: defaultKeyName(cluster), ...(dryRun ? { dry_run: true } : {}) };
  switch (cluster.cloud_provider) {
    case 'AWS':
      return [
        homes.awsAccountId
          ? suggest('provision_cmek_key', { ...base, aws_account_id: homes.awsAccountId }, why)
          : suggest('provision_cmek_key', base, why, {
              aws_account_id: `the 12-digit AWS account that holds the keys (the role crdb-cmek-${cluster.name} is assumed there), or auth_principal: an existing role ARN`,
            }),
      ];
    case 'GCP':
      return [
        homes.gcpProject
          ? suggest('provision_cmek_key', { ...base, gcp_project: homes.gcpProject }, why)
          : suggest('provision_cmek_key', base, why, { gcp_project: 'the GCP project id that holds the key ring' }),
      ];
    case 'AZURE':
      return cluster.regions.map((region) => {
        const vault = homes.azureVaults?.[region];
        const needs = {
          ...(vault ? {} : { azure_vault: `a Key Vault in ${region} (soft delete and purge protection on)` }),
          ...(homes.azureTenantId ? {} : { auth_principal: 'your Microsoft Entra tenant id (a GUID)' }),
        };
        return suggest(
          'provision_cmek_key',
          { ...base, regions: [region], ...(vault ? { azure_vault: vault } : {}), ...(homes.azureTenantId ? { auth_principal: homes.azureTenantId } : {}) },
          cluster.regions.length > 1 ? `${why} (${region}: one call per region on Azure)` : why,
          needs,
        );
      });
  }
}

/** enable_cmek with the given region_specs (a dry run first when `dryRun`). */
export function enableCall(cluster: { id: string; name: string }, specs: readonly CmekRegionSpec[], why: string, dryRun: boolean): NextAction {
  return suggest('enable_cmek', { cluster: clusterArg(cluster), region_specs: specs.map(specArgument), ...(dryRun ? { dry_run: true } : {}) }, why);
}

/** A region spec as enable_cmek takes it. */
export function specArgument(spec: CmekRegionSpec): { region: string; key_spec: { type: string; uri: string; auth_principal: string } } {
  return { region: spec.region, key_spec: { type: spec.key_spec.type, uri: spec.key_spec.uri, auth_principal: spec.key_spec.auth_principal } };
}

/** rotate_cmek mode new_key to the given region specs (one principal for all, as rotate_cmek takes it). */
export function rotateToNewKeysCall(cluster: { id: string; name: string }, specs: readonly CmekRegionSpec[], why: string, dryRun: boolean): NextAction[] {
  const principals = [...new Set(specs.map((spec) => spec.key_spec.auth_principal))];
  const call = (group: readonly CmekRegionSpec[]) =>
    suggest(
      'rotate_cmek',
      {
        cluster: clusterArg(cluster),
        mode: 'new_key',
        new_keys: Object.fromEntries(group.map((spec) => [spec.region, spec.key_spec.uri])),
        auth_principal: group[0]!.key_spec.auth_principal,
        ...(dryRun ? { dry_run: true } : {}),
      },
      why,
    );
  return principals.map((principal) => call(specs.filter((spec) => spec.key_spec.auth_principal === principal)));
}
