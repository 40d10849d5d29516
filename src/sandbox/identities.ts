/**
 * The sandbox's cloud identities, in one place: what an operator (or an agent filling in
 * arguments) needs to drive the seeded organization without reading source. list_clusters shows
 * them on the sandbox, next_actions fill arguments from them, the README table is generated from
 * them.
 */
import { SELF_HOSTED_TARGET } from './constants.js';
import { AWS_ACCOUNT, AWS_CMEK_ROLE, AWS_KEYS, AZURE_KEYS, AZURE_TENANT, GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, GCP_PROJECT, ORGANIZATION } from './seed.js';

/** Who and where the sandbox's simulated customer is, per cloud. */
export interface SandboxIdentities {
  organization: { id: string; name: string };
  aws: {
    /** The account holding the KMS keys (provision_cmek_key aws_account_id). */
    account_id: string;
    /** Regions with seeded keys. */
    key_regions: string[];
    /** The IAM role CockroachDB assumes for prod-east (an auth_principal). */
    cmek_role_arn: string;
  };
  gcp: {
    /** The project of the sandbox's Application Default Credentials: provision_cmek_key's default gcp_project. */
    project: string;
    key_ring: string;
    key_locations: string[];
    /** The customer service account CockroachDB impersonates (an auth_principal). */
    service_account: string;
  };
  azure: {
    /** The Entra tenant: Azure CMEK's auth_principal. */
    tenant_id: string;
    vaults: Array<{ name: string; location: string; purge_protection: boolean }>;
  };
  /** Named SQL targets served by the sandbox's self-hosted stand-in. */
  sql_targets: string[];
}

const unique = (values: string[]) => [...new Set(values)].sort();

/** The seeded identities. */
export const SANDBOX_IDENTITIES: SandboxIdentities = {
  organization: { id: ORGANIZATION.id, name: ORGANIZATION.name },
  aws: {
    account_id: AWS_ACCOUNT,
    key_regions: unique(Object.values(AWS_KEYS).map((key) => key.region)),
    cmek_role_arn: AWS_CMEK_ROLE,
  },
  gcp: {
    project: GCP_PROJECT,
    key_ring: GCP_KEYS.usCentral1.keyRing,
    key_locations: unique(Object.values(GCP_KEYS).map((key) => key.location)),
    service_account: GCP_CMEK_SERVICE_ACCOUNT,
  },
  azure: {
    tenant_id: AZURE_TENANT,
    vaults: [AZURE_KEYS.vault, AZURE_KEYS.protectedVault].map((vault) => ({
      name: vault.name,
      location: vault.location,
      purge_protection: vault.purgeProtection,
    })),
  },
  sql_targets: [SELF_HOSTED_TARGET],
};
