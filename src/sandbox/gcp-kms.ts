/**
 * GCP Cloud KMS emulator: a plaintext gRPC server on 127.0.0.1 serving
 * `google.cloud.kms.v1.KeyManagementService` and `google.iam.v1.IAMPolicy` (the Node client's IAM
 * mixin calls it on the same endpoint) from the protos shipped with @google-cloud/kms and
 * google-gax, so the real KeyManagementServiceClient talks to it unchanged.
 *
 * Faults (operation = RPC method name, method 'RPC'): `throttle` -> RESOURCE_EXHAUSTED,
 * `server_error` -> UNAVAILABLE (INTERNAL when status is 500), `hang` -> never answered (the
 * client's deadline fires), `reset` -> the request takes effect but its response is lost (the
 * client sees UNAVAILABLE): the ambiguous failure a non-idempotent call must survive.
 * The request log records the gRPC status code each call ended with.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Grpc from '@grpc/grpc-js';
import { parseGcpCmekKeyName } from '../kms/providers/gcp/key-uri.js';
import { FaultPlan, RequestLog, sleep, type FaultRule } from './faults.js';
import { GcpKmsStore } from './gcp-kms-store.js';
import { Code, GrpcFailure } from './gcp-kms-wire.js';
import { encodeStatusDetails } from './grpc-status.js';
import type { KeyAccessResult } from './index.js';
import { GCP_CMEK_SERVICE_ACCOUNT, GCP_KEYS, GCP_PROJECT } from './seed.js';

/** The role CockroachDB's service account needs on the key. */
export const ENCRYPTER_DECRYPTER_ROLE = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';

export interface GcpKmsEmulator {
  /** gRPC port on 127.0.0.1 (plaintext). */
  port: number;
  faults: FaultPlan;
  log: RequestLog;
  /** Whether CockroachDB (as principal) could use the key at uri now. */
  checkCmekAccess(uri: string, principal: string): Promise<KeyAccessResult>;
  close(): Promise<void>;
}

export interface GcpKmsEmulatorOptions {
  /** Clock for create/destroy times (tests move it to see DESTROY_SCHEDULED become DESTROYED). */
  now?: () => number;
}

const KMS_METHODS = [
  'GetKeyRing',
  'CreateKeyRing',
  'ListKeyRings',
  'GetCryptoKey',
  'CreateCryptoKey',
  'ListCryptoKeys',
  'UpdateCryptoKey',
  'UpdateCryptoKeyPrimaryVersion',
  'GetCryptoKeyVersion',
  'ListCryptoKeyVersions',
  'CreateCryptoKeyVersion',
  'UpdateCryptoKeyVersion',
  'DestroyCryptoKeyVersion',
  'RestoreCryptoKeyVersion',
] as const;
const IAM_METHODS = ['GetIamPolicy', 'SetIamPolicy', 'TestIamPermissions'] as const;

const DAY_MS = 86_400_000;
const SEED_TIME = Date.parse('2025-06-02T09:00:00Z');

/** Include dirs for the KMS protos and the google/api, google/iam, google/longrunning protos. */
function protoDirs(): { kms: string; gax: string } {
  const { resolve } = createRequire(import.meta.url);
  const kmsEntry = resolve('@google-cloud/kms');
  const gaxEntry = resolve('google-gax');
  return {
    kms: join(dirname(kmsEntry), '..', 'protos'),
    gax: join(dirname(gaxEntry), '..', 'protos'),
  };
}

function lowerFirst(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

function faultFailure(fault: FaultRule): GrpcFailure {
  if (fault.kind === 'throttle') {
    return new GrpcFailure(
      Code.RESOURCE_EXHAUSTED,
      "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'cloudkms.googleapis.com'.",
    );
  }
  // A status message travels in the grpc-message trailer, which gRPC caps (8 KiB of metadata by default).
  const message = fault.message?.slice(0, 4096);
  if (fault.status === 500) return new GrpcFailure(Code.INTERNAL, message ?? 'Internal error encountered.');
  return new GrpcFailure(Code.UNAVAILABLE, message ?? 'The service is currently unavailable.');
}

function errorInfo(code: number): { errorInfo?: { reason: string; domain: string } } {
  if (code === Code.PERMISSION_DENIED) return { errorInfo: { reason: 'IAM_PERMISSION_DENIED', domain: 'cloudkms.googleapis.com' } };
  if (code === Code.RESOURCE_EXHAUSTED) return { errorInfo: { reason: 'RATE_LIMIT_EXCEEDED', domain: 'googleapis.com' } };
  return {};
}

function seed(store: GcpKmsStore, clock: { seedTime?: number }, now: () => number): void {
  clock.seedTime = SEED_TIME;
  for (const [label, spec] of Object.entries(GCP_KEYS)) {
    const location = `projects/${GCP_PROJECT}/locations/${spec.location}`;
    const ring = `${location}/keyRings/${spec.keyRing}`;
    try {
      store.getKeyRing({ name: ring });
    } catch {
      store.createKeyRing({ parent: location, keyRingId: spec.keyRing });
    }
    const rotation =
      label === 'usCentral1'
        ? { rotationPeriod: { seconds: String(90 * 86_400) }, nextRotationTime: { seconds: String(Math.floor((now() + 30 * DAY_MS) / 1000)) } }
        : {};
    const key = store.createCryptoKey({ parent: ring, cryptoKeyId: spec.key, cryptoKey: { purpose: 'ENCRYPT_DECRYPT', ...rotation } });
    store.setIamPolicy({
      resource: key.name,
      policy: { bindings: [{ role: ENCRYPTER_DECRYPTER_ROLE, members: [`serviceAccount:${GCP_CMEK_SERVICE_ACCOUNT}`] }] },
    });
  }
  delete clock.seedTime;
}

/** What CockroachDB Cloud would find when it tries to use the key at `uri` as `principal`. */
function cmekAccess(store: GcpKmsStore, uri: string, principal: string): KeyAccessResult {
  try {
    parseGcpCmekKeyName(uri);
  } catch (error) {
    return { ok: false, message: `Invalid Cloud KMS key name ${uri}: ${(error as Error).message}` };
  }
  const denied = `Cloud KMS key ${uri} is not accessible to service account ${principal}`;
  let key;
  try {
    key = store.key(uri);
  } catch {
    return { ok: false, message: `${denied}: the key does not exist or CockroachDB Cloud cannot see it. Check the key name and project.` };
  }
  if (key.purpose !== 'ENCRYPT_DECRYPT')
    return { ok: false, message: `Cloud KMS key ${uri} has purpose ${key.purpose}; CMEK needs a symmetric ENCRYPT_DECRYPT key.` };
  const primary = key.versions.find((v) => v.id === key.primaryId);
  if (!primary) return { ok: false, message: `Cloud KMS key ${uri} has no primary version; create a version and make it primary.` };
  if (primary.state !== 'ENABLED') {
    return { ok: false, message: `The primary version of Cloud KMS key ${uri} (${primary.name.split('/').pop()}) is ${primary.state}; it must be ENABLED.` };
  }
  const member = `serviceAccount:${principal}`;
  const ring = uri.split('/').slice(0, 6).join('/');
  const granted = [store.policy(uri), store.policy(ring)].some((policy) =>
    policy.bindings.some((binding) => binding.role === ENCRYPTER_DECRYPTER_ROLE && binding.members.includes(member)),
  );
  if (!granted) {
    return {
      ok: false,
      message: `${denied}: ${member} lacks ${ENCRYPTER_DECRYPTER_ROLE} on the key (permission cloudkms.cryptoKeyVersions.useToEncrypt denied).`,
    };
  }
  return { ok: true };
}

/** Starts the emulator on 127.0.0.1 with an ephemeral port, seeded with GCP_KEYS. */
export async function startGcpKmsEmulator(options: GcpKmsEmulatorOptions = {}): Promise<GcpKmsEmulator> {
  const [grpc, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const dirs = protoDirs();
  const definition = await protoLoader.load(['google/cloud/kms/v1/service.proto', 'google/iam/v1/iam_policy.proto'], {
    includeDirs: [dirs.kms, dirs.gax],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as Record<string, any>;
  const now = options.now ?? (() => Date.now());
  const clock: { seedTime?: number } = {};
  const store = new GcpKmsStore(GCP_PROJECT, () => clock.seedTime ?? now());
  seed(store, clock, now);

  const faults = new FaultPlan();
  const log = new RequestLog();
  const server = new grpc.Server();

  const handler = (operation: string) => {
    const method = (store as unknown as Record<string, (request: unknown) => unknown>)[lowerFirst(operation)]!.bind(store);
    return (call: Grpc.ServerUnaryCall<unknown, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
      const at = Date.now();
      const finish = (error: GrpcFailure | null, reply?: unknown) => {
        log.record({ at, method: 'RPC', operation, status: error ? error.code : Code.OK });
        if (!error) return callback(null, reply);
        const metadata = new grpc.Metadata();
        metadata.set(
          'grpc-status-details-bin',
          encodeStatusDetails({ code: error.code, message: error.message, requestId: randomBytes(8).toString('hex'), ...errorInfo(error.code) }),
        );
        callback({ code: error.code, details: error.message, metadata });
      };
      void (async () => {
        if (faults.latencyMs > 0) await sleep(faults.latencyMs);
        const fault = faults.take({ method: 'RPC', operation });
        if (fault?.kind === 'hang') {
          log.record({ at, method: 'RPC', operation, status: Code.DEADLINE_EXCEEDED });
          return;
        }
        if (fault && fault.kind !== 'reset') return finish(faultFailure(fault));
        let reply: unknown;
        try {
          reply = method(call.request);
        } catch (error) {
          return finish(error instanceof GrpcFailure ? error : new GrpcFailure(Code.INTERNAL, `Internal error: ${(error as Error).message}`));
        }
        if (fault?.kind === 'reset') return finish(new GrpcFailure(Code.UNAVAILABLE, 'Connection reset by peer'));
        finish(null, reply);
      })();
    };
  };

  const kmsService = loaded.google.cloud.kms.v1.KeyManagementService.service as Grpc.ServiceDefinition;
  const iamService = loaded.google.iam.v1.IAMPolicy.service as Grpc.ServiceDefinition;
  server.addService(kmsService, Object.fromEntries(KMS_METHODS.map((name) => [name, handler(name)])));
  server.addService(iamService, Object.fromEntries(IAM_METHODS.map((name) => [name, handler(name)])));

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });

  return {
    port,
    faults,
    log,
    async checkCmekAccess(uri, principal) {
      return cmekAccess(store, uri, principal);
    },
    close() {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 100);
        server.tryShutdown(() => {
          clearTimeout(force);
          server.forceShutdown();
          resolve();
        });
      });
    },
  };
}
