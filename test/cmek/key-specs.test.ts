import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { principalProblem, refuseOnFailures, validateRegionSpecs } from '../../src/cmek/key-specs.js';
import { OperatorError } from '../../src/errors.js';
import { AWS_CMEK_ROLE, AWS_KEYS, AZURE_TENANT, GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, awsKeyArn, gcpKeyName } from '../../src/sandbox/seed.js';
import { seededCluster } from './fixtures.js';

const gcp = seededCluster('analytics-gcp');
const aws = seededCluster('prod-east');
const goodGcp = [
  { region: 'us-central1', uri: gcpKeyName(GCP_KEYS.usCentral1), auth_principal: GCP_CMEK_SERVICE_ACCOUNT },
  { region: 'europe-west1', uri: gcpKeyName(GCP_KEYS.europeWest1), auth_principal: GCP_CMEK_SERVICE_ACCOUNT },
];
const failed = (checks: { result: string; check: string }[]) => checks.filter((c) => c.result === 'fail').map((c) => c.check);

describe('validateRegionSpecs', () => {
  it('accepts one well-formed key per region and infers the type from the cloud', () => {
    const { specs, checks } = validateRegionSpecs(gcp, goodGcp, true);
    expect(failed(checks)).toEqual([]);
    expect(specs.map((s) => s.key_spec.type)).toEqual(['GCP_CLOUD_KMS', 'GCP_CLOUD_KMS']);
  });

  it('requires every cluster region when enabling', () => {
    const { checks } = validateRegionSpecs(gcp, goodGcp.slice(0, 1), true);
    expect(failed(checks)).toEqual(['region_coverage']);
    expect(checks.find((c) => c.check === 'region_coverage')?.detail).toMatch(/europe-west1/);
  });

  it('rejects unknown and duplicate regions', () => {
    const { checks } = validateRegionSpecs(gcp, [...goodGcp, goodGcp[0]!, { ...goodGcp[0]!, region: 'asia-east1' }], true);
    expect(failed(checks)).toEqual(['duplicate_region', 'region_known']);
  });

  it('rejects a key type that does not match the cloud', () => {
    const { checks } = validateRegionSpecs(gcp, [{ ...goodGcp[0]!, type: 'AWS_KMS' }, goodGcp[1]!], true);
    expect(failed(checks)).toEqual(['key_type']);
  });

  it('rejects a GCP name with a version and a bad principal; a key ring in another location only warns', () => {
    const { checks } = validateRegionSpecs(
      gcp,
      [
        { ...goodGcp[0]!, uri: `${gcpKeyName(GCP_KEYS.usCentral1)}/cryptoKeyVersions/1` },
        { region: 'europe-west1', uri: gcpKeyName(GCP_KEYS.wrongLocation), auth_principal: 'not-an-email' },
      ],
      true,
    );
    expect(failed(checks)).toEqual(['key_uri', 'auth_principal']);
    expect(checks.find((c) => c.check === 'key_location')).toMatchObject({ result: 'warn', region: 'europe-west1' });
    expect(checks.find((c) => c.check === 'key_uri')?.detail).toMatch(/WITHOUT \/cryptoKeyVersions/);
  });

  it('warns, never refuses, on an AWS key from another region', () => {
    const { checks } = validateRegionSpecs(
      aws,
      [
        { region: 'us-east-1', uri: awsKeyArn(AWS_KEYS.wrongRegion), auth_principal: AWS_CMEK_ROLE },
        { region: 'us-west-2', uri: awsKeyArn(AWS_KEYS.prodEastUsWest2), auth_principal: AWS_CMEK_ROLE },
      ],
      true,
    );
    expect(failed(checks)).toEqual([]);
    expect(checks.find((c) => c.check === 'key_location')).toMatchObject({
      result: 'warn',
      detail: expect.stringMatching(/in eu-central-1 and serves us-east-1.*recommended/),
    });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ region: fc.string(), uri: fc.string(), auth_principal: fc.string() }), { maxLength: 4 }), (inputs) => {
        const { checks } = validateRegionSpecs(aws, inputs, true);
        expect(Array.isArray(checks)).toBe(true);
      }),
    );
  });
});

describe('principalProblem', () => {
  it.each([
    ['AWS_KMS', AWS_CMEK_ROLE],
    ['GCP_CLOUD_KMS', GCP_CMEK_SERVICE_ACCOUNT],
    ['AZURE_KEY_VAULT', AZURE_TENANT],
  ] as const)('accepts a valid %s principal', (type, principal) => {
    expect(principalProblem(type, principal)).toBeUndefined();
  });

  it.each([
    ['AWS_KMS', 'arn:aws:iam::111122223333:user/alice'],
    ['AWS_KMS', GCP_CMEK_SERVICE_ACCOUNT],
    ['GCP_CLOUD_KMS', 'crdb@example.com'],
    ['AZURE_KEY_VAULT', 'contoso.onmicrosoft.com'],
  ] as const)('rejects %s principal %s', (type, principal) => {
    expect(principalProblem(type, principal)).toMatch(/is not/);
  });
});

describe('refuseOnFailures', () => {
  it('lists every failure and marks the audit outcome refused', () => {
    let error: unknown;
    try {
      refuseOnFailures(
        [
          { check: 'a', result: 'fail', detail: 'first', region: 'r1' },
          { check: 'b', result: 'warn', detail: 'ignored' },
          { check: 'c', result: 'fail', detail: 'second' },
        ],
        'refused',
        'fix it',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).why).toMatch(/Nothing was sent.*2 check\(s\) failed:\n- r1: first\n- second/s);
    expect((error as OperatorError).details.auditOutcome).toBe('refused');
  });
});
