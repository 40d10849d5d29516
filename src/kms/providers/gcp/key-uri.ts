/**
 * Parsing a GCP Cloud KMS crypto key name, with or without version: each malformed part gets its own error, naming the
 * part and what a valid one looks like.
 */
import { checkUriText, KeyUriError, type KeyUriPart } from '../../key-uri.js';

/** A GCP Cloud KMS crypto key name, with or without version. */
export type GcpKeyUri = {
  type: 'GCP_CLOUD_KMS';
  /** Resource name without version. */
  name: string;
  project: string;
  location: string;
  keyRing: string;
  cryptoKey: string;
  version?: string;
};

const GCP_PROJECT = /^(?:[a-z][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const GCP_LOCATION = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$|^[a-z]$/;
const GCP_ID = /^[a-zA-Z0-9_-]{1,63}$/;
const GCP_VERSION = /^[1-9]\d{0,18}$/;

const GCP_EXAMPLE = 'projects/my-project/locations/us-central1/keyRings/my-ring/cryptoKeys/my-key';

/** Parses a GCP Cloud KMS crypto key name, with or without `/cryptoKeyVersions/<n>`. */
export function parseGcpKeyName(uri: string): GcpKeyUri {
  checkUriText(uri, GCP_EXAMPLE);
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
  if (!GCP_PROJECT.test(project))
    fail('project', `Project id "${project}" must be 6-30 characters: lowercase letters, digits and hyphens, starting with a letter.`);
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

/** Refuses a versioned name as a CMEK key_spec.uri: CMEK follows the key's primary version. */
export function checkGcpCmekKeyName(parsed: GcpKeyUri): void {
  if (parsed.version !== undefined) {
    throw new KeyUriError(
      'version',
      `${parsed.name}/cryptoKeyVersions/${parsed.version}`,
      'CMEK takes the crypto key name WITHOUT /cryptoKeyVersions/<n>, so new primary versions are picked up on rotation.',
      `use ${parsed.name}.`,
    );
  }
}

/** Parses a crypto key name as CMEK takes it (without version). */
export function parseGcpCmekKeyName(uri: string): GcpKeyUri {
  const parsed = parseGcpKeyName(uri);
  checkGcpCmekKeyName(parsed);
  return parsed;
}
