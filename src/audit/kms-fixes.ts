/**
 * Remediation text for KMS findings no tool of this server performs (cancel a deletion, re-enable
 * a key, tighten a policy, turn on rotation or purge protection), from each provider's home.
 */
import type { KmsKeyType } from '../kms/provider.js';
import { kmsProvider, parseKeyUri, type ParsedKeyUri } from '../kms/providers/index.js';

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
  return key ? kmsProvider(type).remediation.cancelDeletion(key) : `cancel the deletion of ${uri} in the KMS console and re-enable the key`;
}

/** How to re-enable a disabled key. */
export function enableKey(type: KmsKeyType, uri: string): string {
  const key = parse(type, uri);
  return key ? kmsProvider(type).remediation.enableKey(key) : `re-enable ${uri} in the KMS console`;
}

/** How to turn on automatic rotation in the KMS. */
export function enableRotation(type: KmsKeyType, uri: string): string {
  const key = parse(type, uri);
  return key ? kmsProvider(type).remediation.enableRotation(key) : `enable automatic rotation for ${uri} in the KMS`;
}

/** How to narrow a grant to what CockroachDB needs. */
export function narrowGrant(type: KmsKeyType): string {
  return kmsProvider(type).remediation.narrowGrant;
}

/** How to turn on purge protection where the provider has it (Azure); undefined elsewhere. */
export function enablePurgeProtection(type: KmsKeyType, uri: string): string | undefined {
  const key = parse(type, uri);
  const remedy = kmsProvider(type).remediation.enablePurgeProtection;
  if (!remedy) return undefined;
  return key ? remedy(key) : `turn on purge protection for the vault of ${uri}`;
}
