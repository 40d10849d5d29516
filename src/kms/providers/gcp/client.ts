/**
 * GCP Cloud KMS provider (@google-cloud/kms over gRPC, imported on first use). Credentials come
 * from Application Default Credentials; in the sandbox the client talks plaintext gRPC to the
 * emulator and needs no credentials at all (insecure channel credentials bypass auth).
 *
 * CMEK wants the crypto key name WITHOUT version; rotation adds a version and makes it primary;
 * deletion schedules every version for destruction (the window is fixed when the key is created).
 */
import type { KeyManagementServiceClient, protos } from '@google-cloud/kms';
import { parseGcpCmekKeyName, parseGcpKeyName, type GcpKeyUri } from './key-uri.js';
import {
  DEFAULT_CALL_SETTINGS,
  durationSeconds,
  gcloudKeyFlags,
  gcpCall,
  isAmbiguous,
  timestampMs,
  versionId,
  type GaxCall,
  type GcpCallSettings,
  type GcpKmsCalls,
} from './calls.js';
import { gcpProfile } from './profile.js';
import { analyzeAccess, type IamPolicy, type ResourcePolicy } from './iam.js';
import { provisionGcpKey } from './provision.js';
import { KmsError, type AccessCheck, type DeletionResult, type KeyDescription, type KmsProvider } from '../../provider.js';

export interface GcpKmsOptions {
  /** Sandbox: plaintext gRPC on 127.0.0.1:port. */
  sandboxPort?: number;
  /** The credentials' project; default: asked from Application Default Credentials. */
  projectId?: string;
  /** Per-call deadline and retry settings; defaults suit production. */
  calls?: Partial<GcpCallSettings>;
  /** Wait between polls of a version still generating, ms (default 1000). */
  pollIntervalMs?: number;
  /** Clock for computed times (next rotation). */
  now?: () => number;
}

/** The GCP provider, plus `close()` to release the gRPC channel. */
export interface GcpKmsProvider extends KmsProvider {
  close(): Promise<void>;
}

type CryptoKey = protos.google.cloud.kms.v1.ICryptoKey;
type CryptoKeyVersion = protos.google.cloud.kms.v1.ICryptoKeyVersion;
type Timestamp = protos.google.protobuf.ITimestamp | null | undefined;

const DAY_SECONDS = 86_400;
const POLL_LIMIT = 30;
/** States from which a version can be scheduled for destruction. */
const DESTROYABLE = new Set(['ENABLED', 'DISABLED']);
const GONE = new Set(['DESTROY_SCHEDULED', 'DESTROYED']);

function iso(value: Timestamp): string | undefined {
  const ms = timestampMs(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function byIdDescending(a: CryptoKeyVersion, b: CryptoKeyVersion): number {
  return Number(versionId(b.name)) - Number(versionId(a.name));
}

/** Creates the GCP Cloud KMS provider (imports the SDK now). */
export async function createGcpKmsProvider(options: GcpKmsOptions): Promise<GcpKmsProvider> {
  const { KeyManagementServiceClient: Client } = await import('@google-cloud/kms');
  let client: KeyManagementServiceClient;
  if (options.sandboxPort !== undefined) {
    const grpc = await import('@grpc/grpc-js');
    client = new Client({ apiEndpoint: '127.0.0.1', port: options.sandboxPort, sslCreds: grpc.credentials.createInsecure(), universeDomain: 'googleapis.com' });
  } else {
    client = new Client();
  }
  const settings: GcpCallSettings = { ...DEFAULT_CALL_SETTINGS, ...options.calls };
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const calls: GcpKmsCalls = {
    run: (kind, action, resource, invoke, signal) => gcpCall(settings, kind, action, resource, (callOptions) => invoke(client, callOptions), signal),
    getKey: (name, signal) => calls.run('safe', 'GetCryptoKey', name, (c, o) => c.getCryptoKey({ name }, o), signal),
    listVersions: (name, signal) => calls.run('safe', 'ListCryptoKeyVersions', name, (c, o) => c.listCryptoKeyVersions({ parent: name }, o), signal),
    getPolicy: (resource, signal) =>
      calls.run(
        'safe',
        'GetIamPolicy',
        resource,
        (c, o) => c.getIamPolicy({ resource, options: { requestedPolicyVersion: 3 } } as never, o) as GaxCall<IamPolicy>,
        signal,
      ),
    now: options.now ?? (() => Date.now()),
  };

  const describe = async (uri: string, signal?: AbortSignal): Promise<KeyDescription> => {
    const parsed = parseGcpKeyName(uri);
    const [key, versions] = await Promise.all([calls.getKey(parsed.name, signal), calls.listVersions(parsed.name, signal)]);
    return describeFrom(parsed, key, versions);
  };

  const waitEnabled = async (version: CryptoKeyVersion, signal?: AbortSignal): Promise<CryptoKeyVersion> => {
    let current = version;
    for (let poll = 0; current.state === 'PENDING_GENERATION' && poll < POLL_LIMIT; poll++) {
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs).unref());
      const name = current.name!;
      current = await calls.run('safe', 'GetCryptoKeyVersion', name, (c, o) => c.getCryptoKeyVersion({ name }, o), signal);
    }
    return current;
  };

  /** Schedules destruction; a retry after a lost answer finds it DESTROY_SCHEDULED and accepts that. */
  const destroyVersion = async (name: string, signal?: AbortSignal): Promise<CryptoKeyVersion> => {
    try {
      return await calls.run('safe', 'DestroyCryptoKeyVersion', name, (c, o) => c.destroyCryptoKeyVersion({ name }, o), signal);
    } catch (error) {
      if (!(error instanceof KmsError && error.providerCode === 'FAILED_PRECONDITION')) throw error;
      const current = await calls.run('safe', 'GetCryptoKeyVersion', name, (c, o) => c.getCryptoKeyVersion({ name }, o), signal);
      if (current.state !== 'DESTROY_SCHEDULED') throw error;
      return current;
    }
  };

  return {
    type: 'GCP_CLOUD_KMS',
    deletionWindow: gcpProfile.deletion.window,
    describeKey: describe,

    async checkAccess(uri, principal, signal): Promise<AccessCheck> {
      const parsed = parseGcpKeyName(uri);
      const ringName = parsed.name.split('/').slice(0, 6).join('/');
      const key: ResourcePolicy = { label: `key ${parsed.name}` };
      try {
        key.policy = await calls.getPolicy(parsed.name, signal);
      } catch (error) {
        if (error instanceof KmsError && error.kind === 'access_denied') {
          return { granted: false, missing: [], broader: [], verified: false, detail: `Could not read the IAM policy of ${parsed.name}: ${error.message}` };
        }
        throw error;
      }
      const ring: ResourcePolicy = { label: `key ring ${ringName}` };
      try {
        ring.policy = await calls.getPolicy(ringName, signal);
      } catch (error) {
        if (!(error instanceof KmsError && error.kind === 'access_denied')) throw error;
      }
      return analyzeAccess(principal, key, ring);
    },

    provisionKey: (request, signal) => provisionGcpKey(calls, request, signal),

    async rotateKey(uri, signal) {
      const parsed = parseGcpKeyName(uri);
      const name = parsed.name;
      const key = await calls.getKey(name, signal);
      if (key.purpose !== 'ENCRYPT_DECRYPT') {
        throw new KmsError('invalid', `${name} has purpose ${String(key.purpose)}; only ENCRYPT_DECRYPT keys can be rotated for CMEK.`, 'INVALID_ARGUMENT');
      }
      const before = new Set((await calls.listVersions(name, signal)).map((v) => v.name));
      let created: CryptoKeyVersion;
      try {
        created = await calls.run(
          'once',
          'CreateCryptoKeyVersion',
          name,
          (c, o) => c.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} }, o),
          signal,
        );
      } catch (error) {
        if (!(error instanceof KmsError) || !isAmbiguous(error)) throw error;
        // The create may have happened: look for it instead of creating a second version.
        const after = await calls.listVersions(name, signal).catch((listError: unknown) => {
          throw new KmsError(
            error.kind,
            `Creating a new version of ${name} got no clear answer (${error.providerCode ?? 'no answer'}) and the versions could not be listed afterwards (${(listError as Error).message}). A new version MAY exist: check with "gcloud kms keys versions list ${gcloudKeyFlags(parsed)}" before rotating again.`,
            error.providerCode,
            error.requestId,
          );
        });
        const fresh = after.filter((v) => !before.has(v.name)).sort(byIdDescending);
        if (fresh.length === 0) {
          throw new KmsError(
            error.kind,
            `Creating a new version of ${name} failed (${error.providerCode ?? 'no answer'}), and listing the versions shows none was created, so nothing changed. It is safe to run the rotation again.`,
            error.providerCode,
            error.requestId,
          );
        }
        created = fresh[0]!;
      }
      const ready = await waitEnabled(created, signal);
      const id = versionId(ready.name);
      if (ready.state !== 'ENABLED') {
        throw new KmsError(
          'conflict',
          `New version ${id} of ${name} is ${String(ready.state)}, not ENABLED, so it was not made primary. Check it with "gcloud kms keys versions describe ${id} ${gcloudKeyFlags(parsed)}".`,
          String(ready.state),
        );
      }
      try {
        await calls.run('safe', 'UpdateCryptoKeyPrimaryVersion', name, (c, o) => c.updateCryptoKeyPrimaryVersion({ name, cryptoKeyVersionId: id }, o), signal);
      } catch (error) {
        if (!(error instanceof KmsError)) throw error;
        throw new KmsError(
          error.kind,
          `Version ${id} of ${name} was created but could not be made primary: ${error.message} Do not create another version; finish with "gcloud kms keys set-primary-version ${parsed.cryptoKey} --version=${id} --keyring=${parsed.keyRing} --location=${parsed.location} --project=${parsed.project}".`,
          error.providerCode,
          error.requestId,
        );
      }
      const previous = versionId(key.primary?.name) || 'none';
      return {
        uri: name,
        newVersion: id,
        detail: `Created version ${id} of ${name} and made it primary (previous primary: ${previous}, still enabled: keep it, data written under it still needs it). CockroachDB picks the new version up only after a CMEK rotation (PUT /cmek with the same key name).`,
      };
    },

    async disableKey(uri, signal) {
      const parsed = parseGcpKeyName(uri);
      const key = await calls.getKey(parsed.name, signal);
      const primary = key.primary;
      if (!primary?.name) throw new KmsError('invalid', `${parsed.name} has no primary version to disable.`, 'FAILED_PRECONDITION');
      if (primary.state === 'ENABLED') {
        const version = { name: primary.name, state: 'DISABLED' as const };
        await calls.run(
          'safe',
          'UpdateCryptoKeyVersion',
          primary.name,
          (c, o) => c.updateCryptoKeyVersion({ cryptoKeyVersion: version, updateMask: { paths: ['state'] } }, o),
          signal,
        );
      } else if (primary.state !== 'DISABLED') {
        throw new KmsError(
          'conflict',
          `The primary version ${versionId(primary.name)} of ${parsed.name} is ${String(primary.state)}; only an ENABLED version can be disabled.`,
          'FAILED_PRECONDITION',
        );
      }
      return describe(parsed.name, signal);
    },

    async scheduleDeletion(uri, windowDays, signal): Promise<DeletionResult> {
      const parsed = parseGcpCmekKeyName(uri);
      if (!Number.isInteger(windowDays) || windowDays < 1 || windowDays > 120) {
        throw new KmsError('invalid', `A Cloud KMS destroy window is 1 to 120 days; got ${windowDays}.`, 'INVALID_ARGUMENT');
      }
      const key = await calls.getKey(parsed.name, signal);
      const actualDays = (durationSeconds(key.destroyScheduledDuration) ?? 30 * DAY_SECONDS) / DAY_SECONDS;
      if (windowDays > actualDays) {
        throw new KmsError(
          'invalid',
          `Cloud KMS fixed the destroy window of ${parsed.name} at ${actualDays} days when the key was created, and it cannot be changed, so the ${windowDays}-day window you asked for is impossible. Nothing was destroyed. Re-run with a window of ${actualDays} days to accept it, or disable the key instead.`,
          'INVALID_ARGUMENT',
        );
      }
      const scheduled: CryptoKeyVersion[] = [];
      for (const version of await calls.listVersions(parsed.name, signal)) {
        if (DESTROYABLE.has(String(version.state))) {
          scheduled.push(await destroyVersion(version.name!, signal));
        } else if (version.state === 'DESTROY_SCHEDULED') {
          scheduled.push(version);
        }
      }
      if (scheduled.length === 0)
        throw new KmsError('conflict', `${parsed.name} has no version that can be destroyed (all are destroyed already).`, 'FAILED_PRECONDITION');
      const deadline = Math.min(...scheduled.map((v) => timestampMs(v.destroyTime) ?? Number.POSITIVE_INFINITY));
      const date = new Date(deadline).toISOString();
      const ids = scheduled.map((v) => versionId(v.name)).sort((a, b) => Number(a) - Number(b));
      const restore = ids.map((id) => `gcloud kms keys versions restore ${id} ${gcloudKeyFlags(parsed)}`).join(' && ');
      const enable = `gcloud kms keys versions enable ${versionId(key.primary?.name) || ids[ids.length - 1]} ${gcloudKeyFlags(parsed)}`;
      return {
        state: 'DESTROY_SCHEDULED',
        deletionDate: date,
        undo: `Before ${date}, restore every scheduled version (${ids.join(', ')}): ${restore}; then enable the primary (restored versions come back DISABLED): ${enable}.`,
        ...(windowDays < actualDays
          ? {
              note: `Cloud KMS fixed this key's destroy window at ${actualDays} days when it was created; the ${windowDays} days you asked for cannot shorten it, so destruction happens on ${date}.`,
            }
          : {}),
      };
    },

    async defaultProject() {
      if (options.projectId) return options.projectId;
      try {
        return await client.getProjectId();
      } catch (error) {
        throw new KmsError(
          'access_denied',
          `No GCP project given and none found in Application Default Credentials (${error instanceof Error ? error.message : String(error)}). Pass gcp_project, or set one with "gcloud config set project PROJECT" / GOOGLE_CLOUD_PROJECT.`,
        );
      }
    },

    close: () => client.close(),
  };
}

/** KeyDescription from a key and its versions. */
export function describeFrom(parsed: GcpKeyUri, key: CryptoKey, versions: CryptoKeyVersion[]): KeyDescription {
  const primary = key.primary ?? undefined;
  const periodSeconds = durationSeconds(key.rotationPeriod);
  const windowSeconds = durationSeconds(key.destroyScheduledDuration);
  const scheduled = versions.length > 0 && versions.every((v) => GONE.has(String(v.state)));
  const pending = versions.map((v) => timestampMs(v.destroyTime)).filter((ms): ms is number => ms !== undefined);
  const rotated = primary && versions.length > 1 ? iso(primary.createTime) : undefined;
  const createdAt = iso(key.createTime);
  const nextRotationAt = iso(key.nextRotationTime);
  return {
    uri: parsed.name,
    type: 'GCP_CLOUD_KMS',
    location: parsed.location,
    state: primary ? String(primary.state) : scheduled ? 'DESTROY_SCHEDULED' : 'NO_PRIMARY_VERSION',
    usable: primary?.state === 'ENABLED' && key.purpose === 'ENCRYPT_DECRYPT',
    ...(createdAt ? { createdAt } : {}),
    rotation: {
      automatic: periodSeconds !== undefined,
      ...(periodSeconds !== undefined ? { periodDays: periodSeconds / DAY_SECONDS } : {}),
      ...(rotated ? { lastRotatedAt: rotated } : {}),
      ...(nextRotationAt ? { nextRotationAt } : {}),
    },
    deletion: {
      scheduled,
      ...(scheduled && pending.length > 0 ? { scheduledFor: new Date(Math.min(...pending)).toISOString() } : {}),
      ...(windowSeconds !== undefined ? { windowDays: windowSeconds / DAY_SECONDS } : {}),
    },
    ...(primary?.name ? { currentVersion: versionId(primary.name) } : {}),
  };
}
