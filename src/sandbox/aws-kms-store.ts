/**
 * State of the AWS KMS emulator: keys and aliases per region of one account, with the lookups,
 * key-state rules and error shapes (`__type` + message) AWS KMS uses.
 */
import { allowsPolicyUpdates, parseKeyPolicy, type KeyPolicy } from '../kms/providers/aws/policy.js';

export type AwsKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** An AWS KMS error as it goes on the wire. */
export class AwsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface AwsKmsKey {
  id: string;
  arn: string;
  region: string;
  account: string;
  description: string;
  keySpec: string;
  keyUsage: string;
  multiRegion: boolean;
  state: AwsKeyState;
  createdAt: number;
  deletionDate?: number;
  pendingWindowDays?: number;
  policy: string;
  tags: Array<{ TagKey: string; TagValue: string }>;
  rotation: { enabled: boolean; periodDays?: number; nextAt?: number };
  /** Completed rotations (what ListKeyRotations lists). */
  rotations: Array<{ at: number; type: 'AUTOMATIC' | 'ON_DEMAND' }>;
  /** An on-demand rotation KMS is still performing in the background: started, and when its new material is in place. */
  onDemand?: { startedAt: number; completesAt: number };
  /** A multi-Region replica: the ARN of its primary, which holds the shared key material and rotation state. */
  primaryArn?: string;
}

export interface AwsKmsAlias {
  name: string;
  arn: string;
  region: string;
  targetKeyId: string;
  createdAt: number;
  updatedAt: number;
}

export const DAY_MS = 86_400_000;
/** On-demand rotations AWS KMS allows per key (raised from 10 to 25). */
export const MAX_ON_DEMAND_ROTATIONS = 25;
const KEY_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MRK_ID = /^mrk-[0-9a-f]{32}$/;
const PRINCIPAL = /^(\*|\d{12}|arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+|assumed-role\/[\w+=,.@/-]+))$/;

/** The AWS validation message for one bad parameter. */
export function validation(value: unknown, field: string, constraint: string): AwsApiError {
  const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
  return new AwsApiError('ValidationException', `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`);
}

/** Keys and aliases of one AWS account, every region. */
export class AwsKmsStore {
  readonly keys = new Map<string, AwsKmsKey>();
  readonly aliases = new Map<string, AwsKmsAlias>();

  constructor(
    readonly account: string,
    readonly now: () => number,
    /** How long an on-demand rotation stays in progress before its new key material is in place. */
    public onDemandRotationMs = 0,
  ) {}

  /** The key holding the rotation state: the primary of a multi-Region replica, else the key itself. */
  rotationHolder(key: AwsKmsKey): AwsKmsKey {
    return (key.primaryArn && this.keys.get(key.primaryArn)) || key;
  }

  /** Finishes an on-demand rotation whose time has come (KMS rotates in the background). */
  settleRotation(key: AwsKmsKey): void {
    const holder = this.rotationHolder(key);
    if (holder.onDemand && this.now() >= holder.onDemand.completesAt) {
      holder.rotations.push({ at: holder.onDemand.completesAt, type: 'ON_DEMAND' });
      delete holder.onDemand;
    }
  }

  keyArn(region: string, id: string): string {
    return `arn:aws:kms:${region}:${this.account}:key/${id}`;
  }

  aliasArn(region: string, name: string): string {
    return `arn:aws:kms:${region}:${this.account}:${name}`;
  }

  keysIn(region: string): AwsKmsKey[] {
    return [...this.keys.values()].filter((key) => key.region === region);
  }

  aliasesIn(region: string): AwsKmsAlias[] {
    return [...this.aliases.values()].filter((alias) => alias.region === region).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Finds a key from a KeyId parameter (id, key ARN, and when allowed alias name or alias ARN). */
  resolve(region: string, keyId: unknown, allowAlias: boolean): AwsKmsKey {
    if (typeof keyId !== 'string' || keyId.length === 0) throw validation(keyId, 'keyId', 'Member must not be null');
    if (keyId.length > 2048) throw validation(keyId, 'keyId', 'Member must have length less than or equal to 2048');
    const aliasName = keyId.startsWith('alias/') ? keyId : /^arn:aws:kms:[^:]*:[^:]*:alias\//.test(keyId) ? keyId.split(':').slice(5).join(':') : undefined;
    if (aliasName !== undefined) {
      if (!allowAlias) throw new AwsApiError('NotFoundException', `Invalid keyId '${keyId}'`);
      if (keyId.startsWith('arn:') && keyId !== this.aliasArn(region, aliasName)) throw new AwsApiError('NotFoundException', `Alias ${keyId} is not found.`);
      const alias = this.aliases.get(this.aliasArn(region, aliasName));
      if (!alias) throw new AwsApiError('NotFoundException', `Alias ${this.aliasArn(region, aliasName)} is not found.`);
      return this.keys.get(this.keyArn(region, alias.targetKeyId))!;
    }
    if (keyId.startsWith('arn:')) {
      const match = /^arn:aws:kms:([^:]+):(\d{12}):key\/(.+)$/.exec(keyId);
      if (!match) throw new AwsApiError('NotFoundException', `Invalid arn ${keyId}`);
      const key = this.keys.get(keyId);
      if (!key || match[1] !== region) throw new AwsApiError('NotFoundException', `Key '${keyId}' does not exist`);
      return key;
    }
    if (!KEY_UUID.test(keyId) && !MRK_ID.test(keyId)) throw new AwsApiError('NotFoundException', `Invalid keyId '${keyId}'`);
    const key = this.keys.get(this.keyArn(region, keyId));
    if (!key) throw new AwsApiError('NotFoundException', `Key '${this.keyArn(region, keyId)}' does not exist`);
    return key;
  }

  /** Parses and vets a key policy as PutKeyPolicy/CreateKey do (principals, lockout check). */
  checkPolicy(policy: unknown, bypassLockoutCheck: unknown): KeyPolicy {
    if (typeof policy !== 'string' || policy.length === 0) throw validation(policy, 'policy', 'Member must not be null');
    if (policy.length > 32_768) throw validation('...', 'policy', 'Member must have length less than or equal to 32768');
    let parsed: KeyPolicy;
    try {
      parsed = parseKeyPolicy(policy);
    } catch (error) {
      throw new AwsApiError('MalformedPolicyDocumentException', `The policy document is malformed: ${error instanceof Error ? error.message : String(error)}.`);
    }
    for (const statement of parsed.Statement) {
      const principal = statement.Principal ?? statement.NotPrincipal;
      const values = principal === '*' ? ['*'] : Object.entries(principal ?? {}).flatMap(([kind, v]) => (kind === 'AWS' ? (Array.isArray(v) ? v : [v]) : []));
      if (values.some((value) => typeof value !== 'string' || !PRINCIPAL.test(value))) {
        throw new AwsApiError('MalformedPolicyDocumentException', 'Policy contains a statement with one or more invalid principals.');
      }
    }
    if (bypassLockoutCheck !== true && !allowsPolicyUpdates(parsed, this.account)) {
      throw new AwsApiError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
    }
    return parsed;
  }

  /** Refuses operations that need a key that is not pending deletion (and, when asked, enabled). */
  requireState(key: AwsKmsKey, needEnabled = false): void {
    if (key.state === 'PendingDeletion') throw new AwsApiError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (needEnabled && key.state === 'Disabled') throw new AwsApiError('DisabledException', `${key.arn} is disabled.`);
  }

  private multiRegionConfiguration(key: AwsKmsKey): Record<string, unknown> {
    const primary = this.rotationHolder(key);
    const replicas = [...this.keys.values()].filter((other) => other.primaryArn === primary.arn);
    return {
      MultiRegionKeyType: key.primaryArn ? 'REPLICA' : 'PRIMARY',
      PrimaryKey: { Arn: primary.arn, Region: primary.region },
      ReplicaKeys: replicas.map((replica) => ({ Arn: replica.arn, Region: replica.region })),
    };
  }

  /** KeyMetadata as DescribeKey and CreateKey return it (timestamps in epoch seconds). */
  metadata(key: AwsKmsKey): Record<string, unknown> {
    const symmetric = key.keySpec === 'SYMMETRIC_DEFAULT';
    const algorithms = symmetric
      ? ['SYMMETRIC_DEFAULT']
      : key.keySpec.startsWith('RSA') && key.keyUsage === 'ENCRYPT_DECRYPT'
        ? ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']
        : undefined;
    return {
      AWSAccountId: key.account,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: key.createdAt / 1000,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: key.state,
      ...(key.deletionDate ? { DeletionDate: key.deletionDate / 1000, PendingDeletionWindowInDays: key.pendingWindowDays } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      ...(algorithms ? { EncryptionAlgorithms: algorithms } : {}),
      MultiRegion: key.multiRegion,
      ...(key.multiRegion ? { MultiRegionConfiguration: this.multiRegionConfiguration(key) } : {}),
    };
  }
}

/** One page of `items` from a ListKeys-style Marker/Limit request. */
export function page<T>(items: T[], input: Record<string, unknown>): { items: T[]; Truncated: boolean; NextMarker?: string } {
  const limit = input.Limit ?? 100;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw validation(limit, 'limit', 'Member must have value between 1 and 1000');
  }
  const start = input.Marker === undefined ? 0 : Number.parseInt(String(input.Marker), 10);
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    throw new AwsApiError('InvalidMarkerException', 'The marker that specifies where pagination should next begin is not valid.');
  const slice = items.slice(start, start + limit);
  const next = start + slice.length;
  return next < items.length ? { items: slice, Truncated: true, NextMarker: String(next) } : { items: slice, Truncated: false };
}
