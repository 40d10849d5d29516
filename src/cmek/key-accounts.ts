/**
 * Where new keys and principals live compared with the cluster's existing keys: a key in another
 * AWS account, GCP project or Key Vault, or a principal in another account, project or Microsoft
 * Entra tenant, is allowed but easy to get wrong (a caller-chosen principal in a foreign account
 * is how access leaks), so it is a warning in the dry run and in the result, never a refusal.
 */
import type { CmekClusterInfo, CmekRegionSpec } from '../cloud/schemas.js';
import { kmsProvider } from '../kms/providers/index.js';
import type { KmsKeyType } from '../kms/provider.js';
import type { Check } from './context.js';
import { currentKey, pastKeys } from './key-infos.js';

interface Homes {
  keys: Set<string>;
  principals: Set<string>;
}

function homesOf(type: KmsKeyType, specs: ReadonlyArray<{ uri: string; auth_principal: string }>): Homes {
  const profile = kmsProvider(type);
  const homes: Homes = { keys: new Set(), principals: new Set() };
  for (const spec of specs) {
    try {
      homes.keys.add(profile.keyAccount(profile.parseUri(spec.uri)));
    } catch {
      // A malformed URI is reported by the URI check; it has no account to compare.
    }
    const principal = profile.principalAccount(spec.auth_principal);
    if (principal) homes.principals.add(principal);
  }
  return homes;
}

/** The key specs a cluster uses or used (current and past keys of every region). */
export function existingKeySpecs(info: CmekClusterInfo | null, type: KmsKeyType): Array<{ uri: string; auth_principal: string }> {
  return (info?.region_infos ?? []).flatMap((region) =>
    [currentKey(region), ...pastKeys(region)].flatMap((key) =>
      key?.spec?.uri && key.spec.auth_principal && (key.spec.type ?? type) === type ? [{ uri: key.spec.uri, auth_principal: key.spec.auth_principal }] : [],
    ),
  );
}

const list = (values: Iterable<string>) => [...values].sort().join(', ');

/**
 * Warns for each proposed key or principal outside the homes of the cluster's existing keys; with
 * no existing keys (first enable), warns when the proposed specs disagree among themselves.
 */
export function keyAccountChecks(
  type: KmsKeyType,
  existing: ReadonlyArray<{ uri: string; auth_principal: string }>,
  proposed: readonly CmekRegionSpec[],
): Check[] {
  if (proposed.length === 0) return [];
  const names = kmsProvider(type).accountNames;
  const specs = proposed.map((spec) => ({ region: spec.region, uri: spec.key_spec.uri, auth_principal: spec.key_spec.auth_principal }));
  const known = homesOf(type, existing);
  const reference = existing.length ? known : homesOf(type, specs);
  const against = existing.length ? "the cluster's existing keys" : 'the other keys of this request';
  const checks: Check[] = [];
  for (const spec of specs) {
    const mine = homesOf(type, [spec]);
    const [key] = mine.keys;
    const [principal] = mine.principals;
    const keyElsewhere = key !== undefined && reference.keys.size > 0 && (existing.length ? !reference.keys.has(key) : reference.keys.size > 1);
    const principalElsewhere =
      principal !== undefined && reference.principals.size > 0 && (existing.length ? !reference.principals.has(principal) : reference.principals.size > 1);
    if (keyElsewhere) {
      checks.push({
        check: 'key_account',
        result: 'warn',
        region: spec.region,
        detail: `The key ${spec.uri} is in ${names.key} ${key}, unlike ${against} (${names.key} ${list(reference.keys)}). Allowed, but confirm that ${key} is yours and is where this cluster's keys should live.`,
      });
    }
    if (principalElsewhere) {
      checks.push({
        check: 'principal_account',
        result: 'warn',
        region: spec.region,
        detail: `The auth_principal ${spec.auth_principal} is in ${names.principal} ${principal}, unlike ${against} (${names.principal} ${list(reference.principals)}). CockroachDB will use whatever this principal can reach: confirm it is yours and meant for this cluster.`,
      });
    }
  }
  if (checks.length === 0 && reference.keys.size > 0) {
    const principals = reference.principals.size ? `; principals in ${names.principal} ${list(reference.principals)}` : '';
    checks.push({
      check: 'key_account',
      result: 'pass',
      detail: `Keys in ${names.key} ${list(reference.keys)}${principals}, as ${existing.length ? "the cluster's existing keys" : 'given'}.`,
    });
  }
  return checks;
}
