/**
 * What each KMS provider's home (src/kms/providers/<name>/) tells the rest of the code: the
 * static knowledge about the provider (URI rules, principals, locations, deletion, remediation
 * text, confirmation naming) and how to build its SDK-backed client. Code outside a provider's
 * home asks the provider table (./index.ts) instead of switching on the provider.
 */
import type { CloudProvider } from '../../cloud/schemas.js';
import type { DeletionWindow, KmsKeyType, KmsProvider } from '../provider.js';

/** The operator's placement choices for new keys, as provision_cmek_key takes them. */
export interface ProvisionPlacement {
  authPrincipal?: string;
  awsAccountId?: string;
  gcpProject?: string;
  azureVault?: string;
}

/** Where a key lives compared with the region it serves. */
export interface LocationCheck {
  result: 'pass' | 'warn';
  detail: string;
}

/** Everything provider-specific, for one provider. `Parsed` is its parsed key URI. */
export interface KmsProviderProfile<Parsed extends { type: KmsKeyType } = { type: KmsKeyType }, ClientOptions = unknown> {
  readonly type: Parsed['type'];
  /** The cloud whose clusters use this provider for CMEK. */
  readonly cloud: CloudProvider;
  /** Human name, e.g. "AWS KMS". */
  readonly label: string;
  /**
   * True when the cloud offers private Advanced clusters (AWS, GCP). There, private network
   * visibility is what the Terraform provider documents as required for CMEK; a cloud without
   * them (Azure) never fails a cluster for being public.
   */
  readonly privateClusters: boolean;
  /** A caveat about CMEK's availability on this provider (eligibility warns with it). */
  readonly availability?: string;
  /** One-line description of the key URI form CMEK takes, for errors. */
  readonly uriForm: string;

  /** True when the URI has this provider's shape (used to infer the key type from a URI). */
  ownsUri(uri: string): boolean;
  /** Parses a key URI of any accepted form; throws KeyUriError naming the malformed part. */
  parseUri(uri: string): Parsed;
  /** Extra rules for a URI used as a CMEK key_spec.uri; throws KeyUriError. */
  checkCmekUri(parsed: Parsed): void;
  /** Where the key lives when the URI says so (AWS region, GCP location); undefined otherwise. */
  keyLocation(parsed: Parsed): string | undefined;
  /**
   * Whether a key may serve a cluster region, as the provider's CMEK docs allow: a pass or a
   * warning, never a refusal (GCP `global` key rings, AWS multi-Region keys and one key for
   * several regions are all documented setups).
   */
  locationCheck(parsed: Parsed, region: string): LocationCheck;
  /** A stable identity for "the same key" across URI forms (aliases and versions folded). */
  keyIdentity(parsed: Parsed): string;
  /** True when the URI names the key indirectly (an AWS alias): its identity needs a KMS lookup. */
  isAlias(parsed: Parsed): boolean;
  /** The name a human must type to confirm a destructive action on the key. */
  confirmationName(parsed: Parsed): string;
  /** The account, project or vault that holds the key (AWS account, GCP project, Azure vault host). */
  keyAccount(parsed: Parsed): string;
  /** The account, project or tenant a principal belongs to; undefined when its shape does not say. */
  principalAccount(principal: string): string | undefined;
  /** What keyAccount and principalAccount name, for sentences (e.g. "AWS account", "GCP project"). */
  readonly accountNames: { key: string; principal: string };

  /** The shape CMEK's auth_principal takes for this provider. */
  readonly principal: { pattern: RegExp; expected: string };
  readonly provisioning: {
    /** The principal to grant when the operator names none; throws OperatorError when it needs more input. */
    defaultPrincipal(clusterName: string, placement: ProvisionPlacement): string;
    /** The account, project or vault new keys go to; throws OperatorError when it is missing. */
    container(placement: ProvisionPlacement): string;
    /** Set when one call cannot provision several regions (Azure: one vault per region): why, and the argument to vary. */
    oneRegionPerCall?: { why: string; argument: string };
  };

  readonly rotation: {
    /** True when rotating in the KMS gives a new URI (Azure versioned ids). */
    changesUri: boolean;
    /** What rotate_cmek does for a region in key_version mode. */
    reason: string;
  };

  readonly deletion: {
    /** The waiting window the provider allows, in days. */
    window: DeletionWindow;
    /** True when the waiting window is chosen at deletion time (AWS); otherwise fixed earlier. */
    windowChosenAtDeletion: boolean;
    /** Where a window not chosen at deletion was fixed: `where` for sentences, `setting` for evidence. */
    fixedWindow?: { where: string; setting: string };
    /** How to undo disabling or scheduled deletion. */
    undo(action: 'schedule_deletion' | 'disable', parsed: Parsed, deletionDate?: string): string;
  };

  /** Remediation commands for findings no tool of this server performs. */
  readonly remediation: {
    cancelDeletion(parsed: Parsed): string;
    enableKey(parsed: Parsed): string;
    enableRotation(parsed: Parsed): string;
    narrowGrant: string;
    /** Azure only: turning on purge protection. */
    enablePurgeProtection?(parsed: Parsed): string;
  };

  /** Builds the SDK-backed client, importing the SDK now. */
  connect(options: ClientOptions): Promise<KmsProvider>;
}
