/**
 * The slice of AWS KMS the provider calls, over @aws-sdk/client-kms (loaded by the caller on first
 * use): one client per region, SDK errors turned into KmsError with the AWS error name and request
 * id kept. Non-idempotent calls (CreateKey, RotateKeyOnDemand) go through a client that never retries.
 */
import type { KMSClient, KeyMetadata } from '@aws-sdk/client-kms';
import { KmsError, providerSaid, type KmsErrorKind } from '../../provider.js';

type Sdk = typeof import('@aws-sdk/client-kms');

export interface AwsApiOptions {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

const KIND_BY_NAME: Record<string, KmsErrorKind> = {
  NotFoundException: 'not_found',
  AccessDeniedException: 'access_denied',
  AccessDenied: 'access_denied',
  UnrecognizedClientException: 'access_denied',
  InvalidSignatureException: 'access_denied',
  ExpiredTokenException: 'access_denied',
  CredentialsProviderError: 'access_denied',
  ThrottlingException: 'throttled',
  KMSInvalidStateException: 'conflict',
  DisabledException: 'conflict',
  AlreadyExistsException: 'conflict',
  LimitExceededException: 'limit_reached',
  ConflictException: 'conflict',
  ValidationException: 'invalid',
  InvalidArnException: 'invalid',
  InvalidAliasNameException: 'invalid',
  MalformedPolicyDocumentException: 'invalid',
  UnsupportedOperationException: 'invalid',
  TagException: 'invalid',
  KMSInternalException: 'unavailable',
  DependencyTimeoutException: 'unavailable',
  TimeoutError: 'unavailable',
};
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ECONNABORTED']);

const ADVICE: Record<KmsErrorKind, (operation: string, region: string) => string> = {
  not_found: (_op, region) => `Check the ARN: the key (or alias) must exist in ${region}, in the account of the credentials this server uses.`,
  access_denied: (op) =>
    `The AWS identity this server runs as needs kms:${op} on the key (key policy or IAM policy); if the credentials themselves were rejected, refresh them (aws sso login, AWS_PROFILE).`,
  throttled: () => 'AWS KMS is throttling requests; wait a few seconds and retry.',
  conflict: () => "The key's current state does not allow this; describe the key and resolve its state first.",
  limit_reached: () => 'An AWS KMS quota is used up for this key or account (see Service Quotas and the KMS quotas page).',
  invalid: () => 'Correct the request as the message says and retry.',
  unavailable: (_op, region) => `AWS KMS in ${region} did not answer; retry shortly, and check network access to the KMS endpoint.`,
  unknown: () => 'Retry once; if it fails again, check the AWS Health Dashboard and the key in the AWS console.',
};

/** Translates an SDK (or network) error into a KmsError; abort errors pass through unchanged. */
export function toKmsError(error: unknown, operation: string, target: string, region: string): unknown {
  if (error instanceof KmsError) return error;
  const e = (error ?? {}) as { name?: string; message?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  if (e.name === 'AbortError') return error;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  let kind: KmsErrorKind = KIND_BY_NAME[name] ?? (name.startsWith('AccessDenied') ? 'access_denied' : 'unknown');
  if (
    kind === 'unknown' &&
    ((status !== undefined && status >= 500) || NETWORK_CODES.has(e.code ?? '') || /socket hang up|ECONNRESET|network/i.test(e.message ?? ''))
  ) {
    kind = 'unavailable';
  }
  const requestId = e.$metadata?.requestId;
  const evidence = [name, requestId ? `request id ${requestId}` : undefined].filter(Boolean).join(', ');
  const message = `AWS KMS ${operation} on ${target} failed: ${providerSaid(e.message ?? String(error))} (${evidence}). ${ADVICE[kind](operation, region)}`;
  return new KmsError(kind, message, e.code && !e.$metadata ? e.code : name, requestId);
}

export const iso = (date: Date | undefined): string | undefined => date?.toISOString();

/** Typed calls to AWS KMS, per region. */
export class AwsKmsApi {
  private readonly clients = new Map<string, KMSClient>();

  constructor(
    private readonly sdk: Sdk,
    private readonly options: AwsApiOptions,
  ) {}

  private client(region: string, retry: boolean): KMSClient {
    const id = `${region}|${retry ? 'retry' : 'once'}`;
    let client = this.clients.get(id);
    if (!client) {
      client = new this.sdk.KMSClient({
        region,
        maxAttempts: retry ? (this.options.maxAttempts ?? 3) : 1,
        requestHandler: { requestTimeout: this.options.requestTimeoutMs ?? 15_000, throwOnRequestTimeout: true },
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      });
      this.clients.set(id, client);
    }
    return client;
  }

  private async run<T>(region: string, operation: string, target: string, call: (client: KMSClient) => Promise<T>, retry = true): Promise<T> {
    try {
      return await call(this.client(region, retry));
    } catch (error) {
      throw toKmsError(error, operation, target, region);
    }
  }

  async describeKey(region: string, keyId: string, signal?: AbortSignal): Promise<KeyMetadata> {
    const out = await this.run(region, 'DescribeKey', keyId, (c) => c.send(new this.sdk.DescribeKeyCommand({ KeyId: keyId }), { abortSignal: signal }));
    if (!out.KeyMetadata?.Arn) throw new KmsError('unknown', `AWS KMS DescribeKey on ${keyId} returned no key metadata.`, 'EmptyResponse');
    return out.KeyMetadata;
  }

  getKeyRotationStatus(region: string, keyArn: string, signal?: AbortSignal) {
    return this.run(region, 'GetKeyRotationStatus', keyArn, (c) =>
      c.send(new this.sdk.GetKeyRotationStatusCommand({ KeyId: keyArn }), { abortSignal: signal }),
    );
  }

  async getKeyPolicy(region: string, keyArn: string, signal?: AbortSignal): Promise<string> {
    const out = await this.run(region, 'GetKeyPolicy', keyArn, (c) =>
      c.send(new this.sdk.GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }), { abortSignal: signal }),
    );
    return out.Policy ?? '';
  }

  async putKeyPolicy(region: string, keyArn: string, policy: string, signal?: AbortSignal): Promise<void> {
    await this.run(region, 'PutKeyPolicy', keyArn, (c) =>
      c.send(new this.sdk.PutKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default', Policy: policy }), { abortSignal: signal }),
    );
  }

  async createKey(
    region: string,
    input: { Policy: string; Description: string; MultiRegion: boolean; Tags: Array<{ TagKey: string; TagValue: string }> },
    signal?: AbortSignal,
  ): Promise<KeyMetadata> {
    const out = await this.run(
      region,
      'CreateKey',
      `a new key in ${region}`,
      (c) => c.send(new this.sdk.CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', ...input }), { abortSignal: signal }),
      false,
    );
    if (!out.KeyMetadata?.Arn) throw new KmsError('unknown', 'AWS KMS CreateKey returned no key metadata.', 'EmptyResponse');
    return out.KeyMetadata;
  }

  async createAlias(region: string, alias: string, keyId: string, signal?: AbortSignal): Promise<void> {
    await this.run(region, 'CreateAlias', alias, (c) =>
      c.send(new this.sdk.CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }), { abortSignal: signal }),
    );
  }

  async enableKeyRotation(region: string, keyArn: string, periodDays: number | undefined, signal?: AbortSignal): Promise<void> {
    const input = { KeyId: keyArn, ...(periodDays ? { RotationPeriodInDays: periodDays } : {}) };
    await this.run(region, 'EnableKeyRotation', keyArn, (c) => c.send(new this.sdk.EnableKeyRotationCommand(input), { abortSignal: signal }));
  }

  async rotateKeyOnDemand(region: string, keyArn: string, signal?: AbortSignal): Promise<void> {
    await this.run(
      region,
      'RotateKeyOnDemand',
      keyArn,
      (c) => c.send(new this.sdk.RotateKeyOnDemandCommand({ KeyId: keyArn }), { abortSignal: signal }),
      false,
    );
  }

  /** On-demand rotations already completed (ListKeyRotations lists completed rotations only), following pagination. */
  async countOnDemandRotations(region: string, keyArn: string, signal?: AbortSignal): Promise<number> {
    let count = 0;
    let marker: string | undefined;
    do {
      const input = { KeyId: keyArn, Limit: 1000, ...(marker ? { Marker: marker } : {}) };
      const out = await this.run(region, 'ListKeyRotations', keyArn, (c) => c.send(new this.sdk.ListKeyRotationsCommand(input), { abortSignal: signal }));
      count += (out.Rotations ?? []).filter((rotation) => rotation.RotationType === 'ON_DEMAND').length;
      marker = out.Truncated ? out.NextMarker : undefined;
    } while (marker);
    return count;
  }

  async disableKey(region: string, keyArn: string, signal?: AbortSignal): Promise<void> {
    await this.run(region, 'DisableKey', keyArn, (c) => c.send(new this.sdk.DisableKeyCommand({ KeyId: keyArn }), { abortSignal: signal }));
  }

  scheduleKeyDeletion(region: string, keyArn: string, days: number, signal?: AbortSignal) {
    return this.run(region, 'ScheduleKeyDeletion', keyArn, (c) =>
      c.send(new this.sdk.ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: days }), { abortSignal: signal }),
    );
  }
}
