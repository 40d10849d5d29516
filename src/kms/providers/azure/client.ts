/**
 * Azure Key Vault as CMEK uses it, through @azure/keyvault-keys (imported on first use).
 * Real mode authenticates with DefaultAzureCredential; the sandbox wiring (src/sandbox/kms-clients.ts)
 * passes its own credential and client options that send requests to the emulator.
 *
 * CMEK on Azure takes a VERSIONED key id and the tenant id as auth_principal. The data plane
 * shows deletion protection on each key (recoveryLevel/recoverableDays) and the vault's tenant in
 * the Bearer challenge, but not role assignments: access checks say so instead of guessing.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { DeletedKey, KeyClient, KeyClientOptions, KeyRotationPolicy, KeyVaultKey } from '@azure/keyvault-keys';
import { isKeyNotFound, isOutcomeUnknown, toKmsError } from './errors.js';
import {
  adminConsentStep,
  AZURE_CMEK_AVAILABILITY,
  describeDeleted,
  protectionOf,
  protectionWarnings,
  roleAssignmentStep,
  roleCheckDetail,
  rotationOf,
  softDeleteResult,
  TENANT_ID,
} from './guidance.js';
import { cautiousRetryPolicy, vaultFactsPolicy, type VaultFacts } from './pipeline.js';
import { isoDurationDays } from './iso-duration.js';
import { parseAzureKeyId, type AzureKeyUri } from './key-uri.js';
import { azureProfile } from './profile.js';
import { KmsError, type KeyDescription, type KmsProvider, type ProvisionAction, type ProvisionKeyRequest } from '../../provider.js';

export interface AzureKmsOptions {
  /** Credential for Key Vault; default DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Extra KeyClient options (the sandbox's redirect and TLS settings); its policies run after ours. */
  clientOptions?: KeyClientOptions;
  /** Retries: 429 for any request, transient failures for idempotent ones only. */
  retry?: { maxRetries?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Per-request time-out (default 30 s). */
  timeoutMs?: number;
  /** Poll interval while a soft delete completes (default 2 s, as the SDK). */
  pollIntervalMs?: number;
  now?: () => number;
}

const CMEK_KEY_OPS = ['wrapKey', 'unwrapKey', 'encrypt', 'decrypt'] as const;
const CMEK_KEY_SIZE = 3072;
const DEFAULT_ROTATION_DAYS = 365;

interface VaultClient {
  client: KeyClient;
  facts: VaultFacts;
}

function keyBits(key: KeyVaultKey): number | undefined {
  return key.key?.n ? key.key.n.length * 8 : undefined;
}

function canWrap(key: KeyVaultKey): boolean {
  const ops = new Set(key.keyOperations ?? []);
  return (ops.has('wrapKey') && ops.has('unwrapKey')) || (ops.has('encrypt') && ops.has('decrypt'));
}

/** Creates the Azure Key Vault provider. */
export async function createAzureKmsProvider(options: AzureKmsOptions): Promise<KmsProvider> {
  const { KeyClient } = await import('@azure/keyvault-keys');
  const credential: TokenCredential = options.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
  const now = options.now ?? Date.now;
  const retry = { maxRetries: 3, baseDelayMs: 800, maxDelayMs: 30_000, ...options.retry, timeoutMs: options.timeoutMs ?? 30_000 };
  const clients = new Map<string, VaultClient>();

  const vaultClient = (parsed: AzureKeyUri): VaultClient => {
    const cacheKey = parsed.vaultUrl.toLowerCase();
    let entry = clients.get(cacheKey);
    if (!entry) {
      const facts: VaultFacts = {};
      const base = options.clientOptions ?? {};
      const client = new KeyClient(parsed.vaultUrl, credential, {
        ...base,
        retryOptions: { maxRetries: 0 },
        additionalPolicies: [
          { policy: cautiousRetryPolicy(retry), position: 'perCall' },
          { policy: vaultFactsPolicy(facts), position: 'perRetry' },
          ...(base.additionalPolicies ?? []),
        ],
      });
      entry = { client, facts };
      clients.set(cacheKey, entry);
    }
    return entry;
  };

  const call = async <T>(context: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toKmsError(error, context, signal);
    }
  };

  /** The key (a version, or the latest), or undefined when Key Vault says KeyNotFound. */
  const findKey = async (parsed: AzureKeyUri, signal: AbortSignal | undefined, version?: string): Promise<KeyVaultKey | undefined> => {
    try {
      return await vaultClient(parsed).client.getKey(parsed.keyName, { abortSignal: signal, ...(version ? { version } : {}) });
    } catch (error) {
      if (isKeyNotFound(error)) return undefined;
      throw toKmsError(error, `Reading key ${parsed.keyName} in vault ${parsed.vaultName}`, signal);
    }
  };

  const findDeleted = async (parsed: AzureKeyUri, signal: AbortSignal | undefined): Promise<DeletedKey | undefined> => {
    try {
      return await vaultClient(parsed).client.getDeletedKey(parsed.keyName, { abortSignal: signal });
    } catch (error) {
      if (isKeyNotFound(error)) return undefined;
      throw toKmsError(error, `Reading deleted key ${parsed.keyName} in vault ${parsed.vaultName}`, signal);
    }
  };

  const notFound = (parsed: AzureKeyUri) =>
    new KmsError(
      'not_found',
      `Key ${parsed.keyId} was not found in vault ${parsed.vaultName} (neither live nor soft-deleted). Next: check the key name and version (az keyvault key list-versions --vault-name ${parsed.vaultName} --name ${parsed.keyName}).`,
      'KeyNotFound',
    );

  const policyOf = (parsed: AzureKeyUri, signal: AbortSignal | undefined): Promise<KeyRotationPolicy> =>
    call(`Reading the rotation policy of ${parsed.keyName}`, signal, () =>
      vaultClient(parsed).client.getKeyRotationPolicy(parsed.keyName, { abortSignal: signal }),
    );

  const describeKey = async (uri: string, signal?: AbortSignal): Promise<KeyDescription> => {
    const parsed = parseAzureKeyId(uri);
    const { facts } = vaultClient(parsed);
    const key = await findKey(parsed, signal, parsed.version);
    if (!key) {
      const deleted = await findDeleted(parsed, signal);
      if (deleted) return describeDeleted(parsed, deleted, facts.region);
      throw notFound(parsed);
    }
    const current = parsed.version ? await findKey(parsed, signal) : key;
    const policy = await policyOf(parsed, signal);
    const props = key.properties;
    const at = now();
    const state = !props.enabled
      ? 'Disabled'
      : props.expiresOn && props.expiresOn.getTime() <= at
        ? 'Expired'
        : props.notBefore && props.notBefore.getTime() > at
          ? 'NotYetValid'
          : 'Enabled';
    return {
      uri: parsed.keyId,
      type: 'AZURE_KEY_VAULT',
      location: facts.region ?? parsed.vaultHost,
      state,
      usable: state === 'Enabled' && canWrap(key),
      ...(props.createdOn ? { createdAt: props.createdOn.toISOString() } : {}),
      rotation: rotationOf(policy, current?.properties.createdOn),
      deletion: { scheduled: false, ...protectionOf(props.recoveryLevel, props.recoverableDays) },
      ...(current?.properties.version ? { currentVersion: current.properties.version } : {}),
    };
  };

  const requireTenantId = (principal: string) => {
    if (!TENANT_ID.test(principal)) {
      throw new KmsError(
        'invalid',
        `auth_principal "${principal}" is not a tenant id. For Azure Key Vault, CMEK's auth_principal is the Microsoft Entra tenant id (a GUID) of the directory holding the vault. Next: use the output of az account show --query tenantId -o tsv.`,
        'InvalidAuthPrincipal',
      );
    }
  };

  return {
    type: 'AZURE_KEY_VAULT',
    deletionWindow: azureProfile.deletion.window,
    describeKey,

    async checkAccess(uri, principal, signal) {
      const parsed = parseAzureKeyId(uri);
      requireTenantId(principal);
      const description = await describeKey(uri, signal);
      const { tenantId } = vaultClient(parsed).facts;
      const base = { broader: [] as string[] };
      if (tenantId && tenantId.toLowerCase() !== principal.toLowerCase()) {
        return {
          ...base,
          granted: false,
          verified: true,
          missing: [`auth_principal must be the vault's tenant id ${tenantId}`],
          detail: `Vault ${parsed.vaultName} belongs to tenant ${tenantId} (from its authentication challenge), not ${principal}: CockroachDB would authenticate in the wrong directory. Next: use ${tenantId} as auth_principal.`,
        };
      }
      if (!description.usable) {
        return {
          ...base,
          granted: false,
          verified: true,
          missing: [`a usable key (state ${description.state})`],
          detail: `Key ${parsed.keyId} is ${description.state}, so CockroachDB cannot wrap or unwrap with it whatever the role assignments.`,
        };
      }
      return { ...base, granted: false, verified: false, missing: [], detail: roleCheckDetail(parsed.vaultName, parsed.keyName, principal) };
    },

    async provisionKey(request: ProvisionKeyRequest, signal) {
      requireTenantId(request.authPrincipal);
      const host = request.container.includes('.') ? request.container : `${request.container}.vault.azure.net`;
      const parsed = parseAzureKeyId(`https://${host}/keys/${request.keyName}`);
      if (parsed.version !== undefined || parsed.keyName !== request.keyName) {
        throw new KmsError(
          'invalid',
          `Key name "${request.keyName}" must be 1-127 letters, digits and hyphens. Next: choose a name like crdb-cmek-${request.location}.`,
          'BadParameter',
        );
      }
      if (parsed.managedHsm) {
        throw new KmsError(
          'invalid',
          `Provisioning in a Managed HSM (${parsed.vaultHost}) is not automated here: its roles are local to the HSM. Next: create an RSA-HSM 3072 key with az keyvault key create --hsm-name ${parsed.vaultName} --name ${request.keyName} --kty RSA-HSM --size 3072, or provision in a Key Vault (Premium for RSA-HSM).`,
          'ManagedHsmNotSupported',
        );
      }
      const periodDays = request.rotationPeriodDays ?? DEFAULT_ROTATION_DAYS;
      if (!Number.isInteger(periodDays) || periodDays < 7) {
        throw new KmsError(
          'invalid',
          `Rotation period ${periodDays} days is below Key Vault's minimum of 7 days. Next: pass rotationPeriodDays >= 7 (default ${DEFAULT_ROTATION_DAYS}).`,
          'BadParameter',
        );
      }
      const { client, facts } = vaultClient(parsed);
      const actions: ProvisionAction[] = [];
      const warnings: string[] = [];
      const keyKind = request.hsm ? 'RSA-HSM' : 'RSA';

      let key = await findKey(parsed, signal);
      if (facts.tenantId && facts.tenantId.toLowerCase() !== request.authPrincipal.toLowerCase()) {
        throw new KmsError(
          'invalid',
          `Vault ${parsed.vaultName} belongs to tenant ${facts.tenantId} (from its authentication challenge), not ${request.authPrincipal}. Nothing was created. Next: use ${facts.tenantId} as the auth principal, or a vault in tenant ${request.authPrincipal}.`,
          'TenantMismatch',
        );
      }
      if (!key && (await findDeleted(parsed, signal))) {
        throw new KmsError(
          'conflict',
          `Key ${request.keyName} in vault ${parsed.vaultName} is soft-deleted; its name cannot be reused until it is recovered or purged. Next: recover it (az keyvault key recover --vault-name ${parsed.vaultName} --name ${request.keyName}) and re-run, or choose another key name.`,
          'Conflict',
        );
      }
      if (key) {
        if (key.keyType !== 'RSA' && key.keyType !== 'RSA-HSM') {
          throw new KmsError(
            'conflict',
            `Existing key ${request.keyName} is ${String(key.keyType)}; CMEK needs an RSA or RSA-HSM key. Next: choose another key name.`,
            'KeyTypeMismatch',
          );
        }
        if (!key.properties.enabled) {
          throw new KmsError(
            'conflict',
            `Existing key ${request.keyName} (version ${key.properties.version}) is disabled. Next: enable it (az keyvault key set-attributes --vault-name ${parsed.vaultName} --name ${request.keyName} --enabled true) or choose another key name.`,
            'KeyDisabled',
          );
        }
        const bits = keyBits(key);
        if (bits !== undefined && bits < CMEK_KEY_SIZE)
          warnings.push(`Existing key ${request.keyName} is RSA ${bits}-bit; CMEK keys should be RSA ${CMEK_KEY_SIZE} or larger. Consider a new key name.`);
        if (request.hsm && key.keyType !== 'RSA-HSM')
          warnings.push(`Existing key ${request.keyName} is software-protected RSA, not the RSA-HSM you asked for.`);
        if (!canWrap(key))
          warnings.push(
            `Existing key ${request.keyName} does not allow wrapKey/unwrapKey (key_ops: ${(key.keyOperations ?? []).join(', ') || 'none'}); CockroachDB cannot use it until they are allowed.`,
          );
        actions.push({
          action: 'reused',
          resource: key.id!,
          detail: `existing ${key.keyType} ${bits ?? '?'}-bit key, current version ${key.properties.version}`,
        });
      } else if (request.dryRun) {
        actions.push({
          action: 'would_create',
          resource: parsed.keyId,
          detail: `${keyKind} ${CMEK_KEY_SIZE}-bit key, key_ops ${CMEK_KEY_OPS.join(', ')}; its versioned id is assigned at creation`,
        });
      } else {
        const create = () =>
          client.createRsaKey(request.keyName, {
            keySize: CMEK_KEY_SIZE,
            hsm: Boolean(request.hsm),
            keyOps: [...CMEK_KEY_OPS],
            tags: { purpose: 'cockroachdb-cmek', 'cockroachdb-cluster-id': request.clusterId },
            abortSignal: signal,
          });
        key = await call(`Creating key ${request.keyName} in vault ${parsed.vaultName}`, signal, create).catch(async (error: unknown) => {
          if (!isOutcomeUnknown(error)) throw error;
          const found = await findKey(parsed, signal);
          if (!found) throw error;
          return found;
        });
        actions.push({ action: 'created', resource: key.id!, detail: `${keyKind} ${CMEK_KEY_SIZE}-bit key, key_ops ${CMEK_KEY_OPS.join(', ')}` });
      }

      const policy = key ? await policyOf(parsed, signal) : undefined;
      const rotate = policy?.lifetimeActions?.find((action) => action.action === 'Rotate');
      const existingDays = rotate ? rotationOf(policy, undefined).periodDays : undefined;
      const policyResource = `${parsed.vaultUrl}/keys/${request.keyName}/rotationpolicy`;
      const policyDetail = `rotate every ${periodDays} days; no expiry on purpose: CMEK pins a version, so after each rotation run rotate_cmek (PUT /cmek) to move CockroachDB to the new version`;
      if (rotate && (request.rotationPeriodDays === undefined || existingDays === periodDays)) {
        actions.push({
          action: 'reused',
          resource: policyResource,
          detail: `automatic rotation already configured (${rotate.timeAfterCreate ?? `${rotate.timeBeforeExpiry} before expiry`})`,
        });
      } else if (request.dryRun) {
        actions.push({ action: key ? 'would_update' : 'would_create', resource: policyResource, detail: policyDetail });
      } else {
        const lifetimeActions = [
          ...(policy?.lifetimeActions ?? []).filter((action) => action.action !== 'Rotate'),
          { action: 'Rotate' as const, timeAfterCreate: `P${periodDays}D` },
        ];
        await call(`Setting the rotation policy of ${request.keyName}`, signal, () =>
          client.updateKeyRotationPolicy(
            request.keyName,
            { lifetimeActions, ...(policy?.expiresIn ? { expiresIn: policy.expiresIn } : {}) },
            { abortSignal: signal },
          ),
        );
        actions.push({ action: 'updated', resource: policyResource, detail: policyDetail });
      }
      const expiryDays = policy?.expiresIn ? isoDurationDays(policy.expiresIn) : undefined;
      if (expiryDays !== undefined) {
        warnings.push(
          `The rotation policy gives new versions an expiry of ${policy!.expiresIn} (${expiryDays} days): an expired version can no longer wrap keys, so re-point CMEK (rotate_cmek) to each new version well before the old one expires.`,
        );
      }

      let protectionSource = key;
      if (!protectionSource) {
        const first = await call(`Listing keys in vault ${parsed.vaultName}`, signal, async () => {
          for await (const properties of client.listPropertiesOfKeys({ abortSignal: signal })) return properties;
          return undefined;
        });
        if (first) protectionSource = { properties: first } as KeyVaultKey;
      }
      const protection = protectionOf(protectionSource?.properties.recoveryLevel, protectionSource?.properties.recoverableDays);
      warnings.push(...protectionWarnings(parsed.vaultName, protection));
      const region = facts.region?.toLowerCase().replace(/\s+/g, '');
      if (region && region !== request.location.toLowerCase().replace(/\s+/g, '')) {
        warnings.push(
          `Vault ${parsed.vaultName} is in ${facts.region}, but the cluster region is ${request.location}. Keep CMEK keys in a vault in the cluster's region so the cluster does not depend on another region.`,
        );
      }

      actions.push({
        action: 'manual',
        resource: `role assignment "Key Vault Crypto Officer" on ${parsed.keyName}`,
        detail: 'role assignments are made through Azure Resource Manager, not the Key Vault data plane: see manual steps',
      });
      const manualSteps = [
        adminConsentStep(request.authPrincipal, request.clusterId, request.azureClusterIdentityClientId),
        roleAssignmentStep(parsed.vaultName, parsed.keyName, request.clusterId),
        ...(protection.purgeProtection === false
          ? [`Recommended before enabling CMEK: az keyvault update --name ${parsed.vaultName} --enable-purge-protection true`]
          : []),
        AZURE_CMEK_AVAILABILITY,
      ];
      return { uri: key?.id ?? parsed.keyId, authPrincipal: request.authPrincipal, actions, manualSteps, warnings };
    },

    async rotateKey(uri, signal) {
      const parsed = parseAzureKeyId(uri);
      const before = await findKey(parsed, signal);
      if (!before) throw notFound(parsed);
      const rotated = await call(`Rotating key ${parsed.keyName} in vault ${parsed.vaultName}`, signal, () =>
        vaultClient(parsed).client.rotateKey(parsed.keyName, { abortSignal: signal }),
      ).catch(async (error: unknown) => {
        if (!isOutcomeUnknown(error)) throw error;
        const after = await findKey(parsed, signal);
        if (!after || after.properties.version === before.properties.version) throw error;
        return after;
      });
      const previous = parsed.version ?? before.properties.version;
      return {
        uri: rotated.id!,
        newVersion: rotated.properties.version!,
        detail: `Created version ${rotated.properties.version} of key ${parsed.keyName} in vault ${parsed.vaultName}. CockroachDB keeps using version ${previous} until you PUT /cmek with the new versioned key id (rotate_cmek does this). Keep version ${previous} enabled: data written under it still needs it.`,
      };
    },

    async disableKey(uri, signal) {
      const parsed = parseAzureKeyId(uri);
      const { client } = vaultClient(parsed);
      let versions: string[];
      if (parsed.version) versions = [parsed.version];
      else {
        versions = await call(`Listing versions of ${parsed.keyName}`, signal, async () => {
          const enabled: string[] = [];
          for await (const properties of client.listPropertiesOfKeyVersions(parsed.keyName, { abortSignal: signal })) {
            if (properties.enabled && properties.version) enabled.push(properties.version);
          }
          return enabled;
        });
      }
      for (const version of versions) {
        await call(`Disabling version ${version} of ${parsed.keyName}`, signal, () =>
          client.updateKeyProperties(parsed.keyName, version, { enabled: false, abortSignal: signal }),
        );
      }
      return describeKey(uri, signal);
    },

    async scheduleDeletion(uri, windowDays, signal) {
      const parsed = parseAzureKeyId(uri);
      if (!Number.isInteger(windowDays) || windowDays < 7 || windowDays > 90) {
        throw new KmsError(
          'invalid',
          `Deletion window ${windowDays} days is outside Key Vault's soft-delete range of 7-90 days. Nothing was deleted.`,
          'BadParameter',
        );
      }
      const key = await findKey(parsed, signal);
      if (!key) {
        const deleted = await findDeleted(parsed, signal);
        if (deleted) return softDeleteResult(parsed, deleted, windowDays);
        throw notFound(parsed);
      }
      const { windowDays: retention } = protectionOf(key.properties.recoveryLevel, key.properties.recoverableDays);
      if (retention !== undefined && windowDays > retention) {
        throw new KmsError(
          'invalid',
          `Vault ${parsed.vaultName} keeps deleted keys for ${retention} days, fewer than the ${windowDays} requested, and Azure applies the vault's soft-delete retention to every key. Nothing was deleted. Next: re-run with pending_window_days ${retention} if a ${retention}-day recovery window is acceptable, or prefer disabling the key.`,
          'RetentionShorterThanRequested',
        );
      }
      const { client } = vaultClient(parsed);
      const deleted = await call(`Deleting key ${parsed.keyName} in vault ${parsed.vaultName}`, signal, async () => {
        const poller = await client.beginDeleteKey(parsed.keyName, { intervalInMs: options.pollIntervalMs ?? 2000, abortSignal: signal });
        return poller.pollUntilDone({ abortSignal: signal });
      }).catch(async (error: unknown) => {
        if (!isOutcomeUnknown(error)) throw error;
        const found = await findDeleted(parsed, signal);
        if (!found) throw error;
        return found;
      });
      return softDeleteResult(parsed, deleted, windowDays);
    },
  };
}
