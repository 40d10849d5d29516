/**
 * One interface over AWS KMS, GCP Cloud KMS and Azure Key Vault, shaped by what CMEK on
 * CockroachDB Cloud needs. Implementations (aws.ts, gcp.ts, azure.ts) import their SDK lazily and
 * translate SDK errors into `KmsError` with an actionable message.
 */
import { MAX_ERROR, MAX_MESSAGE, untrusted, untrustedText } from '../safety/untrusted.js';
import type { CmekKeyType } from '../cloud/schemas.js';

/** Key types a real KMS backs (NULL_KMS is CockroachDB-internal). */
export type KmsKeyType = Exclude<CmekKeyType, 'NULL_KMS'>;

/** Why a KMS call failed, normalised across providers. */
export type KmsErrorKind = 'not_found' | 'access_denied' | 'throttled' | 'invalid' | 'unavailable' | 'conflict' | 'limit_reached' | 'unknown';

/** A failed KMS call, with the provider's own error name kept for evidence. */
export class KmsError extends Error {
  constructor(
    readonly kind: KmsErrorKind,
    message: string,
    readonly providerCode?: string,
    readonly requestId?: string,
  ) {
    // Provider messages echo upstream text (key descriptions, policy documents): one safe line.
    super(untrusted(message, MAX_ERROR));
    this.name = 'KmsError';
  }
}

/** A provider's own error text as quoted in a KmsError: one safe line, capped, quoted unless plain. */
export function providerSaid(text: string): string {
  return untrustedText(text, MAX_MESSAGE);
}

/** The state of a key as CMEK cares about it. */
export interface KeyDescription {
  uri: string;
  type: KmsKeyType;
  /** Region (AWS), location (GCP) or vault location when known (Azure). */
  location: string;
  /** Provider-native state, e.g. Enabled, PendingDeletion, ENABLED, DESTROY_SCHEDULED. */
  state: string;
  /** True when the key (its primary/current version) can encrypt and decrypt now. */
  usable: boolean;
  createdAt?: string;
  /** Automatic rotation as configured in the KMS. */
  rotation: { automatic: boolean; periodDays?: number; lastRotatedAt?: string; nextRotationAt?: string };
  /** Deletion state and the protection against it. */
  deletion: {
    scheduled: boolean;
    /** When the key material is gone for good, if scheduled. */
    scheduledFor?: string;
    /** Waiting window the provider enforces (AWS pending window, GCP destroy duration, Azure retention). */
    windowDays?: number;
    /** Azure purge protection; undefined where the concept does not apply. */
    purgeProtection?: boolean;
  };
  /** Current/primary version id where the provider has versions. */
  currentVersion?: string;
  /** AWS: the key's aliases (alias/<name>), when they could be listed. */
  aliases?: string[];
}

/** Whether `principal` has what CockroachDB needs on a key, and any broader grants found. */
export interface AccessCheck {
  granted: boolean;
  /** Permissions or roles CockroachDB needs that are missing. */
  missing: string[];
  /** Grants broader than CockroachDB needs (e.g. kms:*, Principal "*"). */
  broader: string[];
  /** False when we could not read the policy (no permission); granted is then unknown. */
  verified: boolean;
  detail?: string;
}

/** Everything needed to create (or find) a CMEK key in one region. */
export interface ProvisionKeyRequest {
  /** Region (AWS), location (GCP) or Azure region. */
  location: string;
  keyName: string;
  /** The principal CockroachDB authenticates as (role ARN, service account email, tenant id). */
  authPrincipal: string;
  /** AWS account id, GCP project id, or Azure vault name. */
  container: string;
  /** CockroachDB Cloud organization id (AWS External ID). */
  organizationId: string;
  /** Cluster's `account_id` (AWS trust, GCP crl-kms-user project). */
  clusterAccountId: string;
  clusterId: string;
  multiRegion?: boolean;
  /** Destroy / pending window in days where the provider supports choosing it. */
  deletionWindowDays?: number;
  rotationPeriodDays?: number;
  /** Azure: the cluster's `azure_cluster_identity_client_id`, for the admin-consent URL. */
  azureClusterIdentityClientId?: string;
  /** Azure: create an RSA-HSM key (Premium vault or Managed HSM) instead of software RSA. GCP: HSM protection level. */
  hsm?: boolean;
  /** GCP: key ring id (default "crdb-cmek"). */
  keyRing?: string;
  dryRun: boolean;
}

/** A thing provisioning created, found or would create. */
export interface ProvisionAction {
  action: 'created' | 'reused' | 'updated' | 'would_create' | 'would_update' | 'manual';
  resource: string;
  detail: string;
}

export interface ProvisionKeyResult {
  /** The key URI in the form CMEK expects for this provider. */
  uri: string;
  authPrincipal: string;
  actions: ProvisionAction[];
  /** Steps the operator must take outside this server (IAM role, admin consent, ...). */
  manualSteps: string[];
  warnings: string[];
}

/** Result of making a new key version available. */
export interface KeyRotationResult {
  /** The URI CMEK should use after rotation (AWS/GCP unchanged; Azure has a new version id). */
  uri: string;
  newVersion?: string;
  detail: string;
}

/** Provider limits for deletion windows, in days. */
export interface DeletionWindow {
  minDays: number;
  defaultDays: number;
  maxDays: number;
}

export interface DeletionResult {
  state: string;
  /** When the key becomes unrecoverable. */
  deletionDate: string;
  /** How to undo before deletionDate. */
  undo: string;
  /** Anything the operator must know, e.g. GCP's window was fixed at creation and differs from the one asked for. */
  note?: string;
}

/** A KMS as CMEK uses it. */
export interface KmsProvider {
  readonly type: KmsKeyType;
  readonly deletionWindow: DeletionWindow;
  describeKey(uri: string, signal?: AbortSignal): Promise<KeyDescription>;
  checkAccess(uri: string, principal: string, signal?: AbortSignal): Promise<AccessCheck>;
  provisionKey(request: ProvisionKeyRequest, signal?: AbortSignal): Promise<ProvisionKeyResult>;
  /**
   * Creates a new key version (never blindly retrying a non-idempotent create) and returns once
   * it is the version in use, so that a PUT /cmek after it picks it up. A key that can no longer
   * be rotated in place fails with kind `limit_reached`.
   */
  rotateKey(uri: string, signal?: AbortSignal): Promise<KeyRotationResult>;
  disableKey(uri: string, signal?: AbortSignal): Promise<KeyDescription>;
  scheduleDeletion(uri: string, windowDays: number, signal?: AbortSignal): Promise<DeletionResult>;
  /** GCP: the project of the credentials in use (Application Default Credentials), where new keys go by default. */
  defaultProject?(signal?: AbortSignal): Promise<string>;
}

/** Gives the provider for a key type, constructing it (and importing its SDK) on first use. */
export interface KmsRegistry {
  get(type: KmsKeyType): Promise<KmsProvider>;
}
