/**
 * The guided rotation: plan (rotation-plan.ts), preflight in the KMS, new key versions where
 * asked, one PUT /cmek for the chosen regions, wait, then verify each region is ENABLED on the
 * intended key. Failed regions are named with their user_message; the others are not hidden.
 */
import type { Cluster, CmekClusterInfo, CmekRegionSpec, CmekStatus } from '../cloud/schemas.js';
import { CloudApiError } from '../cloud/errors.js';
import { resolveCluster } from '../cloud/resolve-cluster.js';
import { OperatorError, errorMessage } from '../errors.js';
import { KmsError, type KmsKeyType } from '../kms/provider.js';
import { callOptions, type Check, type ClusterRef, type CmekEnv } from './context.js';
import { serialized } from './cluster-mutations.js';
import type { CmekRequest } from './enable.js';
import { existingKeySpecs, keyAccountChecks } from './key-accounts.js';
import { currentKey, failureMessages, isInProgress, overallStatus, pastKeys, regionInfo } from './key-infos.js';
import { refuseOnFailures } from './key-specs.js';
import { checkKeptKeys, checkKeysInKms, type KeptKey } from './kms-checks.js';
import { keyTypeForCloud, kmsProviderForCloud, parseKeyUri } from '../kms/providers/index.js';
import { sendOnce, waitForCmek, refuseWhileOperationRuns } from './operation.js';
import { planRotation, type RegionPlan, type RotationRequest } from './rotation-plan.js';

export interface RotateOptions {
  wait: boolean;
  dryRun: boolean;
}

export type KmsRotation = {
  uri: string;
  new_uri: string;
  new_version?: string;
  detail: string;
};

export type RegionRotation = {
  region: string;
  result: 'rotated' | 'failed' | 'skipped' | 'in_progress';
  status: CmekStatus | 'NOT_ENABLED';
  key_uri?: string;
  previous_key_uri?: string;
  user_message?: string;
  detail: string;
};

export type RotateResult = {
  cluster: ClusterRef;
  mode: RotationRequest['mode'];
  outcome: 'dry_run' | 'rotated' | 'partial' | 'failed' | 'in_progress' | 'nothing_to_do';
  plan: RegionPlan[];
  request?: CmekRequest;
  kms_rotations: KmsRotation[];
  checks: Check[];
  regions: RegionRotation[];
  old_keys_notice: string;
  next_step: string;
  /** An identical rotation was already running in this server: this is its result, and no second rotation was started. */
  joined?: boolean;
};

const OLD_KEYS_NOTICE =
  'Keep every previous key enabled: data written under it still needs it, and past keys stay in key_infos. Never disable, revoke or schedule deletion of an old key until the rotation is verified in every region (get_cmek_status), and even then check the KMS audit log for recent use first.';

/** Plans, checks and (unless dry_run) performs a rotation. */
export async function rotateCmek(env: CmekEnv, clusterRef: string, request: RotationRequest, options: RotateOptions): Promise<RotateResult> {
  const cluster = await resolveCluster(env.cloud, clusterRef, callOptions(env));
  // A concurrent identical request gets this one's result instead of a second KMS rotation.
  return serialized(env, cluster, ['rotate_cmek', request, options], options.dryRun, () => rotateResolved(env, cluster, request, options));
}

async function rotateResolved(env: CmekEnv, cluster: Cluster, request: RotationRequest, options: RotateOptions): Promise<RotateResult> {
  const call = callOptions(env);
  const ref = { id: cluster.id, name: cluster.name };
  const before = await env.cloud.getCmek(cluster.id, call);
  const type = keyTypeForCloud(cluster.cloud_provider);
  const plan = planRotation(cluster, before, request);
  refuseWhileOperationRuns(cluster, 'rotate_cmek');
  const fix = 'fix the request as listed and run rotate_cmek again.';
  refuseOnFailures(plan.checks, `rotate_cmek refused for ${cluster.name}`, fix);

  const active = plan.regions.filter((region) => region.action !== 'skip');
  const checks = [...plan.checks];
  const base = { cluster: ref, mode: request.mode, plan: plan.regions, checks, old_keys_notice: OLD_KEYS_NOTICE };
  if (active.length === 0) {
    const next = 'Every chosen region already uses the requested key; nothing was sent. Check get_cmek_status.';
    return { ...base, outcome: 'nothing_to_do', kms_rotations: [], regions: skippedOnly(plan.regions), next_step: next };
  }
  // Azure new_version targets are unknown until the KMS rotation: check the current version instead.
  checks.push(
    ...(await checkKeysInKms(
      env,
      active.map((region) => spec(region, type, region.target_uri ?? region.from_uri!)),
    )),
  );
  principalRefusal(cluster, request, active, checks);
  const targets = active.filter((region) => region.target_uri && region.auth_principal).map((region) => spec(region, type, region.target_uri!));
  checks.push(...keyAccountChecks(type, existingKeySpecs(before, type), targets));
  refuseOnFailures(checks, `rotate_cmek refused for ${cluster.name}`, fix);
  checks.push(...(await checkKeptKeys(env, keptKeys(before, active, type))));

  const body = (uris: Map<string, string>) => ({
    region_specs: active.map((region) => spec(region, type, region.target_uri ?? uris.get(region.region) ?? `<new version of ${region.from_uri}>`)),
  });
  const path = `/api/v1/clusters/${cluster.id}/cmek`;
  if (options.dryRun) {
    const kmsWork = active.filter((region) => region.kms_rotation).map((region) => region.from_uri!);
    const next = `Run rotate_cmek again without dry_run to ${kmsWork.length ? `create a new key version of ${[...new Set(kmsWork)].join(', ')} and ` : ''}send this PUT.`;
    return { ...base, outcome: 'dry_run', request: { method: 'PUT', path, body: body(new Map()) }, kms_rotations: [], regions: [], next_step: next };
  }

  const kmsRotations = await rotateInKms(env, cluster, type, active);
  const newUris = new Map<string, string>();
  for (const region of active) {
    const rotation = kmsRotations.find((entry) => region.kms_rotation && entry.uri === region.from_uri);
    if (rotation) newUris.set(region.region, rotation.new_uri);
  }
  const requestBody = body(newUris);
  const specs = requestBody.region_specs;
  const targetOf = new Map(specs.map((entry) => [entry.region, entry.key_spec.uri]));

  let accepted: CmekClusterInfo;
  try {
    accepted = await sendOnce(
      ref,
      'rotation',
      [...targetOf.keys()],
      () => env.cloud.updateCmek(cluster.id, specs, call),
      (observed) => putWasApplied(observed, before, targetOf),
    );
  } catch (error) {
    if (error instanceof CloudApiError && !error.ambiguous && kmsRotations.length) {
      throw new OperatorError(
        error.what,
        `${error.why} The KMS already made new versions (${kmsRotations.map((entry) => entry.new_uri).join(', ')}); that is harmless, old versions stay usable.`,
        error.next,
        error.details,
      );
    }
    throw error;
  }
  const final = options.wait ? await waitForCmek(env, ref, 'rotation') : accepted;
  const regions = [...verifyRegions(final, before, active, targetOf), ...skippedOnly(plan.regions)];
  const outcome = overall(regions);
  const next = nextStep(ref, request, outcome, regions);
  return { ...base, outcome, request: { method: 'PUT', path, body: requestBody }, kms_rotations: kmsRotations, regions, next_step: next };
}

/**
 * new_key without auth_principal uses the current key's principal; when the new key does not grant
 * it, the new key was provisioned for another principal: say to pass the one from
 * provision_cmek_key's region_specs (its default for this cluster when it can be derived).
 */
function principalRefusal(cluster: Cluster, request: RotationRequest, active: readonly RegionPlan[], checks: readonly Check[]): void {
  if (request.mode !== 'new_key' || request.authPrincipal) return;
  const denied = checks.filter((check) => check.check === 'key_access' && check.result === 'fail');
  if (denied.length === 0) return;
  const current = [...new Set(active.map((region) => region.auth_principal).filter(Boolean))].join(', ');
  const candidate = provisionedPrincipal(cluster, active);
  const lines = denied.map((check) => `- ${check.region}: ${check.detail}`);
  const retry = {
    tool: 'rotate_cmek',
    arguments: {
      cluster: cluster.name,
      mode: 'new_key',
      new_keys: request.newKeys ?? {},
      ...(request.regions ? { regions: request.regions } : {}),
      ...(candidate ? { auth_principal: candidate } : {}),
    },
    why: 'rotate with the principal the new keys were provisioned for',
    ...(candidate ? {} : { needs: { auth_principal: "the auth_principal of provision_cmek_key's region_specs for these keys" } }),
  };
  throw new OperatorError(
    `rotate_cmek refused for ${cluster.name}`,
    `Nothing was sent to CockroachDB Cloud. Without auth_principal the rotation uses the current key's principal (${current}), which the new key does not grant:\n${lines.join('\n')}`,
    `pass auth_principal from its region_specs (the principal provision_cmek_key granted the new keys${candidate ? `; with its defaults that is ${candidate}` : ''}) and run rotate_cmek again.`,
    { auditOutcome: 'refused', checks: denied, next_actions: [retry] },
  );
}

/** The principal provision_cmek_key grants by default for this cluster, derived from the new key's URI (AWS account, GCP project). */
function provisionedPrincipal(cluster: Cluster, active: readonly RegionPlan[]): string | undefined {
  const uri = active.find((region) => region.target_uri)?.target_uri;
  if (!uri) return undefined;
  try {
    const parsed = parseKeyUri(keyTypeForCloud(cluster.cloud_provider), uri);
    const placement = parsed.type === 'AWS_KMS' ? { awsAccountId: parsed.account } : parsed.type === 'GCP_CLOUD_KMS' ? { gcpProject: parsed.project } : {};
    return kmsProviderForCloud(cluster.cloud_provider).provisioning.defaultPrincipal(cluster.name, placement);
  } catch {
    return undefined;
  }
}

function spec(region: RegionPlan, type: KmsKeyType, uri: string): CmekRegionSpec {
  return { region: region.region, key_spec: { type, uri, auth_principal: region.auth_principal! } };
}

function keptKeys(info: CmekClusterInfo | null, active: readonly RegionPlan[], type: KmsKeyType): KeptKey[] {
  return active.flatMap((plan) => {
    const found = regionInfo(info, plan.region);
    if (!found) return [];
    const keys = [currentKey(found), ...pastKeys(found)].filter((key) => key?.spec?.uri && key.spec.uri !== plan.target_uri);
    return keys.map((key) => ({ region: plan.region, type: (key!.spec!.type as KmsKeyType | undefined) ?? type, uri: key!.spec!.uri! }));
  });
}

/** One KMS rotation per distinct key; stops at the first failure, before any PUT. */
async function rotateInKms(env: CmekEnv, cluster: Cluster, type: KmsKeyType, active: readonly RegionPlan[]): Promise<KmsRotation[]> {
  const uris = [...new Set(active.filter((region) => region.kms_rotation).map((region) => region.from_uri!))];
  if (uris.length === 0) return [];
  const done: KmsRotation[] = [];
  for (const uri of uris) {
    try {
      const provider = await env.kms.get(type);
      const rotated = await provider.rotateKey(uri, env.signal);
      done.push({ uri, new_uri: rotated.uri, ...(rotated.newVersion ? { new_version: rotated.newVersion } : {}), detail: rotated.detail });
      await env.progress(0, undefined, `new KMS version of ${uri}`);
    } catch (error) {
      if (env.signal.aborted) throw error;
      const made = done.length ? `; new versions already made (harmless, old versions stay usable): ${done.map((entry) => entry.uri).join(', ')}` : '';
      if (error instanceof KmsError && error.kind === 'limit_reached')
        throw rotateToNewKey(cluster, active, uri, `${error.message} Nothing was sent to CockroachDB Cloud${made}.`);
      throw new OperatorError(
        `KMS rotation of ${uri} failed`,
        `${errorMessage(error)}. Nothing was sent to CockroachDB Cloud${made}.`,
        'fix the KMS permission or key state named above, then run rotate_cmek again.',
        { auditOutcome: 'failed' },
      );
    }
  }
  return done;
}

/** The key cannot be rotated in place any more: provision a new key for its regions, then rotate to it. */
function rotateToNewKey(cluster: Cluster, active: readonly RegionPlan[], uri: string, why: string): OperatorError {
  const regions = active.filter((region) => region.from_uri === uri).map((region) => region.region);
  const principal = active.find((region) => region.from_uri === uri)?.auth_principal;
  const keyName = `${cluster.name}-cmek-${new Date().toISOString().slice(0, 10)}`.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 63);
  return new OperatorError(
    `KMS rotation of ${uri} refused`,
    why,
    `provision a new key for ${regions.join(', ')} with provision_cmek_key, then rotate_cmek mode new_key with its region_specs' URIs.`,
    {
      auditOutcome: 'refused',
      next_actions: [
        {
          tool: 'provision_cmek_key',
          arguments: { cluster: cluster.name, key_name: keyName, regions, ...(principal ? { auth_principal: principal } : {}), dry_run: true },
          why: `see the new key ${uri} can be replaced with, granted to the same principal`,
        },
        {
          tool: 'rotate_cmek',
          arguments: { cluster: cluster.name, mode: 'new_key', regions, dry_run: true },
          why: 'rotate those regions to the new key once it exists',
          needs: { new_keys: "region -> the new key's URI, from provision_cmek_key's region_specs" },
        },
      ],
    },
  );
}

/** Whether GET /cmek after an ambiguous PUT shows the rotation was accepted. */
function putWasApplied(observed: CmekClusterInfo | null | undefined, before: CmekClusterInfo | null, targets: Map<string, string>): boolean {
  if (!observed) return false;
  return [...targets].every(([region, uri]) => {
    const now = regionInfo(observed, region);
    if (!now) return false;
    if (isInProgress(now.status)) return true;
    const previous = regionInfo(before, region);
    const key = currentKey(now);
    const changed = key?.spec?.uri === uri && (previous ? currentKey(previous)?.spec?.uri !== uri || stamp(currentKey(previous)) < stamp(key) : true);
    return now.status === 'ENABLED' && changed;
  });
}

function stamp(key: { created_at?: string; updated_at?: string } | undefined): number {
  const at = Date.parse(key?.updated_at ?? key?.created_at ?? '');
  return Number.isNaN(at) ? 0 : at;
}

function verifyRegions(info: CmekClusterInfo, before: CmekClusterInfo | null, active: readonly RegionPlan[], targets: Map<string, string>): RegionRotation[] {
  return active.map((plan) => {
    const target = targets.get(plan.region)!;
    const found = regionInfo(info, plan.region);
    const key = found ? currentKey(found) : undefined;
    const status = found?.status ?? overallStatus(info);
    const common = {
      region: plan.region,
      status,
      ...(key?.spec?.uri ? { key_uri: key.spec.uri } : {}),
      ...(plan.from_uri ? { previous_key_uri: plan.from_uri } : {}),
    };
    if (isInProgress(status)) return { ...common, result: 'in_progress' as const, detail: `Still ${status}; follow with get_cmek_status.` };
    if (status === 'ENABLED' && key?.spec?.uri === target) {
      const previous = regionInfo(before, plan.region);
      const same = plan.from_uri === target;
      const evidence =
        same && previous && stamp(key) <= stamp(currentKey(previous))
          ? ' (same URI; the API shows no newer key_info timestamp, so confirm in get_cmek_status)'
          : '';
      return { ...common, result: 'rotated' as const, detail: `ENABLED on ${same ? 'a new version of ' : ''}the intended key${evidence}.` };
    }
    const message = found ? failureMessages(found)[0] : undefined;
    return {
      ...common,
      result: 'failed' as const,
      ...(message ? { user_message: message } : {}),
      detail:
        status === 'ENABLED'
          ? `ENABLED, but on ${key?.spec?.uri ?? 'an unknown key'} instead of ${target}.`
          : `${status}${message ? `: ${message}` : ' (no user_message given)'}`,
    };
  });
}

function skippedOnly(plan: readonly RegionPlan[]): RegionRotation[] {
  return plan
    .filter((region) => region.action === 'skip')
    .map((region) => ({
      region: region.region,
      result: 'skipped' as const,
      status: region.status_before,
      ...(region.target_uri ? { key_uri: region.target_uri } : {}),
      detail: region.reason,
    }));
}

function overall(regions: readonly RegionRotation[]): RotateResult['outcome'] {
  const worked = regions.filter((region) => region.result !== 'skipped');
  if (worked.some((region) => region.result === 'in_progress')) return 'in_progress';
  const failed = worked.filter((region) => region.result === 'failed').length;
  if (failed === 0) return 'rotated';
  return failed === worked.length ? 'failed' : 'partial';
}

function nextStep(cluster: ClusterRef, request: RotationRequest, outcome: RotateResult['outcome'], regions: readonly RegionRotation[]): string {
  const failed = regions.filter((region) => region.result === 'failed');
  switch (outcome) {
    case 'rotated':
      return `Rotation verified in ${regions.map((region) => region.region).join(', ')}. Confirm with get_cmek_status ${cluster.name}. ${OLD_KEYS_NOTICE}`;
    case 'in_progress':
      return `The PUT was accepted; follow it with get_cmek_status ${cluster.name} and do not send another rotation meanwhile.`;
    default:
      return `Rotation failed in ${failed.map((region) => region.region).join(', ')}: fix the KMS key or IAM grant its user_message names, then re-run rotate_cmek ${cluster.name} mode ${request.mode}${
        request.mode === 'new_key' ? ' with the same new_keys' : ''
      }: it resumes only the failed regions. ${OLD_KEYS_NOTICE}`;
  }
}
