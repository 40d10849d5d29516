/**
 * Process-wide dependencies of the tools, built once from the configuration (and the sandbox,
 * when running on it). Every connection's McpServer shares them.
 */
import type { CloudApi } from './cloud/api.js';
import { createClusterMutations, type ClusterMutations } from './cmek/cluster-mutations.js';
import type { Config } from './config.js';
import { OperatorError } from './errors.js';
import type { KmsKeyType, KmsProvider, KmsRegistry } from './kms/provider.js';
import type { KmsClientOptions } from './kms/providers/index.js';
import { createKmsRegistry, type ProviderLoader } from './kms/registry.js';
import type { ElicitationSession } from './safety/elicitation-session.js';
import { createRedactor, registerConfigSecrets } from './safety/redact.js';
import type { AuditLog, Confirm, Redactor } from './safety/types.js';
import type { Sandbox } from './sandbox/index.js';
import type { SandboxIdentities } from './sandbox/identities.js';
import type { SqlServer } from './sandbox/sql-server.js';
import { SANDBOX_API_KEY, SANDBOX_POLL_INTERVAL_MS, SELF_HOSTED_TARGET } from './sandbox/constants.js';
import type { SkillCatalog } from './skills/catalog.js';
import type { SqlConnector } from './sql/connector.js';
import { deferred } from './deferred.js';

/**
 * Where the operator's CMEK keys live, as far as the server knows without asking (the sandbox's
 * seeded AWS account, GCP project, Azure tenant and vaults): used to complete suggested calls.
 */
export interface KeyHomes {
  awsAccountId?: string;
  gcpProject?: string;
  azureTenantId?: string;
  /** Azure region -> Key Vault name in that region. */
  azureVaults?: Record<string, string>;
}

/** Wall clock, replaceable in tests. */
export interface Clock {
  now(): number;
}

export interface Deps {
  clock: Clock;
  redactor: Redactor;
  audit: AuditLog;
  /** CMEK mutations of one cluster serialise (identical concurrent requests share one result). */
  clusterMutations: ClusterMutations;
  /** Binds the confirmation gate to one MCP session. */
  createConfirm(session: ElicitationSession): Confirm;
  /** The Cloud API client; throws an OperatorError when no API key is configured. */
  cloud(): CloudApi;
  kms: KmsRegistry;
  sql: SqlConnector;
  /** Names of the SQL targets the operator can audit: configured ones plus the sandbox's self-hosted cluster. */
  sqlTargetNames: string[];
  /** DB Console URLs (http_url) of a SQL target's nodes, where the server knows them (the sandbox's); else none. */
  nodeStatusUrls(targetName: string | undefined): Promise<string[]>;
  skills: SkillCatalog;
  /** Resolves to the embedded sandbox when running on it (it may still be starting). */
  sandbox?: Promise<Sandbox<SqlServer>>;
  /** The sandbox's seeded AWS account, GCP project, Azure tenant and vaults (only on the sandbox). */
  sandboxIdentities?: SandboxIdentities;
  keyHomes(): Promise<KeyHomes>;
  close(): Promise<void>;
}

/** Pieces a test (or embedder) may replace. */
export type DepsOverrides = Partial<Omit<Deps, 'close'>>;

function lazy<T>(create: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= create());
}

/**
 * Connects a provider's client from the provider table, to its sandbox emulator when there is a
 * sandbox. The table, the SDKs and the sandbox wiring load on first use.
 */
function loadKmsProvider(sandbox: Promise<Sandbox<SqlServer>> | undefined): ProviderLoader {
  return async <T extends KmsKeyType>(type: T) => {
    const running = await sandbox;
    const { kmsProvider } = await import('./kms/providers/index.js');
    const profile: { connect(options: KmsClientOptions<T>): Promise<KmsProvider> } = kmsProvider(type);
    if (!running) return profile.connect({});
    const { SANDBOX_KMS_CLIENT_OPTIONS } = await import('./sandbox/kms-clients.js');
    return profile.connect(SANDBOX_KMS_CLIENT_OPTIONS[type](running));
  };
}

/**
 * Builds the dependencies for a configuration, wired to the sandbox when given. The sandbox may
 * be a promise: the server then answers initialize at once and tools wait for the emulators.
 */
export async function createDeps(
  config: Config,
  sandboxOrPromise?: Sandbox<SqlServer> | Promise<Sandbox<SqlServer>>,
  overrides: DepsOverrides = {},
): Promise<Deps> {
  const redactor = overrides.redactor ?? createRedactor();
  const sandbox = sandboxOrPromise === undefined ? undefined : Promise.resolve(sandboxOrPromise);
  // A failed start surfaces on first use, not as an unhandled rejection.
  sandbox?.catch(() => {});
  const apiKey = sandbox ? SANDBOX_API_KEY : config.cloud.apiKey;
  registerConfigSecrets(redactor, config);
  const clock = overrides.clock ?? { now: () => Date.now() };
  const sandboxIdentities = sandbox ? (await import('./sandbox/identities.js')).SANDBOX_IDENTITIES : undefined;
  const cloudOptions = { ...config.cloud, apiKey: apiKey ?? '' };
  const cloud = lazy((): CloudApi => {
    if (!cloudOptions.apiKey) {
      throw new OperatorError(
        'No CockroachDB Cloud API key',
        'COCKROACH_API_KEY is not set, so the Cloud API cannot be called.',
        'create a service account API key (Organization > Access Management > Service Accounts, role Cluster Admin or Cluster Operator) and set COCKROACH_API_KEY, or start with --sandbox to try the product.',
      );
    }
    return deferred(async () => {
      const { createCloudClient } = await import('./cloud/client.js');
      const running = await sandbox;
      return createCloudClient(
        running
          ? {
              ...cloudOptions,
              baseUrl: running.cloud.url,
              rateLimitPerSecond: running.cloud.rateLimitPerSecond,
              pollIntervalMs: Math.min(cloudOptions.pollIntervalMs, SANDBOX_POLL_INTERVAL_MS),
            }
          : cloudOptions,
      );
    });
  });
  const kms = overrides.kms ?? createKmsRegistry(loadKmsProvider(sandbox));
  const audit = overrides.audit ?? deferred(async () => (await import('./safety/audit-log.js')).openAuditLog(config, redactor));
  const gate = lazy(async () => (await import('./safety/confirm.js')).createConfirmationGate({ config, now: () => clock.now() }));
  const createConfirm =
    overrides.createConfirm ??
    ((session: ElicitationSession): Confirm => {
      let bound: Confirm | undefined;
      return async (request) => (bound ??= (await gate())(session))(request);
    });
  const sql =
    overrides.sql ??
    deferred(async () =>
      (await import('./sql/connector.js')).createSqlConnector({
        targets: config.sql.targets,
        ...(config.sql.databaseUrl ? { databaseUrl: config.sql.databaseUrl } : {}),
        ...(sandbox ? { sandboxTarget: { name: SELF_HOSTED_TARGET, url: async () => (await sandbox).sql.connectionString() } } : {}),
        statementTimeoutMs: config.sql.statementTimeoutMs,
        redactor,
      }),
    );
  const skills = overrides.skills ?? deferred(async () => (await import('./skills/catalog.js')).createSkillCatalog({ dir: config.skillsDir }));
  return {
    clock,
    redactor,
    clusterMutations: overrides.clusterMutations ?? createClusterMutations(),
    audit,
    createConfirm,
    cloud: overrides.cloud ? () => overrides.cloud!() : cloud,
    kms,
    sql,
    sqlTargetNames: [...Object.keys(config.sql.targets), ...(sandbox ? [SELF_HOSTED_TARGET] : [])],
    nodeStatusUrls:
      overrides.nodeStatusUrls ??
      (async (targetName) => (sandbox && targetName === SELF_HOSTED_TARGET ? (await sandbox).nodeStatus.nodes.map((node) => node.url) : [])),
    skills,
    ...(sandbox ? { sandbox, sandboxIdentities } : {}),
    keyHomes: overrides.keyHomes ?? (sandboxIdentities ? async () => sandboxKeyHomes(sandboxIdentities) : async () => ({})),
    async close() {
      await Promise.allSettled([audit.close(), sql.close()]);
    },
  };
}

/** The sandbox's seeded key homes (its Azure vault for new keys is the one with purge protection). */
function sandboxKeyHomes(identities: SandboxIdentities): KeyHomes {
  const vault = identities.azure.vaults.find((candidate) => candidate.purge_protection);
  return {
    awsAccountId: identities.aws.account_id,
    gcpProject: identities.gcp.project,
    azureTenantId: identities.azure.tenant_id,
    azureVaults: vault ? { [vault.location]: vault.name } : {},
  };
}
