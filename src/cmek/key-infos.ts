/**
 * Reading `key_infos`: which key a region uses now and which it used before. The API returns
 * current AND past keys in one list without marking the current one. The current key is the most
 * recently updated key that is not DISABLED (a key being rotated to, or whose rotation failed,
 * counts: it is what the region is set to); past keys are all the others, still needed to read
 * data written under them.
 */
import type { CmekClusterInfo, CmekKeyInfo, CmekRegionInfo, CmekStatus } from '../cloud/schemas.js';
import { FAILED_STATUSES } from '../cloud/schemas.js';

function time(iso: string | undefined): number {
  const at = Date.parse(iso ?? '');
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
}

/** key_infos most recently updated first (then newest created, then later in the list). */
function byRecency(region: CmekRegionInfo): CmekKeyInfo[] {
  return (region.key_infos ?? [])
    .map((info, index) => ({ info, index }))
    .sort(
      (a, b) =>
        time(b.info.updated_at ?? b.info.created_at) - time(a.info.updated_at ?? a.info.created_at) ||
        time(b.info.created_at) - time(a.info.created_at) ||
        b.index - a.index,
    )
    .map(({ info }) => info);
}

/** The region's current key (see the module comment). */
export function currentKey(region: CmekRegionInfo): CmekKeyInfo | undefined {
  const keys = byRecency(region);
  return keys.find((key) => key.status !== 'DISABLED') ?? keys[0];
}

/** Every key_info but the current one, most recent first. */
export function pastKeys(region: CmekRegionInfo): CmekKeyInfo[] {
  const current = currentKey(region);
  return byRecency(region).filter((key) => key !== current);
}

/**
 * When CockroachDB last wrapped the store key with this key: a PUT /cmek that re-wraps with the
 * same URI (a new KMS version, AWS/GCP) leaves the key_info in place and bumps its `updated_at`
 * (a new URI, e.g. an Azure version or a new key, adds a key_info). So for a key that is ENABLED,
 * `updated_at` is its last re-wrap; otherwise `created_at` (first use) is all that is known.
 * The sandbox's Cloud API emulator records rotations the same way.
 */
export function lastWrappedAt(info: CmekKeyInfo): string | undefined {
  return info.status === 'ENABLED' ? (info.updated_at ?? info.created_at) : info.created_at;
}

/** The region info for `region`, if the API reported one. */
export function regionInfo(info: CmekClusterInfo | null | undefined, region: string): CmekRegionInfo | undefined {
  return info?.region_infos?.find((candidate) => candidate.region === region);
}

/** True for ENABLING, ROTATING, REVOKING, DISABLING. */
export function isInProgress(status: CmekStatus | 'NOT_ENABLED' | undefined): boolean {
  return status === 'ENABLING' || status === 'ROTATING' || status === 'REVOKING' || status === 'DISABLING';
}

/** True for any *_FAILED status. */
export function isFailed(status: CmekStatus | 'NOT_ENABLED' | undefined): boolean {
  return status !== undefined && status !== 'NOT_ENABLED' && FAILED_STATUSES.includes(status);
}

/** Every user_message of a region's keys that reported a failure (newest first). */
export function failureMessages(region: CmekRegionInfo): string[] {
  return byRecency(region)
    .filter((key) => key.user_message && (isFailed(key.status) || isFailed(region.status)))
    .map((key) => key.user_message!);
}

/** The cluster-wide status, derived from the regions when the API leaves it out. */
export function overallStatus(info: CmekClusterInfo | null | undefined): CmekStatus | 'NOT_ENABLED' {
  if (!info) return 'NOT_ENABLED';
  if (info.status) return info.status;
  const statuses = (info.region_infos ?? []).map((region) => region.status).filter((status): status is CmekStatus => status !== undefined);
  return statuses.find(isFailed) ?? statuses.find(isInProgress) ?? statuses[0] ?? 'NOT_ENABLED';
}
