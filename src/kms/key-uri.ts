/**
 * Parses and validates the key URIs CMEK takes: AWS KMS key and alias ARNs (multi-Region keys
 * included), GCP Cloud KMS crypto key names, Azure Key Vault / Managed HSM key identifiers.
 * Each malformed part gets its own error, naming the part and what a valid one looks like.
 */
import { OperatorError } from '../errors.js';
import type { KmsKeyType } from './provider.js';

export type ParsedKeyUri =
  | {
      type: 'AWS_KMS';
      arn: string;
      partition: string;
      region: string;
      account: string;
      resource: 'key' | 'alias';
      keyId?: string;
      alias?: string;
      multiRegion: boolean;
    }
  | {
      type: 'GCP_CLOUD_KMS';
      /** Resource name without version. */
      name: string;
      project: string;
      location: string;
      keyRing: string;
      cryptoKey: string;
      version?: string;
    }
  | {
      type: 'AZURE_KEY_VAULT';
      keyId: string;
      /** https://{vault}.vault.azure.net (or the sovereign / Managed HSM host). */
      vaultUrl: string;
      vaultHost: string;
      vaultName: string;
      keyName: string;
      version?: string;
      managedHsm: boolean;
    };

export type AwsKeyUri = Extract<ParsedKeyUri, { type: 'AWS_KMS' }>;
export type GcpKeyUri = Extract<ParsedKeyUri, { type: 'GCP_CLOUD_KMS' }>;
export type AzureKeyUri = Extract<ParsedKeyUri, { type: 'AZURE_KEY_VAULT' }>;

/** The part of a key URI that is wrong. */
export type KeyUriPart =
  | 'uri'
  | 'type'
  | 'prefix'
  | 'partition'
  | 'service'
  | 'region'
  | 'account'
  | 'resource'
  | 'keyId'
  | 'alias'
  | 'project'
  | 'location'
  | 'keyRing'
  | 'cryptoKey'
  | 'version'
  | 'scheme'
  | 'host'
  | 'vaultName'
  | 'keyName'
  | 'path';

/** A malformed key URI; `field` names the part that is wrong. */
export class KeyUriError extends OperatorError {
  constructor(
    readonly field: KeyUriPart,
    readonly uri: string,
    why: string,
    next: string,
  ) {
    super(`Invalid key URI: bad ${field}`, why, next, { field });
    this.name = 'KeyUriError';
  }
}

/** Longest URI accepted (AWS alias ARNs top out near 330 characters, Azure ids near 250). */
export const MAX_KEY_URI_LENGTH = 512;

const AWS_PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'aws-iso-e', 'aws-iso-f', 'aws-eusc'] as const;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const AWS_ACCOUNT = /^\d{12}$/;
const AWS_KEY_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AWS_MRK_ID = /^mrk-[0-9a-f]{32}$/;
const AWS_ALIAS_NAME = /^[a-zA-Z0-9/_-]{1,250}$/;

const GCP_PROJECT = /^(?:[a-z][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const GCP_LOCATION = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$/;
const GCP_ID = /^[a-zA-Z0-9_-]{1,63}$/;
const GCP_VERSION = /^[1-9]\d{0,18}$/;

const AZURE_SUFFIXES = [
  { suffix: 'vault.azure.net', managedHsm: false },
  { suffix: 'vault.azure.cn', managedHsm: false },
  { suffix: 'vault.usgovcloudapi.net', managedHsm: false },
  { suffix: 'managedhsm.azure.net', managedHsm: true },
] as const;
const AZURE_VAULT_NAME = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const AZURE_KEY_NAME = /^[a-zA-Z0-9-]{1,127}$/;
const AZURE_VERSION = /^[0-9a-fA-F]{32}$/;

function checkText(uri: string, example: string): void {
  if (typeof uri !== 'string' || uri.length === 0) {
    throw new KeyUriError('uri', String(uri), 'The key URI is empty.', `pass the full key URI, e.g. ${example}.`);
  }
  if (uri.length > MAX_KEY_URI_LENGTH) {
    throw new KeyUriError('uri', uri.slice(0, 64), `The key URI is ${uri.length} characters long (limit ${MAX_KEY_URI_LENGTH}).`, `pass the key URI itself, e.g. ${example}.`);
  }
  if (/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(uri)) {
    throw new KeyUriError('uri', uri, 'The key URI contains whitespace or control characters.', 'remove spaces, quotes and line breaks copied along with the URI.');
  }
}

const AWS_EXAMPLE = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Parses an AWS KMS key ARN (`...:key/<uuid|mrk-...>`) or alias ARN (`...:alias/<name>`). */
export function parseAwsKeyArn(uri: string): AwsKeyUri {
  checkText(uri, AWS_EXAMPLE);
  const fail = (field: KeyUriPart, why: string, next = `use the key ARN shown by "aws kms describe-key", e.g. ${AWS_EXAMPLE}.`) => {
    throw new KeyUriError(field, uri, why, next);
  };
  const parts = uri.split(':');
  if (parts[0] !== 'arn') {
    const hint = AWS_KEY_UUID.test(uri) || AWS_MRK_ID.test(uri) || uri.startsWith('alias/') ? ' A bare key id or alias name is not enough: CMEK needs the full ARN.' : '';
    fail('prefix', `An AWS KMS key URI is an ARN starting with "arn:"; got "${uri.slice(0, 40)}".${hint}`);
  }
  if (parts.length !== 6) fail('uri', `An AWS KMS ARN has 6 colon-separated parts (arn:partition:kms:region:account:resource); got ${parts.length}.`);
  const [, partition, service, region, account, resourcePart] = parts as [string, string, string, string, string, string];
  if (!(AWS_PARTITIONS as readonly string[]).includes(partition)) {
    fail('partition', `Partition "${partition}" is not an AWS partition (${AWS_PARTITIONS.join(', ')}).`);
  }
  if (service !== 'kms') fail('service', `The ARN is for service "${service}", not "kms".`, 'use the ARN of a KMS key, not of an IAM role or another resource.');
  if (!AWS_REGION.test(region)) fail('region', `Region "${region}" is not an AWS region code like us-east-1.`);
  if (!AWS_ACCOUNT.test(account)) fail('account', `Account "${account}" is not a 12-digit AWS account id.`);
  const slash = resourcePart.indexOf('/');
  const resource = slash < 0 ? resourcePart : resourcePart.slice(0, slash);
  const id = slash < 0 ? '' : resourcePart.slice(slash + 1);
  const base = { type: 'AWS_KMS' as const, arn: uri, partition, region, account };
  if (resource === 'key') {
    if (!AWS_KEY_UUID.test(id) && !AWS_MRK_ID.test(id)) {
      fail('keyId', `Key id "${id}" is neither a key UUID (1234abcd-12ab-34cd-56ef-1234567890ab) nor a multi-Region id (mrk- followed by 32 hex digits, lowercase).`);
    }
    return { ...base, resource: 'key', keyId: id, multiRegion: id.startsWith('mrk-') };
  }
  if (resource === 'alias') {
    if (!AWS_ALIAS_NAME.test(id)) {
      fail('alias', `Alias name "${id}" must be 1-250 characters of letters, digits, "/", "_" and "-" (the ARN ends in alias/<name>).`);
    }
    return { ...base, resource: 'alias', alias: `alias/${id}`, multiRegion: false };
  }
  return fail('resource', `Resource "${resource}" must be "key/<key id>" or "alias/<alias name>".`);
}

const GCP_EXAMPLE = 'projects/my-project/locations/us-central1/keyRings/my-ring/cryptoKeys/my-key';

/** Parses a GCP Cloud KMS crypto key name, with or without `/cryptoKeyVersions/<n>`. */
export function parseGcpKeyName(uri: string): GcpKeyUri {
  checkText(uri, GCP_EXAMPLE);
  const fail = (field: KeyUriPart, why: string, next = `use the key's resource name, e.g. ${GCP_EXAMPLE}.`) => {
    throw new KeyUriError(field, uri, why, next);
  };
  const segments = uri.split('/');
  const expect = (index: number, literal: string, field: KeyUriPart) => {
    if (segments[index] !== literal) fail(field, `Expected "${literal}/" at segment ${index + 1}; got "${segments[index] ?? ''}".`);
  };
  expect(0, 'projects', 'prefix');
  if (segments.length !== 8 && segments.length !== 10) {
    fail('path', `A crypto key name has the form ${GCP_EXAMPLE}[/cryptoKeyVersions/<n>]; got ${segments.length} segments.`);
  }
  const [, project, , location, , keyRing, , cryptoKey] = segments as string[] as [string, string, string, string, string, string, string, string];
  if (!GCP_PROJECT.test(project)) fail('project', `Project id "${project}" must be 6-30 characters: lowercase letters, digits and hyphens, starting with a letter.`);
  expect(2, 'locations', 'path');
  if (!GCP_LOCATION.test(location)) fail('location', `Location "${location}" is not a Cloud KMS location like us-central1, europe-west1 or global.`);
  expect(4, 'keyRings', 'path');
  if (!GCP_ID.test(keyRing)) fail('keyRing', `Key ring id "${keyRing}" must be 1-63 letters, digits, "_" or "-".`);
  expect(6, 'cryptoKeys', 'path');
  if (!GCP_ID.test(cryptoKey)) fail('cryptoKey', `Crypto key id "${cryptoKey}" must be 1-63 letters, digits, "_" or "-".`);
  const name = segments.slice(0, 8).join('/');
  if (segments.length === 10) {
    expect(8, 'cryptoKeyVersions', 'path');
    const version = segments[9]!;
    if (!GCP_VERSION.test(version)) fail('version', `Version "${version}" must be a positive integer.`);
    return { type: 'GCP_CLOUD_KMS', name, project, location, keyRing, cryptoKey, version };
  }
  return { type: 'GCP_CLOUD_KMS', name, project, location, keyRing, cryptoKey };
}

const AZURE_EXAMPLE = 'https://my-vault.vault.azure.net/keys/my-key/0123456789abcdef0123456789abcdef';

/** Parses an Azure Key Vault or Managed HSM key identifier, with or without version. */
export function parseAzureKeyId(uri: string): AzureKeyUri {
  checkText(uri, AZURE_EXAMPLE);
  const fail = (field: KeyUriPart, why: string, next = `use the key identifier ("kid") shown in the portal or by "az keyvault key show", e.g. ${AZURE_EXAMPLE}.`) => {
    throw new KeyUriError(field, uri, why, next);
  };
  if (!uri.startsWith('https://')) fail('scheme', 'An Azure key identifier starts with "https://".');
  const rest = uri.slice('https://'.length);
  const slash = rest.indexOf('/');
  const host = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const lowerHost = host.toLowerCase();
  const match = AZURE_SUFFIXES.find(({ suffix }) => lowerHost.endsWith(`.${suffix}`));
  if (!match) fail('host', `Host "${host}" is not a Key Vault or Managed HSM host (*.${AZURE_SUFFIXES.map((s) => s.suffix).join(', *.')}).`);
  const vaultName = host.slice(0, host.length - match!.suffix.length - 1);
  if (!AZURE_VAULT_NAME.test(vaultName)) {
    fail('vaultName', `Vault name "${vaultName}" must be 3-24 letters, digits and single hyphens, starting with a letter and ending with a letter or digit.`);
  }
  const segments = path.split('/').slice(1);
  if (segments[0] !== 'keys') fail('path', `The path must start with /keys/; got "${path.slice(0, 40) || '(none)'}".`);
  if (segments.length < 2 || segments.length > 3 || (segments.length === 3 && segments[2] === '')) {
    fail('path', 'The path must be /keys/<key name>/<version>.');
  }
  const keyName = segments[1]!;
  if (!AZURE_KEY_NAME.test(keyName)) fail('keyName', `Key name "${keyName}" must be 1-127 letters, digits and hyphens.`);
  const base = {
    type: 'AZURE_KEY_VAULT' as const,
    keyId: uri,
    vaultUrl: `https://${host}`,
    vaultHost: host,
    vaultName,
    keyName,
    managedHsm: match!.managedHsm,
  };
  if (segments.length === 3) {
    const version = segments[2]!;
    if (!AZURE_VERSION.test(version)) fail('version', `Version "${version}" must be 32 hexadecimal characters.`);
    return { ...base, version };
  }
  return base;
}

/** Parses a key URI of the given type; throws KeyUriError naming the exact malformed part. */
export function parseKeyUri(type: KmsKeyType, uri: string): ParsedKeyUri {
  switch (type) {
    case 'AWS_KMS':
      return parseAwsKeyArn(uri);
    case 'GCP_CLOUD_KMS':
      return parseGcpKeyName(uri);
    case 'AZURE_KEY_VAULT':
      return parseAzureKeyId(uri);
    default:
      throw new KeyUriError('type', String(uri), `Key type "${String(type)}" has no customer-managed key URI.`, 'use AWS_KMS, GCP_CLOUD_KMS or AZURE_KEY_VAULT.');
  }
}

/**
 * Validates a URI for use as a CMEK key_spec.uri: AWS key ARN or alias ARN (multi-Region mrk- keys
 * ok, AWS managed aliases not); GCP name WITHOUT version; Azure id WITH version. Throws KeyUriError.
 */
export function validateCmekKeyUri(type: KmsKeyType, uri: string): ParsedKeyUri {
  const parsed = parseKeyUri(type, uri);
  if (parsed.type === 'AWS_KMS' && parsed.alias?.startsWith('alias/aws/')) {
    throw new KeyUriError('alias', uri, `"${parsed.alias}" is an AWS managed key; its key policy cannot grant CockroachDB access.`, 'create a customer managed key (provision_cmek_key does) and use its ARN.');
  }
  if (parsed.type === 'GCP_CLOUD_KMS' && parsed.version !== undefined) {
    throw new KeyUriError('version', uri, 'CMEK takes the crypto key name WITHOUT /cryptoKeyVersions/<n>, so new primary versions are picked up on rotation.', `use ${parsed.name}.`);
  }
  if (parsed.type === 'AZURE_KEY_VAULT' && parsed.version === undefined) {
    throw new KeyUriError('version', uri, 'CMEK on Azure takes the key identifier WITH its version.', `append the current version: ${parsed.keyId}/<32-hex version> (az keyvault key show --id ${parsed.keyId} --query key.kid).`);
  }
  return parsed;
}

/** The location a key lives in (AWS region, GCP location; Azure: undefined, the vault region is not in the id). */
export function keyLocation(parsed: ParsedKeyUri): string | undefined {
  switch (parsed.type) {
    case 'AWS_KMS':
      return parsed.region;
    case 'GCP_CLOUD_KMS':
      return parsed.location;
    case 'AZURE_KEY_VAULT':
      return undefined;
  }
}
