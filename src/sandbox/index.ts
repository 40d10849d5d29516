/**
 * The embedded sandbox: wire-compatible emulators of the CockroachDB Cloud API, AWS KMS, GCP
 * Cloud KMS, Azure Key Vault and a CockroachDB-like SQL server, sharing one seeded world.
 * Everything listens on 127.0.0.1 with ephemeral ports; stop() closes every handle.
 */
import type { Config } from '../config.js';
import { startAwsKmsEmulator, type AwsKmsEmulator } from './aws-kms.js';
import { startAzureKeyVaultEmulator, type AzureKeyVaultEmulator } from './azure-key-vault.js';
import { startCloudApiEmulator, type CloudApiEmulator } from './cloud-api.js';
import { startGcpKmsEmulator, type GcpKmsEmulator } from './gcp-kms.js';
import { startNodeStatusEmulator, type NodeStatusEmulator } from './node-status.js';
import { createSqlEmulator, type SqlEmulator, type SqlServer } from './sql-server.js';
import type { CmekKeySpec } from '../cloud/schemas.js';
import { SANDBOX_CMEK_TRANSITION_MS } from '../config.js';

export type SandboxOptions = Config['sandboxOptions'];

/** Whether CockroachDB Cloud could use a key as specified; the Cloud emulator asks the KMS emulators. */
export type KeyAccessResult = { ok: true } | { ok: false; message: string };

/** The running sandbox; `Sql` is the in-process emulator (tests) or any SQL server (launchSandbox). */
export interface Sandbox<Sql extends SqlServer = SqlEmulator> {
  cloud: CloudApiEmulator;
  aws: AwsKmsEmulator;
  gcp: GcpKmsEmulator;
  azure: AzureKeyVaultEmulator;
  sql: Sql;
  /** The self-hosted cluster's DB Console status endpoints, one URL per node (http_url). */
  nodeStatus: NodeStatusEmulator;
  /** Sets latency on every emulator at once. */
  setLatency(ms: number): void;
  stop(): Promise<void>;
}

const DEFAULTS: SandboxOptions = {
  latencyMs: 0,
  errorRate: 0,
  throttleNext: 0,
  cmekTransitionMs: SANDBOX_CMEK_TRANSITION_MS,
  rateLimitPerSecond: 10,
  fleetSize: 0,
};

/** Starts every emulator; the SQL emulator runs in-process and starts on first use (tests flip its faults). */
export function startSandbox(options: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startEmulators(options, createSqlEmulator());
}

/**
 * The server's --sandbox: every emulator, with the SQL stand-in started at once in a worker thread
 * so that the first SQL-backed answer does not wait for PGlite and no request waits behind it.
 */
export async function launchSandbox(options: Partial<SandboxOptions> = {}): Promise<Sandbox<SqlServer>> {
  const { startSqlEmulatorInWorker } = await import('./sql-worker.js');
  const sql = startSqlEmulatorInWorker();
  try {
    return await startEmulators(options, sql);
  } catch (error) {
    await sql.close();
    throw error;
  }
}

async function startEmulators<Sql extends SqlServer>(options: Partial<SandboxOptions>, sql: Sql): Promise<Sandbox<Sql>> {
  const settings: SandboxOptions = { ...DEFAULTS, ...options };
  const [aws, gcp, azure, nodeStatus] = await Promise.all([
    startAwsKmsEmulator(),
    startGcpKmsEmulator(),
    startAzureKeyVaultEmulator(),
    startNodeStatusEmulator(),
  ]);
  const checkKeyAccess = async (spec: CmekKeySpec): Promise<KeyAccessResult> => {
    switch (spec.type) {
      case 'AWS_KMS':
        return aws.checkCmekAccess(spec.uri, spec.auth_principal);
      case 'GCP_CLOUD_KMS':
        return gcp.checkCmekAccess(spec.uri, spec.auth_principal);
      case 'AZURE_KEY_VAULT':
        return azure.checkCmekAccess(spec.uri, spec.auth_principal);
      default:
        return { ok: false, message: `key type ${spec.type} is not supported for customer-managed keys` };
    }
  };
  const cloud = await startCloudApiEmulator({
    checkKeyAccess,
    cmekTransitionMs: settings.cmekTransitionMs,
    rateLimitPerSecond: settings.rateLimitPerSecond,
    fleetSize: settings.fleetSize,
  });
  const emulators = [cloud, aws, gcp, azure, nodeStatus];
  const setLatency = (ms: number) => {
    for (const emulator of emulators) emulator.faults.latencyMs = ms;
  };
  setLatency(settings.latencyMs);
  for (const emulator of emulators) emulator.faults.errorRate = settings.errorRate;
  if (settings.throttleNext > 0) cloud.faults.inject({ kind: 'throttle', count: settings.throttleNext, retryAfterSeconds: 1 });
  if (settings.failRegionOnNextRotate) cloud.failRegionOnNextRotate(settings.failRegionOnNextRotate);
  return {
    cloud,
    aws,
    gcp,
    azure,
    sql,
    nodeStatus,
    setLatency,
    async stop() {
      await Promise.all([cloud.close(), aws.close(), gcp.close(), azure.close(), nodeStatus.close(), sql.close()]);
    },
  };
}
