/**
 * Offline validation of CMEK region specs, before anything is sent: regions known and (for
 * enable) all covered, no duplicates, key type matching the cloud, URI well formed for its
 * provider (a key outside the region is a warning, never a refusal), principal of the right shape.
 */
import type { Cluster, CmekKeyType, CmekRegionSpec } from '../cloud/schemas.js';
import { OperatorError } from '../errors.js';
import { KeyUriError } from '../kms/key-uri.js';
import { keyTypeForCloud, kmsProvider, validateCmekKeyUri } from '../kms/providers/index.js';
import type { KmsKeyType } from '../kms/provider.js';
import { type Check } from './context.js';

/** A region's key as the operator gave it (type may be left out: inferred from the cloud). */
export interface KeySpecInput {
  region: string;
  type?: CmekKeyType;
  uri: string;
  auth_principal: string;
}

/** Why `principal` is not a valid auth_principal for `type`, or undefined when it is. */
export function principalProblem(type: KmsKeyType, principal: string): string | undefined {
  const rule = kmsProvider(type).principal;
  return rule.pattern.test(principal) ? undefined : `auth_principal "${principal.slice(0, 80)}" is not ${rule.expected}.`;
}

export interface SpecValidation {
  specs: CmekRegionSpec[];
  checks: Check[];
}

/**
 * Validates specs against the cluster. `coverAllRegions` (enable) requires one spec per cluster
 * region. Every problem becomes a failed check; nothing throws here.
 */
export function validateRegionSpecs(cluster: Cluster, inputs: readonly KeySpecInput[], coverAllRegions: boolean): SpecValidation {
  const checks: Check[] = [];
  const clusterRegions = cluster.regions.map((region) => region.name);
  const expectedType = keyTypeForCloud(cluster.cloud_provider);
  const seen = new Set<string>();
  const specs: CmekRegionSpec[] = [];
  for (const input of inputs) {
    const region = input.region;
    if (seen.has(region)) {
      checks.push({ check: 'duplicate_region', result: 'fail', region, detail: `Region ${region} appears more than once; give one key per region.` });
      continue;
    }
    seen.add(region);
    if (!clusterRegions.includes(region)) {
      checks.push({
        check: 'region_known',
        result: 'fail',
        region,
        detail: `${cluster.name} has no region ${region} (its regions: ${clusterRegions.join(', ')}).`,
      });
      continue;
    }
    const type = input.type ?? expectedType;
    if (type !== expectedType) {
      checks.push({
        check: 'key_type',
        result: 'fail',
        region,
        detail: `Key type ${type} does not match the cluster's cloud ${cluster.cloud_provider}; CMEK on ${cluster.cloud_provider} needs ${expectedType}.`,
      });
      continue;
    }
    checks.push(...checkUriAndPrincipal(expectedType, region, input.uri, input.auth_principal));
    specs.push({ region, key_spec: { type: expectedType, uri: input.uri, auth_principal: input.auth_principal } });
  }
  if (coverAllRegions) {
    const missing = clusterRegions.filter((region) => !seen.has(region));
    checks.push(
      missing.length
        ? {
            check: 'region_coverage',
            result: 'fail',
            detail: `Missing a key for ${missing.join(', ')}: enabling needs a key for EVERY cluster region (${clusterRegions.join(', ')}).`,
          }
        : { check: 'region_coverage', result: 'pass', detail: `Every cluster region has a key (${clusterRegions.join(', ')}).` },
    );
  }
  return { specs, checks };
}

/** URI shape and location, and principal shape, for one region's key. */
export function checkUriAndPrincipal(type: KmsKeyType, region: string, uri: string, principal: string): Check[] {
  const checks: Check[] = [];
  try {
    const parsed = validateCmekKeyUri(type, uri);
    const location = kmsProvider(type).locationCheck(parsed, region);
    checks.push({ check: location.result === 'pass' ? 'key_uri' : 'key_location', result: location.result, region, detail: location.detail });
  } catch (error) {
    if (!(error instanceof KeyUriError)) throw error;
    checks.push({ check: 'key_uri', result: 'fail', region, detail: `${error.why} Fix: ${error.next}` });
  }
  const problem = principalProblem(type, principal);
  checks.push(
    problem
      ? { check: 'auth_principal', result: 'fail', region, detail: problem }
      : { check: 'auth_principal', result: 'pass', region, detail: 'auth_principal has the expected shape.' },
  );
  return checks;
}

/** Throws an OperatorError listing every failed check, if any. */
export function refuseOnFailures(checks: readonly Check[], what: string, next: string): void {
  const failed = checks.filter((check) => check.result === 'fail');
  if (failed.length === 0) return;
  const lines = failed.map((check) => `- ${check.region ? `${check.region}: ` : ''}${check.detail}`);
  throw new OperatorError(what, `Nothing was sent to CockroachDB Cloud. ${failed.length} check(s) failed:\n${lines.join('\n')}`, next, {
    auditOutcome: 'refused',
    checks: failed,
  });
}
