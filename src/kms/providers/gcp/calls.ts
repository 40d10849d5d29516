/**
 * How the GCP provider calls Cloud KMS: per-call deadline and retry settings (retries only where a
 * repeat cannot do harm), cancellation through an AbortSignal, and gRPC errors turned into
 * `KmsError` with the status name and Google's request id kept.
 */
import type { KeyManagementServiceClient, protos } from '@google-cloud/kms';
import type { CallOptions } from 'google-gax';
import type { IamPolicy } from './iam.js';
import type { GcpKeyUri } from './key-uri.js';
import { KmsError, providerSaid, type KmsErrorKind } from '../../provider.js';

/** Retry and deadline knobs (tests shrink them so faults do not slow the suite). */
export interface GcpCallSettings {
  /** Deadline of one attempt, ms. */
  timeoutMs: number;
  /** Retries after the first attempt, for calls safe to repeat. */
  maxRetries: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_CALL_SETTINGS: GcpCallSettings = {
  timeoutMs: 30_000,
  maxRetries: 4,
  initialDelayMs: 200,
  maxDelayMs: 5_000,
};

export const Status = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const STATUS_NAMES = Object.fromEntries(Object.entries(Status).map(([name, code]) => [code, name])) as Record<number, string>;

/**
 * `safe`: repeating cannot change the outcome (reads, creates that fail ALREADY_EXISTS on repeat,
 * state setters). `once`: never repeated (CreateCryptoKeyVersion, etag-guarded SetIamPolicy).
 */
export type CallKind = 'safe' | 'once';

/** gax call options for one call of the given kind. */
export function callOptions(settings: GcpCallSettings, kind: CallKind): CallOptions {
  if (kind === 'once') return { timeout: settings.timeoutMs, retry: { retryCodes: [] } };
  return {
    timeout: settings.timeoutMs,
    retry: {
      retryCodes: [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED],
      backoffSettings: {
        maxRetries: settings.maxRetries + 1,
        initialRetryDelayMillis: settings.initialDelayMs,
        retryDelayMultiplier: 2,
        maxRetryDelayMillis: settings.maxDelayMs,
        initialRpcTimeoutMillis: settings.timeoutMs,
        rpcTimeoutMultiplier: 1,
        maxRpcTimeoutMillis: settings.timeoutMs,
      },
    },
  };
}

interface GrpcLikeError {
  code?: number;
  details?: string;
  message?: string;
  statusDetails?: unknown;
}

function statusOf(error: unknown): number | undefined {
  const code = (error as GrpcLikeError | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** True when a failed call may nevertheless have taken effect (no answer, or a server error). */
export function isAmbiguous(error: KmsError): boolean {
  return error.kind === 'unavailable' || error.kind === 'unknown';
}

function requestIdOf(error: GrpcLikeError): string | undefined {
  if (!Array.isArray(error.statusDetails)) return undefined;
  for (const detail of error.statusDetails as Array<Record<string, unknown>>) {
    const id = detail?.requestId ?? detail?.request_id;
    if (typeof id === 'string' && id) return id;
  }
  return undefined;
}

function kindOf(code: number | undefined, text: string): KmsErrorKind {
  switch (code) {
    case Status.NOT_FOUND:
      return 'not_found';
    case Status.PERMISSION_DENIED:
    case Status.UNAUTHENTICATED:
      return 'access_denied';
    case Status.RESOURCE_EXHAUSTED:
      return 'throttled';
    case Status.INVALID_ARGUMENT:
    case Status.OUT_OF_RANGE:
      return 'invalid';
    case Status.ALREADY_EXISTS:
    case Status.FAILED_PRECONDITION:
    case Status.ABORTED:
      return 'conflict';
    case Status.UNAVAILABLE:
    case Status.INTERNAL:
    case Status.CANCELLED:
      return 'unavailable';
    case Status.DEADLINE_EXCEEDED:
      // gax reports exhausted retries as DEADLINE_EXCEEDED, quoting the last error.
      return text.includes('RESOURCE_EXHAUSTED') ? 'throttled' : 'unavailable';
    default:
      return /default credentials|could not load the default|unable to detect a project id/i.test(text) ? 'access_denied' : 'unknown';
  }
}

const NEXT: Record<KmsErrorKind, string> = {
  not_found: 'Check the project, location, key ring and key names ("gcloud kms keys list --keyring=RING --location=LOCATION --project=PROJECT").',
  access_denied:
    'The Google credentials this server uses (Application Default Credentials: "gcloud auth application-default login" or GOOGLE_APPLICATION_CREDENTIALS) need roles/cloudkms.admin on the key ring, in the right project.',
  throttled: 'Cloud KMS quota for this project is exhausted; wait a minute and retry, or raise the cloudkms.googleapis.com quota.',
  invalid: 'Fix the request as the message says and retry.',
  conflict: 'The resource is not in a state that allows this; describe the key to see its current state.',
  limit_reached: 'A Cloud KMS limit for this resource is reached; see the message for which one.',
  unavailable: 'Cloud KMS did not answer in time; retry shortly (see https://status.cloud.google.com).',
  unknown: 'Retry; if it persists, check the credentials and network path to cloudkms.googleapis.com.',
};

/** A KmsError for a failed call `action` on `resource`, with an operator-facing next step. */
export function toKmsError(error: unknown, action: string, resource: string): KmsError {
  if (error instanceof KmsError) return error;
  const grpc = (error ?? {}) as GrpcLikeError;
  const code = statusOf(error);
  const text = (grpc.details || grpc.message || String(error)).replace(/\.\s*$/, '');
  const kind = kindOf(code, text);
  const codeName = code === undefined ? undefined : STATUS_NAMES[code];
  const message = `Cloud KMS ${action} failed for ${resource}: ${codeName ? `${codeName}: ` : ''}${providerSaid(text)}. ${NEXT[kind]}`;
  return new KmsError(kind, message, codeName, requestIdOf(grpc));
}

/** A gax call that can be cancelled (every unary method of the generated client returns one). */
export type GaxCall<T> = Promise<[T, ...unknown[]]> & { cancel?: () => void };

/**
 * Runs one Cloud KMS call: applies the settings for `kind`, cancels it when `signal` aborts
 * (rethrowing the abort reason), and maps failures to KmsError.
 */
export async function gcpCall<T>(
  settings: GcpCallSettings,
  kind: CallKind,
  action: string,
  resource: string,
  invoke: (options: CallOptions) => GaxCall<T>,
  signal?: AbortSignal,
): Promise<T> {
  signal?.throwIfAborted();
  const pending = invoke(callOptions(settings, kind));
  const onAbort = () => pending.cancel?.();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [result] = await pending;
    return result;
  } catch (error) {
    signal?.throwIfAborted();
    throw Object.assign(toKmsError(error, action, resource), { cause: error });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

type CryptoKey = protos.google.cloud.kms.v1.ICryptoKey;
type CryptoKeyVersion = protos.google.cloud.kms.v1.ICryptoKeyVersion;
type Timestamp = protos.google.protobuf.ITimestamp | null | undefined;

/** Milliseconds since the epoch of a protobuf Timestamp. */
export function timestampMs(value: Timestamp): number | undefined {
  if (!value || value.seconds === null || value.seconds === undefined) return undefined;
  return Number(String(value.seconds)) * 1000 + Math.round((value.nanos ?? 0) / 1e6);
}

/** Seconds of a protobuf Duration. */
export function durationSeconds(value: protos.google.protobuf.IDuration | null | undefined): number | undefined {
  if (!value || value.seconds === null || value.seconds === undefined) return undefined;
  return Number(String(value.seconds)) + (value.nanos ?? 0) / 1e9;
}

/** Version id (last path segment) of a CryptoKeyVersion name. */
export function versionId(name: string | null | undefined): string {
  return (
    String(name ?? '')
      .split('/')
      .pop() ?? ''
  );
}

/** gcloud flags naming a key: --key --keyring --location --project. */
export function gcloudKeyFlags(key: GcpKeyUri): string {
  return `--key=${key.cryptoKey} --keyring=${key.keyRing} --location=${key.location} --project=${key.project}`;
}

/** The calls the provider makes, each with the right retry policy. */
export interface GcpKmsCalls {
  run<T>(
    kind: CallKind,
    action: string,
    resource: string,
    invoke: (client: KeyManagementServiceClient, options: CallOptions) => GaxCall<T>,
    signal?: AbortSignal,
  ): Promise<T>;
  getKey(name: string, signal?: AbortSignal): Promise<CryptoKey>;
  listVersions(name: string, signal?: AbortSignal): Promise<CryptoKeyVersion[]>;
  getPolicy(resource: string, signal?: AbortSignal): Promise<IamPolicy>;
  now(): number;
}
