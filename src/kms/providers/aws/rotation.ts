/**
 * AWS on-demand rotation as CMEK needs it. RotateKeyOnDemand only STARTS a rotation: KMS makes
 * the new key material in the background, and GetKeyRotationStatus shows
 * OnDemandRotationStartDate until it is in place. A PUT /cmek sent before then re-wraps with the
 * old material, so this waits. Each key allows 25 on-demand rotations; a multi-Region key rotates
 * through its primary (AWS refuses a replica) and the replicas share the new material.
 */
import { sleep } from '../../../abort.js';
import { KmsError, type KeyRotationResult } from '../../provider.js';
import type { AwsKmsApi } from './api.js';
import type { AwsKeyUri } from './key-uri.js';

/** On-demand rotations AWS KMS allows per key (AWS raised it from 10 to 25). */
export const ON_DEMAND_ROTATIONS_PER_KEY = 25;

export interface OnDemandRotationTiming {
  /** Between two GetKeyRotationStatus calls (default 2 000 ms). */
  pollMs?: number;
  /** How long to wait for the new material before giving up (default 10 minutes). */
  waitMs?: number;
}

interface RotationTarget {
  arn: string;
  region: string;
  /** Set when the CMEK key is a multi-Region replica rotated through this primary. */
  replicaOf?: string;
}

const statusCommand = (target: RotationTarget) => `aws kms get-key-rotation-status --key-id ${target.arn} --region ${target.region}`;

/** Rotates the key (through its primary when it is a replica) and returns once the new material is in place. */
export async function rotateOnDemand(api: AwsKmsApi, key: AwsKeyUri, timing: OnDemandRotationTiming, signal?: AbortSignal): Promise<KeyRotationResult> {
  const target = await rotationTarget(api, key, signal);
  const already = await inProgressSince(api, target, signal);
  let used: number | undefined;
  if (!already) {
    used = await onDemandRotationsUsed(api, target, signal);
    if (used !== undefined && used >= ON_DEMAND_ROTATIONS_PER_KEY) throw exhausted(target, `${used} of ${ON_DEMAND_ROTATIONS_PER_KEY} used (ListKeyRotations)`);
    await start(api, target, signal);
  }
  const started = already ?? new Date();
  await waitUntilDone(api, target, started, timing, signal);
  const through = target.replicaOf ? ` through its primary ${target.arn} (a replica cannot be rotated itself; it shares the primary's new material)` : '';
  const count = used === undefined ? '' : ` This was on-demand rotation ${used + 1} of ${ON_DEMAND_ROTATIONS_PER_KEY} for this key.`;
  const joined = already
    ? ` An on-demand rotation started at ${already.toISOString()} was already in progress; this waited for it instead of starting another.`
    : '';
  return {
    uri: key.arn,
    detail:
      `AWS KMS rotated ${target.replicaOf ?? target.arn} on demand${through}: the new key material is in place (GetKeyRotationStatus shows no rotation in progress); earlier material stays available to decrypt old data.${joined}${count} ` +
      `CockroachDB does not pick it up by itself: PUT /cmek with the same URI for each region using the key (rotate_cmek does).`,
  };
}

/** The key to call RotateKeyOnDemand on: the key itself, or the primary of a multi-Region replica. */
async function rotationTarget(api: AwsKmsApi, key: AwsKeyUri, signal?: AbortSignal): Promise<RotationTarget> {
  const meta = await api.describeKey(key.region, key.arn, signal);
  const multiRegion = meta.MultiRegionConfiguration;
  const primary = multiRegion?.MultiRegionKeyType === 'REPLICA' ? multiRegion.PrimaryKey : undefined;
  if (primary?.Arn && primary.Region) return { arn: primary.Arn, region: primary.Region, replicaOf: meta.Arn! };
  return { arn: meta.Arn!, region: key.region };
}

async function inProgressSince(api: AwsKmsApi, target: RotationTarget, signal?: AbortSignal): Promise<Date | undefined> {
  return (await api.getKeyRotationStatus(target.region, target.arn, signal)).OnDemandRotationStartDate;
}

/** Completed on-demand rotations, or undefined when this identity may not list them (the limit is then enforced by AWS). */
async function onDemandRotationsUsed(api: AwsKmsApi, target: RotationTarget, signal?: AbortSignal): Promise<number | undefined> {
  try {
    return await api.countOnDemandRotations(target.region, target.arn, signal);
  } catch (error) {
    if (error instanceof KmsError && error.kind === 'access_denied') return undefined;
    throw error;
  }
}

async function start(api: AwsKmsApi, target: RotationTarget, signal?: AbortSignal): Promise<void> {
  try {
    await api.rotateKeyOnDemand(target.region, target.arn, signal);
  } catch (error) {
    if (!(error instanceof KmsError)) throw error;
    if (error.kind === 'limit_reached') throw exhausted(target, error.message, error);
    if (error.providerCode === 'ConflictException') {
      throw new KmsError(
        'conflict',
        `AWS KMS refused to start an on-demand rotation of ${target.arn}: a rotation is in progress or an automatic one starts within 20 minutes. Nothing was sent to CockroachDB Cloud; wait about 20 minutes and run the rotation again. (${error.message})`,
        error.providerCode,
        error.requestId,
      );
    }
    if (error.kind === 'unavailable') {
      error.message += ` The rotation may have started anyway: check "${statusCommand(target)}" (an OnDemandRotationStartDate means it did) before retrying; a retry while it runs waits for it instead of spending another of the ${ON_DEMAND_ROTATIONS_PER_KEY} on-demand rotations.`;
    }
    throw error;
  }
}

async function waitUntilDone(api: AwsKmsApi, target: RotationTarget, started: Date, timing: OnDemandRotationTiming, signal?: AbortSignal): Promise<void> {
  const pollMs = timing.pollMs ?? 2_000;
  const waitMs = timing.waitMs ?? 600_000;
  const deadline = Date.now() + waitMs;
  for (;;) {
    await sleep(pollMs, signal);
    if (!(await inProgressSince(api, target, signal))) return;
    if (Date.now() >= deadline) {
      throw new KmsError(
        'unavailable',
        `The on-demand rotation of ${target.arn} started at ${started.toISOString()} is still in progress after ${Math.round(waitMs / 1000)} s, so nothing was sent to CockroachDB Cloud (a PUT now would keep the old key material). ` +
          `When "${statusCommand(target)}" no longer shows OnDemandRotationStartDate, run rotate_cmek again; while AWS still shows the rotation in progress, the re-run waits for it instead of starting another.`,
        'RotationInProgress',
      );
    }
  }
}

function exhausted(target: RotationTarget, evidence: string, cause?: KmsError): KmsError {
  return new KmsError(
    'limit_reached',
    `Key ${target.arn} has used all ${ON_DEMAND_ROTATIONS_PER_KEY} on-demand rotations AWS KMS allows per key (${evidence}), so it cannot be rotated in place again; nothing was rotated or sent to CockroachDB Cloud. ` +
      "Rotate to a new key instead: provision a new key granted to CockroachDB's role (provision_cmek_key), then rotate_cmek mode new_key with its ARN. Keep this key enabled: data written under it still needs it.",
    cause?.providerCode ?? 'LimitExceededException',
    cause?.requestId,
  );
}
