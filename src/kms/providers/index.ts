/**
 * The provider table: every KMS provider CMEK supports, keyed by its CMEK key type. Code outside
 * src/kms/providers/<name>/ asks this table instead of switching on the provider; adding a
 * provider means adding its home, one entry here, and its sandbox emulator.
 */
import type { CloudProvider } from '../../cloud/schemas.js';
import { OperatorError } from '../../errors.js';
import { KeyUriError } from '../key-uri.js';
import type { KmsKeyType } from '../provider.js';
import { awsProfile } from './aws/profile.js';
import { azureProfile } from './azure/profile.js';
import { gcpProfile } from './gcp/profile.js';
import type { KmsProviderProfile } from './types.js';

/** Every provider, by CMEK key type. */
export const KMS_PROVIDERS = {
  AWS_KMS: awsProfile,
  GCP_CLOUD_KMS: gcpProfile,
  AZURE_KEY_VAULT: azureProfile,
} as const satisfies { [T in KmsKeyType]: { type: T } };

type Profiles = typeof KMS_PROVIDERS;

/** A parsed key URI of any provider; `type` tells which. */
export type ParsedKeyUri = { [T in KmsKeyType]: ReturnType<Profiles[T]['parseUri']> }[KmsKeyType];

/** The client options a provider's `connect` takes. */
export type KmsClientOptions<T extends KmsKeyType> = Parameters<Profiles[T]['connect']>[0];

/** The key types with a provider, in table order. */
export const KMS_KEY_TYPES = Object.keys(KMS_PROVIDERS) as KmsKeyType[];

/**
 * The profile for a key type, typed loosely enough to call with any parsed URI of that type
 * (the table's entries are exact; callers hold the union).
 */
export function kmsProvider(type: KmsKeyType): KmsProviderProfile<ParsedKeyUri> {
  const profile = (KMS_PROVIDERS as Record<string, unknown>)[type];
  if (!profile) {
    throw new KeyUriError('type', '', `Key type "${String(type)}" has no customer-managed key provider.`, `use ${KMS_KEY_TYPES.join(', ')}.`);
  }
  return profile as KmsProviderProfile<ParsedKeyUri>;
}

/** The provider CMEK uses on a cloud. */
export function kmsProviderForCloud(cloud: CloudProvider): KmsProviderProfile<ParsedKeyUri> {
  const profile = Object.values(KMS_PROVIDERS).find((candidate) => candidate.cloud === cloud);
  if (!profile) throw new Error(`no KMS provider for cloud ${cloud}`);
  return profile as KmsProviderProfile<ParsedKeyUri>;
}

/** The key type CMEK requires on a cloud. */
export function keyTypeForCloud(cloud: CloudProvider): KmsKeyType {
  return kmsProviderForCloud(cloud).type;
}

/** Infers the key type from the URI's shape. */
export function keyTypeOfUri(uri: string): KmsKeyType {
  const profile = Object.values(KMS_PROVIDERS).find((candidate) => candidate.ownsUri(uri));
  if (profile) return profile.type;
  throw new OperatorError(
    'Unrecognised key URI',
    `Expected ${Object.values(KMS_PROVIDERS)
      .map((candidate) => candidate.uriForm)
      .join(', ')}.`,
    'pass the key URI exactly as it appears in get_cmek_status or the KMS console.',
  );
}

/** Parses a key URI of the given type; throws KeyUriError naming the exact malformed part. */
export function parseKeyUri(type: KmsKeyType, uri: string): ParsedKeyUri {
  return kmsProvider(type).parseUri(uri);
}

/**
 * Validates a URI for use as a CMEK key_spec.uri (e.g. GCP name WITHOUT version, Azure id WITH
 * version, no AWS managed alias). Throws KeyUriError.
 */
export function validateCmekKeyUri(type: KmsKeyType, uri: string): ParsedKeyUri {
  const profile = kmsProvider(type);
  const parsed = profile.parseUri(uri);
  profile.checkCmekUri(parsed);
  return parsed;
}

/** Where the key lives when its URI says so (AWS region, GCP location); undefined otherwise (Azure). */
export function keyLocation(parsed: ParsedKeyUri): string | undefined {
  return kmsProvider(parsed.type).keyLocation(parsed);
}

/** A stable identity for "the same key" across URI forms (aliases resolved first, versions folded). */
export function keyIdentity(parsed: ParsedKeyUri): string {
  return kmsProvider(parsed.type).keyIdentity(parsed);
}

/** The name a human must type to confirm a destructive action on the key. */
export function confirmationName(parsed: ParsedKeyUri): string {
  return kmsProvider(parsed.type).confirmationName(parsed);
}
