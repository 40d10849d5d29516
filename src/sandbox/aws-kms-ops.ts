/**
 * The AWS KMS operations the emulator answers (TrentService.<Op>), with AWS's parameter
 * validation, key-state rules and response shapes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsApiError, AwsKmsStore, DAY_MS, MAX_ON_DEMAND_ROTATIONS, page, validation, type AwsKmsKey } from './aws-kms-store.js';

type Input = Record<string, unknown>;
export type AwsOperation = (store: AwsKmsStore, region: string, input: Input) => Record<string, unknown>;

const KEY_USAGES: Record<string, string[]> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY'],
  ECC_NIST_P384: ['SIGN_VERIFY'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
};
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;
const seconds = (ms: number) => ms / 1000;

function integer(input: Input, name: string, field: string, min: number, max: number, fallback: number): number {
  const value = input[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw validation(value, field, 'Member must be an integer');
  if (value < min) throw validation(value, field, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw validation(value, field, `Member must have value less than or equal to ${max}`);
  return value;
}

function nextRotation(key: AwsKmsKey, now: number): number {
  const period = (key.rotation.periodDays ?? 365) * DAY_MS;
  const last = key.rotations.filter((r) => r.type === 'AUTOMATIC').at(-1)?.at ?? key.createdAt;
  let next = last + period;
  while (next <= now) next += period;
  return next;
}

function createKey(store: AwsKmsStore, region: string, input: Input) {
  const keySpec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
  if (typeof keySpec !== 'string' || !KEY_USAGES[keySpec]) {
    throw validation(keySpec, 'keySpec', `Member must satisfy enum value set: [${Object.keys(KEY_USAGES).join(', ')}]`);
  }
  const keyUsage = input.KeyUsage ?? KEY_USAGES[keySpec]![0]!;
  if (typeof keyUsage !== 'string' || !KEY_USAGES[keySpec]!.includes(keyUsage)) {
    throw new AwsApiError('ValidationException', `KeyUsage ${String(keyUsage)} is not compatible with KeySpec ${keySpec}.`);
  }
  if (input.Origin !== undefined && input.Origin !== 'AWS_KMS')
    throw new AwsApiError('UnsupportedOperationException', `Origin ${String(input.Origin)} is not supported by the sandbox.`);
  const description = input.Description ?? '';
  if (typeof description !== 'string' || description.length > 8192)
    throw validation(description, 'description', 'Member must have length less than or equal to 8192');
  const tags = input.Tags ?? [];
  if (
    !Array.isArray(tags) ||
    tags.some((t) => typeof t?.TagKey !== 'string' || typeof t?.TagValue !== 'string' || t.TagKey.length === 0 || t.TagKey.length > 128)
  ) {
    throw new AwsApiError('TagException', 'Tags must be a list of {TagKey (1-128 characters), TagValue} objects.');
  }
  const policy =
    input.Policy === undefined
      ? JSON.stringify({
          Version: '2012-10-17',
          Id: 'key-default-1',
          Statement: [
            { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${store.account}:root` }, Action: 'kms:*', Resource: '*' },
          ],
        })
      : (store.checkPolicy(input.Policy, input.BypassPolicyLockoutSafetyCheck), input.Policy as string);
  const multiRegion = input.MultiRegion === true;
  const id = multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
  const key: AwsKmsKey = {
    id,
    arn: store.keyArn(region, id),
    region,
    account: store.account,
    description,
    keySpec,
    keyUsage,
    multiRegion,
    state: 'Enabled',
    createdAt: store.now(),
    policy,
    tags: tags as AwsKmsKey['tags'],
    rotation: { enabled: false },
    rotations: [],
  };
  store.keys.set(key.arn, key);
  return { KeyMetadata: store.metadata(key) };
}

function createAlias(store: AwsKmsStore, region: string, input: Input) {
  const name = input.AliasName;
  if (typeof name !== 'string' || name.length === 0) throw validation(name, 'aliasName', 'Member must not be null');
  if (name.length > 256) throw validation(name, 'aliasName', 'Member must have length less than or equal to 256');
  if (!ALIAS_NAME.test(name)) throw validation(name, 'aliasName', 'Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$');
  if (name.startsWith('alias/aws/'))
    throw new AwsApiError('InvalidAliasNameException', 'Alias must not begin with alias/aws/. The alias/aws/ prefix is reserved for AWS managed keys.');
  const key = store.resolve(region, input.TargetKeyId, false);
  store.requireState(key);
  const arn = store.aliasArn(region, name);
  if (store.aliases.has(arn)) throw new AwsApiError('AlreadyExistsException', `An alias with the name ${arn} already exists`);
  const now = store.now();
  store.aliases.set(arn, { name, arn, region, targetKeyId: key.id, createdAt: now, updatedAt: now });
  return {};
}

function listAliases(store: AwsKmsStore, region: string, input: Input) {
  const target = input.KeyId === undefined ? undefined : store.resolve(region, input.KeyId, false);
  const aliases = store.aliasesIn(region).filter((alias) => !target || alias.targetKeyId === target.id);
  const managed = target ? [] : [{ AliasName: 'alias/aws/ebs', AliasArn: store.aliasArn(region, 'alias/aws/ebs') }];
  const all = [
    ...aliases.map((a) => ({
      AliasName: a.name,
      AliasArn: a.arn,
      TargetKeyId: a.targetKeyId,
      CreationDate: seconds(a.createdAt),
      LastUpdatedDate: seconds(a.updatedAt),
    })),
    ...managed,
  ];
  const { items, ...rest } = page(all, input);
  return { Aliases: items, ...rest };
}

function policyName(input: Input): void {
  if (input.PolicyName !== undefined && input.PolicyName !== 'default') {
    throw new AwsApiError('NotFoundException', `Key policy '${String(input.PolicyName)}' does not exist. The only valid policy name is 'default'.`);
  }
}

function rotationKey(store: AwsKmsStore, region: string, input: Input): AwsKmsKey {
  const key = store.resolve(region, input.KeyId, false);
  store.requireState(key, true);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new AwsApiError(
      'UnsupportedOperationException',
      `${key.arn} key usage or key spec does not support rotation: only symmetric encryption KMS keys can be rotated.`,
    );
  }
  if (key.primaryArn) {
    throw new AwsApiError(
      'UnsupportedOperationException',
      `${key.arn} is a multi-Region replica key. Rotation of multi-Region keys is managed on the primary key: call the operation on ${key.primaryArn}.`,
    );
  }
  store.settleRotation(key);
  return key;
}

function rotateKeyOnDemand(store: AwsKmsStore, region: string, input: Input) {
  const key = rotationKey(store, region, input);
  if (key.onDemand) throw new AwsApiError('ConflictException', `An on-demand rotation of ${key.arn} is already in progress.`);
  if (key.rotations.filter((r) => r.type === 'ON_DEMAND').length >= MAX_ON_DEMAND_ROTATIONS) {
    throw new AwsApiError(
      'LimitExceededException',
      `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`,
    );
  }
  const now = store.now();
  key.onDemand = { startedAt: now, completesAt: now + store.onDemandRotationMs };
  return { KeyId: key.id };
}

function replicateKey(store: AwsKmsStore, region: string, input: Input) {
  const primary = store.resolve(region, input.KeyId, false);
  store.requireState(primary);
  if (!primary.multiRegion || primary.primaryArn)
    throw new AwsApiError('UnsupportedOperationException', `${primary.arn} is not a multi-Region primary key; only a primary key can be replicated.`);
  const target = input.ReplicaRegion;
  if (typeof target !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(target))
    throw validation(target, 'replicaRegion', 'Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$');
  if (target === primary.region) throw new AwsApiError('UnsupportedOperationException', `The replica Region ${target} is the Region of the primary key.`);
  const arn = store.keyArn(target, primary.id);
  if (store.keys.has(arn)) throw new AwsApiError('AlreadyExistsException', `A replica of ${primary.arn} already exists in ${target}: ${arn}`);
  const policy = input.Policy === undefined ? primary.policy : (store.checkPolicy(input.Policy, input.BypassPolicyLockoutSafetyCheck), input.Policy as string);
  const replica: AwsKmsKey = {
    ...primary,
    arn,
    region: target,
    state: 'Enabled',
    createdAt: store.now(),
    policy,
    rotation: { enabled: false },
    rotations: [],
    primaryArn: primary.arn,
  };
  delete replica.onDemand;
  store.keys.set(arn, replica);
  return { ReplicaKeyMetadata: store.metadata(replica), ReplicaPolicy: policy, ReplicaTags: replica.tags };
}

/** Every operation the emulator answers, by X-Amz-Target operation name. */
export const AWS_OPERATIONS: Record<string, AwsOperation> = {
  CreateKey: createKey,
  DescribeKey: (store, region, input) => ({ KeyMetadata: store.metadata(store.resolve(region, input.KeyId, true)) }),
  ListKeys: (store, region, input) => {
    const { items, ...rest } = page(store.keysIn(region), input);
    return { Keys: items.map((key) => ({ KeyId: key.id, KeyArn: key.arn })), ...rest };
  },
  CreateAlias: createAlias,
  ListAliases: listAliases,
  GetKeyPolicy: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    policyName(input);
    return { Policy: key.policy, PolicyName: 'default' };
  },
  PutKeyPolicy: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    policyName(input);
    store.checkPolicy(input.Policy, input.BypassPolicyLockoutSafetyCheck);
    key.policy = input.Policy as string;
    return {};
  },
  EnableKey: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    store.requireState(key);
    key.state = 'Enabled';
    return {};
  },
  DisableKey: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    store.requireState(key);
    key.state = 'Disabled';
    return {};
  },
  EnableKeyRotation: (store, region, input) => {
    const key = rotationKey(store, region, input);
    const periodDays = integer(input, 'RotationPeriodInDays', 'rotationPeriodInDays', 90, 2560, 365);
    key.rotation = { ...key.rotation, enabled: true, periodDays };
    key.rotation.nextAt = nextRotation(key, store.now());
    return {};
  },
  DisableKeyRotation: (store, region, input) => {
    const key = rotationKey(store, region, input);
    key.rotation = { enabled: false };
    return {};
  },
  GetKeyRotationStatus: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    store.settleRotation(key);
    // A replica shares its primary's rotation state; the date is there only while a rotation runs.
    const holder = store.rotationHolder(key);
    const { enabled, periodDays, nextAt } = holder.rotation;
    return {
      KeyId: key.arn,
      KeyRotationEnabled: enabled,
      ...(enabled ? { RotationPeriodInDays: periodDays, NextRotationDate: seconds(nextAt!) } : {}),
      ...(holder.onDemand ? { OnDemandRotationStartDate: seconds(holder.onDemand.startedAt) } : {}),
    };
  },
  RotateKeyOnDemand: rotateKeyOnDemand,
  ReplicateKey: replicateKey,
  ListKeyRotations: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    store.settleRotation(key);
    const { items, ...rest } = page(store.rotationHolder(key).rotations, input);
    return { Rotations: items.map((r) => ({ KeyId: key.id, RotationDate: seconds(r.at), RotationType: r.type })), ...rest };
  },
  ScheduleKeyDeletion: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    const days = integer(input, 'PendingWindowInDays', 'pendingWindowInDays', 7, 30, 30);
    store.requireState(key);
    key.state = 'PendingDeletion';
    key.pendingWindowDays = days;
    key.deletionDate = store.now() + days * DAY_MS;
    return { KeyId: key.arn, DeletionDate: seconds(key.deletionDate), KeyState: key.state, PendingWindowInDays: days };
  },
  CancelKeyDeletion: (store, region, input) => {
    const key = store.resolve(region, input.KeyId, false);
    if (key.state !== 'PendingDeletion') throw new AwsApiError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
    key.state = 'Disabled';
    delete key.deletionDate;
    delete key.pendingWindowDays;
    return { KeyId: key.arn };
  },
};
