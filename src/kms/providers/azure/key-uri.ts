/**
 * Parsing an Azure Key Vault or Managed HSM key identifier, with or without version: each malformed part gets its own error, naming the
 * part and what a valid one looks like.
 */
import { checkUriText, KeyUriError, type KeyUriPart } from '../../key-uri.js';

/** An Azure Key Vault or Managed HSM key identifier, with or without version. */
export type AzureKeyUri = {
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

const AZURE_SUFFIXES = [
  { suffix: 'vault.azure.net', managedHsm: false },
  { suffix: 'vault.azure.cn', managedHsm: false },
  { suffix: 'vault.usgovcloudapi.net', managedHsm: false },
  { suffix: 'managedhsm.azure.net', managedHsm: true },
] as const;
const AZURE_VAULT_NAME = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const AZURE_KEY_NAME = /^[a-zA-Z0-9-]{1,127}$/;
const AZURE_VERSION = /^[0-9a-fA-F]{32}$/;

const AZURE_EXAMPLE = 'https://my-vault.vault.azure.net/keys/my-key/0123456789abcdef0123456789abcdef';

/** Parses an Azure Key Vault or Managed HSM key identifier, with or without version. */
export function parseAzureKeyId(uri: string): AzureKeyUri {
  checkUriText(uri, AZURE_EXAMPLE);
  const fail = (
    field: KeyUriPart,
    why: string,
    next = `use the key identifier ("kid") shown in the portal or by "az keyvault key show", e.g. ${AZURE_EXAMPLE}.`,
  ) => {
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
