/**
 * Azure Key Vault as the rest of the code sees it: versioned key identifiers, the tenant id as
 * principal, the vault of a key, deletion (soft delete) and remediation commands. The SDK-backed
 * client is ./client.ts, loaded on connect.
 */
import { OperatorError } from '../../../errors.js';
import { KeyUriError } from '../../key-uri.js';
import type { KmsProviderProfile } from '../types.js';
import type { AzureKmsOptions } from './client.js';
import { TENANT_ID } from './guidance.js';
import { parseAzureKeyId, type AzureKeyUri } from './key-uri.js';

const vaultFlags = (key: AzureKeyUri) => `--vault-name ${key.vaultName} --name ${key.keyName}`;

/** Azure Key Vault: the provider of CMEK on Azure clusters. */
export const azureProfile: KmsProviderProfile<AzureKeyUri, AzureKmsOptions> = {
  type: 'AZURE_KEY_VAULT',
  cloud: 'AZURE',
  label: 'Azure Key Vault',
  privateClusters: false,
  availability:
    'Azure Key Vault: CMEK on CockroachDB Advanced on Azure is in Preview (CockroachDB docs, since July 2025); Preview features may change, and if enable_cmek is rejected, ask Cockroach Labs support.',
  uriForm: 'an Azure key id (https://<vault>.vault.azure.net/keys/...)',

  ownsUri: (uri) => uri.startsWith('https://'),
  parseUri: parseAzureKeyId,
  checkCmekUri(parsed) {
    if (parsed.version === undefined) {
      throw new KeyUriError(
        'version',
        parsed.keyId,
        'CMEK on Azure takes the key identifier WITH its version.',
        `append the current version: ${parsed.keyId}/<32-hex version> (az keyvault key show --id ${parsed.keyId} --query key.kid).`,
      );
    }
  },
  keyLocation: () => undefined,
  locationCheck: () => ({
    result: 'pass',
    detail: 'Key identifier is well formed (the vault region is not part of it; keep the vault in or near the cluster region).',
  }),
  keyIdentity: (parsed) => `azure:${parsed.vaultHost.toLowerCase()}/${parsed.keyName.toLowerCase()}`,
  isAlias: () => false,
  confirmationName: (parsed) => parsed.keyName,
  keyAccount: (parsed) => parsed.vaultHost.toLowerCase(),
  principalAccount: (principal) => (TENANT_ID.test(principal) ? principal.toLowerCase() : undefined),
  accountNames: { key: 'Key Vault', principal: 'Microsoft Entra tenant' },

  principal: { pattern: TENANT_ID, expected: 'your Azure tenant id (a GUID)' },
  provisioning: {
    defaultPrincipal(_clusterName, placement) {
      if (placement.authPrincipal) return placement.authPrincipal;
      throw new OperatorError(
        'Missing auth_principal',
        'Azure CMEK authenticates with your Entra tenant id (a GUID).',
        'pass auth_principal and call provision_cmek_key again.',
      );
    },
    container(placement) {
      if (!placement.azureVault) {
        throw new OperatorError(
          'Missing azure_vault',
          'Azure keys live in a Key Vault in the same region as the cluster.',
          'pass azure_vault and call provision_cmek_key again.',
        );
      }
      return placement.azureVault;
    },
    oneRegionPerCall: { why: 'An Azure Key Vault lives in one region, and each CMEK key must be in its region.', argument: 'azure_vault' },
  },

  rotation: {
    changesUri: true,
    reason: 'New key version in Key Vault (new versioned URI), then PUT it.',
  },

  deletion: {
    window: { minDays: 7, defaultDays: 90, maxDays: 90 },
    windowChosenAtDeletion: false,
    fixedWindow: { where: 'the vault (soft-delete retention)', setting: 'soft-delete retention' },
    undo(action, _parsed, deletionDate) {
      if (action === 'disable') return 'Reversible at any time: az keyvault key set-attributes --enabled true --vault-name ... --name ...';
      const until = deletionDate ? `until ${deletionDate}` : 'until the waiting window ends';
      return `Recoverable ${until}: az keyvault key recover (soft delete). After that date the key is purged permanently.`;
    },
  },

  remediation: {
    cancelDeletion: (key) => `az keyvault key recover ${vaultFlags(key)} (before the scheduled purge date)`,
    enableKey: (key) => `az keyvault key set-attributes ${vaultFlags(key)} --enabled true`,
    enableRotation: (key) => `az keyvault key rotation-policy update ${vaultFlags(key)} --value <policy with a Rotate lifetime action>`,
    narrowGrant: "limit CockroachDB's enterprise app to the Key Vault Crypto Officer role on this key/vault and remove broader assignments",
    enablePurgeProtection: (key) => `az keyvault update --name ${key.vaultName} --enable-purge-protection true (it cannot be turned off afterwards)`,
  },

  connect: async (options) => (await import('./client.js')).createAzureKmsProvider(options),
};
