import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyUriError, type KeyUriPart } from '../../src/kms/key-uri.js';
import { parseAwsKeyArn } from '../../src/kms/providers/aws/key-uri.js';
import { parseAzureKeyId } from '../../src/kms/providers/azure/key-uri.js';
import { parseGcpKeyName } from '../../src/kms/providers/gcp/key-uri.js';
import { keyLocation, parseKeyUri, validateCmekKeyUri } from '../../src/kms/providers/index.js';
import { OperatorError } from '../../src/errors.js';

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const chars = (alphabet: string, min: number, max: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
const lower = 'abcdefghijklmnopqrstuvwxyz';
const digits = '0123456789';
const idChars = `${lower}${lower.toUpperCase()}${digits}_-`;

const awsRegion = fc.constantFrom('us-east-1', 'us-west-2', 'eu-central-1', 'ap-southeast-3', 'us-gov-west-1', 'cn-north-1', 'il-central-1');
const awsPartition = fc.constantFrom('aws', 'aws-cn', 'aws-us-gov');
const awsAccount = chars(digits, 12, 12);
const awsUuid = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((p) => p.join('-'));
const awsMrk = hex(32).map((h) => `mrk-${h}`);
const awsAliasName = chars(`${idChars}/`, 1, 40).filter((name) => !name.startsWith('aws/'));

const awsKeyArn = fc
  .record({ partition: awsPartition, region: awsRegion, account: awsAccount, id: fc.oneof(awsUuid, awsMrk) })
  .map((p) => ({ ...p, arn: `arn:${p.partition}:kms:${p.region}:${p.account}:key/${p.id}` }));
const awsAliasArn = fc
  .record({ partition: awsPartition, region: awsRegion, account: awsAccount, name: awsAliasName })
  .map((p) => ({ ...p, arn: `arn:${p.partition}:kms:${p.region}:${p.account}:alias/${p.name}` }));

const gcpProject = fc.tuple(chars(lower, 1, 1), chars(`${lower}${digits}-`, 4, 20), chars(`${lower}${digits}`, 1, 1)).map((p) => p.join(''));
const gcpLocation = fc.constantFrom('us-central1', 'europe-west1', 'global', 'us', 'nam-eur-asia1', 'asia-northeast3');
const gcpId = chars(idChars, 1, 63);
const gcpKey = fc
  .record({ project: gcpProject, location: gcpLocation, keyRing: gcpId, cryptoKey: gcpId })
  .map((p) => ({ ...p, name: `projects/${p.project}/locations/${p.location}/keyRings/${p.keyRing}/cryptoKeys/${p.cryptoKey}` }));

const azureVault = fc
  .tuple(chars(lower, 1, 1), chars(`${lower}${digits}`, 1, 10), fc.boolean(), chars(`${lower}${digits}`, 1, 10))
  .map(([first, a, hyphen, b]) => `${first}${a}${hyphen ? '-' : ''}${b}`);
const azureSuffix = fc.constantFrom('vault.azure.net', 'vault.azure.cn', 'vault.usgovcloudapi.net', 'managedhsm.azure.net');
const azureKey = fc
  .record({ vault: azureVault, suffix: azureSuffix, keyName: chars(`${lower}${digits}-`, 1, 40), version: hex(32) })
  .map((p) => ({ ...p, id: `https://${p.vault}.${p.suffix}/keys/${p.keyName}/${p.version}` }));

function fieldOf(run: () => unknown): KeyUriPart | 'none' {
  try {
    run();
    return 'none';
  } catch (error) {
    if (!(error instanceof KeyUriError)) throw error;
    expect(error).toBeInstanceOf(OperatorError);
    expect(error.what).toContain(error.field);
    expect(error.next.length).toBeGreaterThan(5);
    return error.field;
  }
}

describe('AWS key ARNs', () => {
  it('round-trips generated key ARNs', () => {
    fc.assert(
      fc.property(awsKeyArn, (p) => {
        const parsed = validateCmekKeyUri('AWS_KMS', p.arn);
        expect(parsed).toMatchObject({
          type: 'AWS_KMS',
          arn: p.arn,
          partition: p.partition,
          region: p.region,
          account: p.account,
          resource: 'key',
          keyId: p.id,
        });
        expect(parsed.type === 'AWS_KMS' && parsed.multiRegion).toBe(p.id.startsWith('mrk-'));
        expect(keyLocation(parsed)).toBe(p.region);
      }),
    );
  });

  it('round-trips generated alias ARNs', () => {
    fc.assert(
      fc.property(awsAliasArn, (p) => {
        expect(validateCmekKeyUri('AWS_KMS', p.arn)).toMatchObject({ resource: 'alias', alias: `alias/${p.name}`, region: p.region, multiRegion: false });
      }),
    );
  });

  const mutations: Array<[KeyUriPart, (arn: string) => string]> = [
    ['prefix', (arn) => arn.replace(/^arn:/, 'urn:')],
    ['partition', (arn) => arn.replace(/^arn:[^:]+:/, 'arn:azure:')],
    ['service', (arn) => arn.replace(':kms:', ':iam:')],
    ['region', (arn) => arn.replace(/:kms:[^:]+:/, ':kms:US-EAST-1:')],
    ['region', (arn) => arn.replace(/:kms:[^:]+:/, ':kms:useast1:')],
    ['account', (arn) => arn.replace(/:(\d{12}):/, ':$1' + '0:')],
    ['account', (arn) => arn.replace(/:(\d{12}):/, ':12345678901a:')],
    ['resource', (arn) => arn.replace(':key/', ':keys/')],
    ['keyId', (arn) => arn.replace(/key\/.*$/, 'key/1234')],
    ['keyId', (arn) => arn.replace(/key\/(.*)$/, (_m, id: string) => `key/${id.toUpperCase()}X`)],
    ['uri', (arn) => `${arn} `],
    ['uri', (arn) => arn.replace(':kms:', ':kms:\n')],
    ['uri', (arn) => arn.replace(/:key\//, ':extra:key/')],
  ];
  for (const [field, mutate] of mutations) {
    it(`a mutated ${field} is reported as ${field} (${mutate.toString().slice(8, 60)})`, () => {
      fc.assert(
        fc.property(awsKeyArn, (p) => {
          expect(fieldOf(() => parseAwsKeyArn(mutate(p.arn)))).toBe(field);
        }),
      );
    });
  }

  it('names the part for hand-picked malformed ARNs', () => {
    expect(fieldOf(() => parseAwsKeyArn('1234abcd-12ab-34cd-56ef-1234567890ab'))).toBe('prefix');
    expect(fieldOf(() => parseAwsKeyArn('arn:aws:kms:us-east-1:111122223333:alias/'))).toBe('alias');
    expect(fieldOf(() => parseAwsKeyArn('arn:aws:kms:us-east-1:111122223333:alias/has space'))).toBe('uri');
    expect(fieldOf(() => parseAwsKeyArn('arn:aws:kms:us-east-1:111122223333:alias/bad*char'))).toBe('alias');
    expect(fieldOf(() => parseAwsKeyArn('arn:aws:kms:us-east-1:111122223333:key/mrk-123'))).toBe('keyId');
    expect(fieldOf(() => parseAwsKeyArn(''))).toBe('uri');
    expect(fieldOf(() => parseAwsKeyArn(`arn:aws:kms:us-east-1:111122223333:alias/${'a'.repeat(600)}`))).toBe('uri');
    expect(fieldOf(() => parseAwsKeyArn('arn:aws:iam::111122223333:role/crdb'))).toBe('service');
  });

  it('rejects AWS managed aliases for CMEK but parses them', () => {
    const arn = 'arn:aws:kms:us-east-1:111122223333:alias/aws/ebs';
    expect(parseAwsKeyArn(arn).alias).toBe('alias/aws/ebs');
    expect(fieldOf(() => validateCmekKeyUri('AWS_KMS', arn))).toBe('alias');
  });

  it('never throws anything but KeyUriError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (s) => {
        const field = fieldOf(() => parseAwsKeyArn(s));
        expect(typeof field).toBe('string');
      }),
    );
  });
});

describe('GCP key names', () => {
  it('round-trips generated names, with and without version', () => {
    fc.assert(
      fc.property(gcpKey, fc.integer({ min: 1, max: 99999 }), (p, version) => {
        const parsed = validateCmekKeyUri('GCP_CLOUD_KMS', p.name);
        expect(parsed).toEqual({ type: 'GCP_CLOUD_KMS', name: p.name, project: p.project, location: p.location, keyRing: p.keyRing, cryptoKey: p.cryptoKey });
        expect(keyLocation(parsed)).toBe(p.location);
        const versioned = parseGcpKeyName(`${p.name}/cryptoKeyVersions/${version}`);
        expect(versioned).toMatchObject({ name: p.name, version: String(version) });
      }),
    );
  });

  it('refuses a versioned name for CMEK', () => {
    fc.assert(
      fc.property(gcpKey, (p) => {
        expect(fieldOf(() => validateCmekKeyUri('GCP_CLOUD_KMS', `${p.name}/cryptoKeyVersions/1`))).toBe('version');
      }),
    );
  });

  const mutations: Array<[KeyUriPart, (name: string) => string]> = [
    ['prefix', (name) => name.replace(/^projects\//, 'project/')],
    ['prefix', (name) => `/${name}`],
    ['project', (name) => name.replace(/^projects\/[^/]+/, 'projects/My_Project')],
    ['project', (name) => name.replace(/^projects\/[^/]+/, 'projects/abc')],
    ['location', (name) => name.replace(/locations\/[^/]+/, 'locations/US-Central1')],
    ['keyRing', (name) => name.replace(/keyRings\/[^/]+/, 'keyRings/ring.with.dots')],
    ['keyRing', (name) => name.replace(/keyRings\/[^/]+/, `keyRings/${'r'.repeat(64)}`)],
    ['cryptoKey', (name) => name.replace(/cryptoKeys\/[^/]+/, 'cryptoKeys/key@1')],
    ['path', (name) => name.replace('/keyRings/', '/keyrings/')],
    ['path', (name) => name.replace('/locations/', '/regions/')],
    ['path', (name) => `${name}/cryptoKeyVersions`],
    ['path', (name) => `${name}/versions/1`],
    ['version', (name) => `${name}/cryptoKeyVersions/0`],
    ['version', (name) => `${name}/cryptoKeyVersions/latest`],
    ['uri', (name) => `\t${name}`],
  ];
  for (const [field, mutate] of mutations) {
    it(`a mutated ${field} is reported as ${field} (${mutate.toString().slice(9, 70)})`, () => {
      fc.assert(
        fc.property(gcpKey, (p) => {
          expect(fieldOf(() => parseGcpKeyName(mutate(p.name)))).toBe(field);
        }),
      );
    });
  }

  it('never throws anything but KeyUriError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(typeof fieldOf(() => parseGcpKeyName(s))).toBe('string');
      }),
    );
  });
});

describe('Azure key identifiers', () => {
  it('round-trips generated ids', () => {
    fc.assert(
      fc.property(azureKey, (p) => {
        const parsed = validateCmekKeyUri('AZURE_KEY_VAULT', p.id);
        expect(parsed).toEqual({
          type: 'AZURE_KEY_VAULT',
          keyId: p.id,
          vaultUrl: `https://${p.vault}.${p.suffix}`,
          vaultHost: `${p.vault}.${p.suffix}`,
          vaultName: p.vault,
          keyName: p.keyName,
          version: p.version,
          managedHsm: p.suffix === 'managedhsm.azure.net',
        });
        expect(keyLocation(parsed)).toBeUndefined();
      }),
    );
  });

  it('parses an unversioned id but refuses it for CMEK', () => {
    fc.assert(
      fc.property(azureKey, (p) => {
        const id = `https://${p.vault}.${p.suffix}/keys/${p.keyName}`;
        expect(parseAzureKeyId(id).version).toBeUndefined();
        expect(fieldOf(() => validateCmekKeyUri('AZURE_KEY_VAULT', id))).toBe('version');
      }),
    );
  });

  const mutations: Array<[KeyUriPart, (id: string) => string]> = [
    ['scheme', (id) => id.replace('https://', 'http://')],
    ['host', (id) => id.replace(/\.(vault|managedhsm)\.[^/]+/, '.vault.example.com')],
    ['host', (id) => id.replace(/\.(vault|managedhsm)\.[^/]+/, '.vault.azure.net:443')],
    ['vaultName', (id) => id.replace(/^https:\/\/[^.]+/, 'https://1vault')],
    ['vaultName', (id) => id.replace(/^https:\/\/[^.]+/, 'https://ab')],
    ['vaultName', (id) => id.replace(/^https:\/\/[^.]+/, 'https://a--b')],
    ['path', (id) => id.replace('/keys/', '/secrets/')],
    ['path', (id) => `${id}/extra`],
    ['keyName', (id) => id.replace(/\/keys\/[^/]+/, '/keys/key_name')],
    ['version', (id) => id.replace(/\/[0-9a-f]{32}$/, '/1')],
    ['version', (id) => `${id}?api-version=7.4`],
    ['uri', (id) => `${id}\u0000`],
  ];
  for (const [field, mutate] of mutations) {
    it(`a mutated ${field} is reported as ${field} (${mutate.toString().slice(7, 70)})`, () => {
      fc.assert(
        fc.property(azureKey, (p) => {
          expect(fieldOf(() => parseAzureKeyId(mutate(p.id)))).toBe(field);
        }),
      );
    });
  }

  it('never throws anything but KeyUriError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.string({ maxLength: 200 }), (url, s) => {
        expect(typeof fieldOf(() => parseAzureKeyId(url))).toBe('string');
        expect(typeof fieldOf(() => parseAzureKeyId(s))).toBe('string');
      }),
    );
  });
});

describe('parseKeyUri', () => {
  it('dispatches on type and refuses a URI of another provider with the first wrong part', () => {
    const aws = 'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0001-4e5f-8a9b-000000000001';
    expect(parseKeyUri('AWS_KMS', aws).type).toBe('AWS_KMS');
    expect(fieldOf(() => parseKeyUri('GCP_CLOUD_KMS', aws))).toBe('prefix');
    expect(fieldOf(() => parseKeyUri('AZURE_KEY_VAULT', aws))).toBe('scheme');
    expect(fieldOf(() => parseKeyUri('NULL_KMS' as never, aws))).toBe('type');
  });
});
