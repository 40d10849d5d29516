/**
 * Provisioning an AWS KMS key for CMEK, idempotently: find the key by alias in the region or create
 * it (symmetric ENCRYPT_DECRYPT, optionally multi-Region) with a key policy granting CockroachDB's
 * role exactly the CMEK actions, alias it, turn on automatic rotation. The IAM role itself is left
 * to the operator, as a ready trust policy and CLI commands.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import type { AwsKmsApi } from './api.js';
import { CMEK_ACTIONS, CMEK_STATEMENT_SID, cmekKeyPolicy, cmekRoleTrustPolicy, evaluateCmekGrant, parseKeyPolicy, withCmekStatement } from './policy.js';
import { KmsError, type ProvisionAction, type ProvisionKeyRequest, type ProvisionKeyResult } from '../../provider.js';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;
const ALIAS_NAME = /^[a-zA-Z0-9/_-]{1,250}$/;

interface RoleRef {
  arn: string;
  partition: string;
  account: string;
  path: string;
  name: string;
}

function invalid(message: string): KmsError {
  return new KmsError('invalid', message, 'InvalidRequest');
}

function parseRole(arn: string): RoleRef {
  const match = ROLE_ARN.exec(arn);
  if (!match) throw invalid(`auth_principal "${arn}" is not an IAM role ARN; CockroachDB Cloud assumes a role: arn:aws:iam::<account>:role/<name>.`);
  const [, partition, account, path, name] = match as unknown as [string, string, string, string, string];
  return { arn, partition, account, path: `/${path}`, name };
}

/** The IAM role CockroachDB Cloud assumes, as a trust policy document and as CLI commands. */
export function roleSteps(role: RoleRef, request: Pick<ProvisionKeyRequest, 'clusterAccountId' | 'organizationId' | 'clusterId'>): string[] {
  const trust = JSON.stringify(cmekRoleTrustPolicy(request.clusterAccountId, request.organizationId, role.partition));
  const path = role.path === '/' ? '' : ` --path ${role.path}`;
  return [
    `IAM role ${role.arn} must exist before CockroachDB Cloud can use the key (and before AWS accepts a key policy naming it). Check: aws iam get-role --role-name ${role.name}. ` +
      `Trust policy (cluster account ${request.clusterAccountId}, External ID = organization id ${request.organizationId}): ${trust}`,
    `Create it if missing: aws iam create-role --role-name ${role.name}${path} --description "CockroachDB Cloud CMEK for cluster ${request.clusterId}" --assume-role-policy-document '${trust}'` +
      ' (no IAM permissions policy is needed: the key policy grants the role directly).',
  ];
}

function validate(request: ProvisionKeyRequest): { role: RoleRef; alias: string } {
  if (!REGION.test(request.location)) throw invalid(`"${request.location}" is not an AWS region code such as us-east-1; use the cluster region.`);
  if (!ACCOUNT.test(request.container)) throw invalid(`"${request.container}" is not a 12-digit AWS account id; pass the account that will hold the key.`);
  if (!ACCOUNT.test(request.clusterAccountId))
    throw invalid(`Cluster account_id "${request.clusterAccountId}" is not a 12-digit AWS account id; is this an AWS cluster?`);
  if (!request.organizationId) throw invalid('The CockroachDB Cloud organization id is needed as the External ID of the IAM role trust policy.');
  const period = request.rotationPeriodDays;
  if (period !== undefined && (!Number.isInteger(period) || period < 90 || period > 2560)) {
    throw invalid(`AWS KMS rotation periods are 90 to 2560 days; got ${period}.`);
  }
  const name = request.keyName.startsWith('alias/') ? request.keyName.slice('alias/'.length) : request.keyName;
  if (!ALIAS_NAME.test(name) || name.startsWith('aws/')) {
    throw invalid(`Key name "${request.keyName}" cannot be an AWS KMS alias: use 1-250 letters, digits, "/", "_" or "-", not starting with "aws/".`);
  }
  return { role: parseRole(request.authPrincipal), alias: `alias/${name}` };
}

async function findByAlias(api: AwsKmsApi, region: string, alias: string, signal?: AbortSignal): Promise<KeyMetadata | undefined> {
  try {
    return await api.describeKey(region, alias, signal);
  } catch (error) {
    if (error instanceof KmsError && error.kind === 'not_found') return undefined;
    throw error;
  }
}

async function reconcileExisting(
  api: AwsKmsApi,
  request: ProvisionKeyRequest,
  role: RoleRef,
  key: KeyMetadata,
  result: ProvisionKeyResult,
  signal?: AbortSignal,
): Promise<void> {
  const region = request.location;
  const arn = key.Arn!;
  const { actions, warnings, manualSteps } = result;
  if (key.AWSAccountId !== request.container) {
    throw invalid(
      `The alias in ${region} belongs to account ${key.AWSAccountId}, but the key should live in ${request.container}; run with credentials for account ${request.container}.`,
    );
  }
  if (key.KeySpec !== 'SYMMETRIC_DEFAULT' || key.KeyUsage !== 'ENCRYPT_DECRYPT') {
    throw new KmsError(
      'conflict',
      `Key ${arn} (found by its alias) is ${key.KeySpec}/${key.KeyUsage}; CMEK needs a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key. Choose another key name.`,
      'UnsuitableKey',
    );
  }
  if (key.KeyState === 'PendingDeletion') {
    throw new KmsError(
      'conflict',
      `Key ${arn} (found by its alias) is pending deletion until ${key.DeletionDate?.toISOString()}. Cancel it (aws kms cancel-key-deletion --key-id ${arn} --region ${region}, then aws kms enable-key) or choose another key name.`,
      'KMSInvalidStateException',
    );
  }
  actions.push({ action: 'reused', resource: arn, detail: `existing key found by its alias (${key.KeyState})` });
  if (key.KeyState === 'Disabled') {
    warnings.push(`Key ${arn} is Disabled; CockroachDB cannot use it until it is enabled. It may have been disabled on purpose: check before enabling.`);
    manualSteps.push(`If the key should be used: aws kms enable-key --key-id ${arn} --region ${region}`);
  }
  if (Boolean(request.multiRegion) !== Boolean(key.MultiRegion)) {
    warnings.push(
      `Key ${arn} is ${key.MultiRegion ? '' : 'not '}multi-Region, unlike what was asked; choose another key name for a ${request.multiRegion ? 'multi-Region' : 'single-Region'} key.`,
    );
  }
  let policyText: string | undefined;
  try {
    policyText = await api.getKeyPolicy(region, arn, signal);
  } catch (error) {
    if (!(error instanceof KmsError && error.kind === 'access_denied')) throw error;
    warnings.push(`Could not read the key policy of ${arn} (${error.providerCode}); whether ${role.arn} is granted was not verified.`);
    manualSteps.push(`Make sure the key policy of ${arn} allows ${role.arn}: ${CMEK_ACTIONS.join(', ')}.`);
  }
  if (policyText !== undefined) {
    const policy = parseKeyPolicy(policyText);
    const grant = evaluateCmekGrant(policy, role.arn);
    for (const broad of grant.broader) warnings.push(`Key policy of ${arn} is broader than CMEK needs: ${broad}.`);
    if (grant.missing.length === 0) {
      actions.push({ action: 'reused', resource: `${arn} key policy`, detail: `already allows ${role.arn} the CMEK actions` });
    } else {
      const updated = JSON.stringify(withCmekStatement(policy, role.arn));
      const detail = `add statement ${CMEK_STATEMENT_SID} granting ${role.arn} ${grant.missing.join(', ')} (missing); PutKeyPolicy ${updated}`;
      if (request.dryRun) actions.push({ action: 'would_update', resource: `${arn} key policy`, detail });
      else {
        await api.putKeyPolicy(region, arn, updated, signal);
        actions.push({
          action: 'updated',
          resource: `${arn} key policy`,
          detail: `granted ${role.arn} ${grant.missing.join(', ')} (statement ${CMEK_STATEMENT_SID})`,
        });
      }
    }
  }
  if (key.KeyState !== 'Enabled') return;
  const rotation = await api.getKeyRotationStatus(region, arn, signal);
  const period = request.rotationPeriodDays;
  if (rotation.KeyRotationEnabled && (period === undefined || rotation.RotationPeriodInDays === period)) {
    actions.push({ action: 'reused', resource: `${arn} automatic rotation`, detail: `already on, every ${rotation.RotationPeriodInDays ?? 365} days` });
  } else if (request.dryRun) {
    actions.push({ action: 'would_update', resource: `${arn} automatic rotation`, detail: `EnableKeyRotation every ${period ?? 365} days` });
  } else {
    await api.enableKeyRotation(region, arn, period, signal);
    actions.push({ action: 'updated', resource: `${arn} automatic rotation`, detail: `turned on, every ${period ?? 365} days` });
  }
}

async function create(
  api: AwsKmsApi,
  request: ProvisionKeyRequest,
  role: RoleRef,
  alias: string,
  result: ProvisionKeyResult,
  signal?: AbortSignal,
): Promise<void> {
  const region = request.location;
  const input = {
    Policy: JSON.stringify(cmekKeyPolicy(request.container, role.arn, role.partition)),
    Description: `CockroachDB Cloud CMEK key for cluster ${request.clusterId} (${alias})`,
    MultiRegion: Boolean(request.multiRegion),
    Tags: [
      { TagKey: 'crdb-cluster-id', TagValue: request.clusterId },
      { TagKey: 'crdb-cmek-alias', TagValue: alias },
      { TagKey: 'managed-by', TagValue: 'crdb-encryption-mcp' },
    ],
  };
  const period = request.rotationPeriodDays ?? 365;
  const kind = `symmetric ENCRYPT_DECRYPT${input.MultiRegion ? ' multi-Region' : ''} key`;
  if (request.dryRun) {
    const actions: ProvisionAction[] = [
      {
        action: 'would_create',
        resource: `${kind} in ${region}`,
        detail: `CreateKey ${JSON.stringify({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', ...input })}`,
      },
      { action: 'would_create', resource: `arn:${role.partition}:kms:${region}:${request.container}:${alias}`, detail: `CreateAlias ${alias} -> the new key` },
      { action: 'would_create', resource: `automatic rotation of the new key`, detail: `EnableKeyRotation every ${period} days` },
    ];
    result.actions.push(...actions);
    result.warnings.push(`Dry run: the key ARN is only known after creation; uri shows the alias ARN in its place.`);
    return;
  }
  let key: KeyMetadata;
  try {
    key = await api.createKey(region, input, signal);
  } catch (error) {
    if (error instanceof KmsError && error.kind === 'unavailable') {
      error.message += ` CreateKey is not idempotent and may have created a key before the failure: look for keys tagged crdb-cmek-alias=${alias} in ${region} (aws kms list-keys, aws kms list-resource-tags) and schedule deletion of any orphan before re-running.`;
    } else if (error instanceof KmsError && /invalid principals/i.test(error.message)) {
      error.message += ` The role probably does not exist yet. ${roleSteps(role, request).join(' ')}`;
    }
    throw error;
  }
  const arn = key.Arn!;
  result.uri = arn;
  result.actions.push({
    action: 'created',
    resource: arn,
    detail: `${kind}; key policy: account root administration + ${role.arn} with ${CMEK_ACTIONS.join(', ')}`,
  });
  await api.createAlias(region, alias, key.KeyId!, signal);
  result.actions.push({ action: 'created', resource: `arn:${role.partition}:kms:${region}:${request.container}:${alias}`, detail: `alias -> ${key.KeyId}` });
  await api.enableKeyRotation(region, arn, request.rotationPeriodDays, signal);
  result.actions.push({ action: 'created', resource: `${arn} automatic rotation`, detail: `every ${period} days` });
}

/** Finds or creates the CMEK key `alias/<keyName>` in the request's region; see the module comment. */
export async function provisionAwsKey(api: AwsKmsApi, request: ProvisionKeyRequest, signal?: AbortSignal): Promise<ProvisionKeyResult> {
  const { role, alias } = validate(request);
  const region = request.location;
  const result: ProvisionKeyResult = {
    uri: `arn:${role.partition}:kms:${region}:${request.container}:${alias}`,
    authPrincipal: role.arn,
    actions: [],
    manualSteps: [],
    warnings: [],
  };
  if (role.account !== request.container) {
    result.warnings.push(
      `Role ${role.arn} is in account ${role.account} but the key will be in ${request.container}; this works (the key policy names the role) but is unusual: check it is intended.`,
    );
  }
  if (request.deletionWindowDays !== undefined) {
    result.warnings.push(
      'AWS KMS sets the deletion waiting period (7-30 days) when deletion is scheduled, not at key creation; deletionWindowDays was not applied.',
    );
  }
  const existing = await findByAlias(api, region, alias, signal);
  if (existing) {
    result.uri = existing.Arn!;
    await reconcileExisting(api, request, role, existing, result, signal);
  } else {
    await create(api, request, role, alias, result, signal);
  }
  result.manualSteps.push(...roleSteps(role, request));
  return result;
}
