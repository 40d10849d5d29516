/**
 * Azure Key Vault facts read from key properties (deletion protection, rotation policy) and the
 * operator-facing guidance built from them (admin consent, role assignment, warnings).
 */
import type { DeletedKey, KeyRotationPolicy } from '@azure/keyvault-keys';
import { isoDurationDays } from './iso-duration.js';
import type { AzureKeyUri } from './key-uri.js';
import type { DeletionResult, KeyDescription } from '../../provider.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A Microsoft Entra tenant id (what CMEK's auth_principal is on Azure). */
export const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Deletion protection as the data plane shows it: recoveryLevel and recoverableDays on every key. */
export function protectionOf(
  recoveryLevel: string | undefined,
  recoverableDays: number | undefined,
): Pick<KeyDescription['deletion'], 'windowDays' | 'purgeProtection'> {
  if (!recoveryLevel) return recoverableDays ? { windowDays: recoverableDays } : {};
  const softDelete = recoveryLevel.includes('Recoverable');
  return {
    ...(softDelete ? { windowDays: recoverableDays ?? 90 } : {}),
    purgeProtection: !recoveryLevel.includes('Purgeable'),
  };
}

/** Automatic rotation from a rotation policy; the next rotation counts from the current version's creation. */
export function rotationOf(policy: KeyRotationPolicy | undefined, currentCreatedOn: Date | undefined): KeyDescription['rotation'] {
  const rotate = policy?.lifetimeActions?.find((action) => action.action === 'Rotate');
  if (!rotate) return { automatic: false };
  let periodDays: number | undefined;
  if (rotate.timeAfterCreate) periodDays = isoDurationDays(rotate.timeAfterCreate);
  else if (rotate.timeBeforeExpiry && policy?.expiresIn) {
    const expiry = isoDurationDays(policy.expiresIn);
    const before = isoDurationDays(rotate.timeBeforeExpiry);
    if (expiry !== undefined && before !== undefined) periodDays = expiry - before;
  }
  return {
    automatic: true,
    ...(periodDays !== undefined ? { periodDays } : {}),
    ...(periodDays !== undefined && currentCreatedOn ? { nextRotationAt: new Date(currentCreatedOn.getTime() + periodDays * DAY_MS).toISOString() } : {}),
  };
}

/** The `az keyvault show` expression for the vault's resource id (the data plane cannot see it). */
function vaultIdExpr(vaultName: string): string {
  return `$(az keyvault show --name ${vaultName} --query id -o tsv)`;
}

/** Admin consent creates the enterprise app CockroachDB authenticates as. */
export function adminConsentStep(tenantId: string, clusterId: string, clientId: string | undefined): string {
  const url = `https://login.microsoftonline.com/${tenantId}/adminconsent?client_id=${clientId ?? '<azure_cluster_identity_client_id>'}`;
  const where = clientId ? '' : " (take azure_cluster_identity_client_id from the cluster's details, e.g. list_clusters or GET /api/v1/clusters/{id})";
  return `Grant admin consent as a Global Administrator or Privileged Role Administrator of tenant ${tenantId}: open ${url}${where}. This creates the enterprise application "CockroachDB Cloud - ${clusterId}" in your tenant.`;
}

/** The role assignment CockroachDB needs on the key, as a ready command. */
export function roleAssignmentStep(vaultName: string, keyName: string, clusterId: string): string {
  return (
    `Give that application the "Key Vault Crypto Officer" role on the key: az role assignment create --role "Key Vault Crypto Officer" ` +
    `--assignee-object-id "$(az ad sp list --display-name "CockroachDB Cloud - ${clusterId}" --query "[0].id" -o tsv)" ` +
    `--assignee-principal-type ServicePrincipal --scope "${vaultIdExpr(vaultName)}/keys/${keyName}" ` +
    `(the vault must use the Azure RBAC permission model; check with az keyvault show --name ${vaultName} --query properties.enableRbacAuthorization).`
  );
}

/** How to check the role assignment the data plane cannot read. */
export function roleCheckDetail(vaultName: string, keyName: string, tenantId: string): string {
  return (
    `Key Vault's data plane cannot read role assignments, so CockroachDB's access was not verified. Confirm that the enterprise application ` +
    `"CockroachDB Cloud - <cluster id>" (created by admin consent in tenant ${tenantId}) holds "Key Vault Crypto Officer" on the key or vault: ` +
    `az role assignment list --scope "${vaultIdExpr(vaultName)}/keys/${keyName}" --include-inherited --role "Key Vault Crypto Officer" -o table`
  );
}

/** Limited availability, said plainly. */
export const AZURE_CMEK_AVAILABILITY =
  'Azure CMEK on CockroachDB Cloud was limited access for a time: if enable_cmek is refused for AZURE_KEY_VAULT, ask Cockroach Labs support to enable it for your organization.';

/** Loud warnings about a vault whose deletion protection is weaker than CMEK deserves. */
export function protectionWarnings(vaultName: string, protection: ReturnType<typeof protectionOf>): string[] {
  const warnings: string[] = [];
  if (protection.purgeProtection === false) {
    warnings.push(
      `PURGE PROTECTION IS OFF on vault ${vaultName}: anyone holding keys/purge can permanently destroy a deleted key before its retention ends, and CockroachDB Cloud could then never read this cluster's data again. ` +
        `Enable it (it cannot be turned off afterwards): az keyvault update --name ${vaultName} --enable-purge-protection true`,
    );
  }
  if (protection.windowDays !== undefined && protection.windowDays < 90) {
    warnings.push(
      `Vault ${vaultName} keeps deleted keys for only ${protection.windowDays} days (soft-delete retention; the maximum and default is 90). After that a deleted key is gone for good. ` +
        'Retention cannot be changed once a vault exists: for CMEK keys prefer a vault created with 90 days and purge protection.',
    );
  }
  if (protection.purgeProtection === undefined && protection.windowDays === undefined) {
    warnings.push(
      `Could not read vault ${vaultName}'s deletion protection through the data plane (no key to read it from). Check it: az keyvault show --name ${vaultName} --query "{purgeProtection:properties.enablePurgeProtection, retentionDays:properties.softDeleteRetentionInDays}"`,
    );
  }
  return warnings;
}

/** A soft-deleted key as KeyDescription: unusable, purged at scheduledPurgeDate. */
export function describeDeleted(parsed: AzureKeyUri, deleted: DeletedKey, region: string | undefined): KeyDescription {
  const { properties } = deleted;
  return {
    uri: parsed.keyId,
    type: 'AZURE_KEY_VAULT',
    location: region ?? parsed.vaultHost,
    state: 'SoftDeleted',
    usable: false,
    ...(properties.createdOn ? { createdAt: properties.createdOn.toISOString() } : {}),
    rotation: { automatic: false },
    deletion: {
      scheduled: true,
      ...(properties.scheduledPurgeDate ? { scheduledFor: properties.scheduledPurgeDate.toISOString() } : {}),
      ...protectionOf(properties.recoveryLevel, properties.recoverableDays),
    },
    ...(properties.version ? { currentVersion: properties.version } : {}),
  };
}

/** What a soft delete did, until when it can be undone, and how. */
export function softDeleteResult(parsed: AzureKeyUri, deleted: DeletedKey, requestedDays?: number): DeletionResult {
  const { windowDays, purgeProtection } = protectionOf(deleted.properties.recoveryLevel, deleted.properties.recoverableDays);
  const { scheduledPurgeDate, deletedOn } = deleted.properties;
  const purgeDate = scheduledPurgeDate ?? (deletedOn && windowDays ? new Date(deletedOn.getTime() + windowDays * DAY_MS) : undefined);
  const date = purgeDate?.toISOString() ?? 'the end of the vault retention period';
  const windowNote =
    requestedDays !== undefined && windowDays !== undefined && requestedDays !== windowDays
      ? ` Azure does not let you choose the window: vault ${parsed.vaultName}'s soft-delete retention (${windowDays} days) applies, not the ${requestedDays} days requested.`
      : '';
  const purgeNote = purgeProtection
    ? ' Purge protection is on: nobody can purge it before then.'
    : ' Purge protection is OFF: until then anyone holding keys/purge can purge it (az keyvault key purge), which makes it unrecoverable at once.';
  return {
    state: 'SoftDeleted',
    deletionDate: date,
    undo:
      `Recoverable until ${date}: az keyvault key recover --vault-name ${parsed.vaultName} --name ${parsed.keyName} (SDK: KeyClient.beginRecoverDeletedKey("${parsed.keyName}")). ` +
      `The delete covers every version of the key, and recovery restores them all.${windowNote}${purgeNote}`,
  };
}
