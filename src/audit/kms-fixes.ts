/**
 * Provider-specific remediation text for KMS findings no tool of this server performs (cancel a
 * deletion, re-enable a key, tighten a policy, turn on rotation or purge protection).
 */
import type { KmsKeyType } from '../kms/provider.js';
import { parseKeyUri, type ParsedKeyUri } from '../kms/key-uri.js';

function parse(type: KmsKeyType, uri: string): ParsedKeyUri | undefined {
  try {
    return parseKeyUri(type, uri);
  } catch {
    return undefined;
  }
}

/** How to stop a scheduled deletion and make the key usable again. */
export function cancelDeletion(type: KmsKeyType, uri: string): string {
  const key = parse(type, uri);
  switch (key?.type) {
    case 'AWS_KMS':
      return `aws kms cancel-key-deletion --key-id ${key.arn} --region ${key.region}, then aws kms enable-key --key-id ${key.arn} --region ${key.region} (cancelling leaves the key Disabled)`;
    case 'GCP_CLOUD_KMS':
      return `restore every DESTROY_SCHEDULED version (gcloud kms keys versions restore VERSION --key ${key.cryptoKey} --keyring ${key.keyRing} --location ${key.location} --project ${key.project}), then enable it (restored versions come back DISABLED)`;
    case 'AZURE_KEY_VAULT':
      return `az keyvault key recover --vault-name ${key.vaultName} --name ${key.keyName} (before the scheduled purge date)`;
    default:
      return `cancel the deletion of ${uri} in the KMS console and re-enable the key`;
  }
}

/** How to re-enable a disabled key. */
export function enableKey(type: KmsKeyType, uri: string): string {
  const key = parse(type, uri);
  switch (key?.type) {
    case 'AWS_KMS':
      return `aws kms enable-key --key-id ${key.arn} --region ${key.region}`;
    case 'GCP_CLOUD_KMS':
      return `gcloud kms keys versions enable VERSION --key ${key.cryptoKey} --keyring ${key.keyRing} --location ${key.location} --project ${key.project} (the primary version)`;
    case 'AZURE_KEY_VAULT':
      return `az keyvault key set-attributes --vault-name ${key.vaultName} --name ${key.keyName} --enabled true`;
    default:
      return `re-enable ${uri} in the KMS console`;
  }
}

/** How to turn on automatic rotation in the KMS. */
export function enableRotation(type: KmsKeyType, uri: string): string {
  const key = parse(type, uri);
  switch (key?.type) {
    case 'AWS_KMS':
      return `aws kms enable-key-rotation --key-id ${key.arn} --region ${key.region} --rotation-period-in-days 365`;
    case 'GCP_CLOUD_KMS':
      return `gcloud kms keys update ${key.cryptoKey} --keyring ${key.keyRing} --location ${key.location} --project ${key.project} --rotation-period 365d --next-rotation-time <ISO time>`;
    case 'AZURE_KEY_VAULT':
      return `az keyvault key rotation-policy update --vault-name ${key.vaultName} --name ${key.keyName} --value <policy with a Rotate lifetime action>`;
    default:
      return `enable automatic rotation for ${uri} in the KMS`;
  }
}

/** How to narrow a grant to what CockroachDB needs. */
export function narrowGrant(type: KmsKeyType): string {
  switch (type) {
    case 'AWS_KMS':
      return "edit the key policy so CockroachDB's role gets only kms:Encrypt, kms:Decrypt, kms:GenerateDataKey*, kms:DescribeKey, kms:ReEncrypt* (no kms:*, no Principal \"*\")";
    case 'GCP_CLOUD_KMS':
      return "replace broader roles on the key with roles/cloudkms.cryptoKeyEncrypterDecrypter for CockroachDB's service account only";
    case 'AZURE_KEY_VAULT':
      return "limit CockroachDB's enterprise app to the Key Vault Crypto Officer role on this key/vault and remove broader assignments";
  }
}

/** How to turn on Azure purge protection. */
export function enablePurgeProtection(uri: string): string {
  const key = parse('AZURE_KEY_VAULT', uri);
  const vault = key?.type === 'AZURE_KEY_VAULT' ? key.vaultName : '<vault>';
  return `az keyvault update --name ${vault} --enable-purge-protection true (it cannot be turned off afterwards)`;
}
