/**
 * Process-wide dependencies of the tools, built once from the configuration (and the sandbox,
 * when running on it). Every connection's McpServer shares them.
 */
import type { CloudApi } from './cloud/api.js';
import { createCloudClient } from './cloud/client.js';
import type { Config } from './config.js';
import { OperatorError } from './errors.js';
import type { KmsRegistry } from './kms/provider.js';
import { createKmsRegistry } from './kms/registry.js';
import { openAuditLog } from './safety/audit-log.js';
import { createConfirmationGate } from './safety/confirm.js';
import type { ElicitationSession } from './safety/elicitation-session.js';
import { createRedactor, registerConfigSecrets } from './safety/redact.js';
import type { AuditLog, Confirm, Redactor } from './safety/types.js';
import type { Sandbox } from './sandbox/index.js';
import { SANDBOX_API_KEY, SELF_HOSTED_TARGET } from './sandbox/seed.js';
import { createSkillCatalog, type SkillCatalog } from './skills/catalog.js';
import { createSqlConnector, type SqlConnector } from './sql/connector.js';

/** Wall clock, replaceable in tests. */
export interface Clock {
  now(): number;
}

export interface Deps {
  clock: Clock;
  redactor: Redactor;
  audit: AuditLog;
  /** Binds the confirmation gate to one MCP session. */
  createConfirm(session: ElicitationSession): Confirm;
  /** The Cloud API client; throws an OperatorError when no API key is configured. */
  cloud(): CloudApi;
  kms: KmsRegistry;
  sql: SqlConnector;
  skills: SkillCatalog;
  /** Present when running on the embedded sandbox. */
  sandbox?: Sandbox;
  close(): Promise<void>;
}

/** Pieces a test (or embedder) may replace. */
export type DepsOverrides = Partial<Omit<Deps, 'close'>>;

function lazy<T>(create: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= create());
}

/** Builds the dependencies for a configuration, wired to the sandbox when given. */
export async function createDeps(config: Config, sandbox?: Sandbox, overrides: DepsOverrides = {}): Promise<Deps> {
  const redactor = overrides.redactor ?? createRedactor();
  const apiKey = sandbox ? SANDBOX_API_KEY : config.cloud.apiKey;
  redactor.addSecret(config.cloud.apiKey);
  redactor.addSecret(config.confirmSecret);
  redactor.addSecret(config.httpToken);
  registerConfigSecrets(redactor, config);
  const clock = overrides.clock ?? { now: () => Date.now() };
  const cloudOptions = {
    ...config.cloud,
    apiKey: apiKey ?? '',
    ...(sandbox ? { baseUrl: sandbox.cloud.url, rateLimitPerSecond: sandbox.cloud.rateLimitPerSecond } : {}),
  };
  const cloud = lazy(() => {
    if (!cloudOptions.apiKey) {
      throw new OperatorError(
        'No CockroachDB Cloud API key',
        'COCKROACH_API_KEY is not set, so the Cloud API cannot be called.',
        'create a service account API key (Organization > Access Management > Service Accounts, role Cluster Admin or Cluster Operator) and set COCKROACH_API_KEY, or start with --sandbox to try the product.',
      );
    }
    return createCloudClient(cloudOptions);
  });
  const kms =
    overrides.kms ??
    createKmsRegistry({
      AWS_KMS: async () =>
        (await import('./kms/aws.js')).createAwsKmsProvider(sandbox ? { endpoint: sandbox.aws.url, credentials: sandbox.aws.credentials } : {}),
      GCP_CLOUD_KMS: async () => (await import('./kms/gcp.js')).createGcpKmsProvider(sandbox ? { sandboxPort: sandbox.gcp.port } : {}),
      AZURE_KEY_VAULT: async () =>
        (await import('./kms/azure.js')).createAzureKmsProvider(
          sandbox ? { sandbox: { url: sandbox.azure.url, ca: sandbox.azure.ca, tenantId: sandbox.azure.tenantId } } : {},
        ),
    });
  const audit = overrides.audit ?? (await openAuditLog(config, redactor));
  const createConfirm = overrides.createConfirm ?? createConfirmationGate({ config, now: () => clock.now() });
  const sql =
    overrides.sql ??
    createSqlConnector({
      targets: config.sql.targets,
      ...(config.sql.databaseUrl ? { databaseUrl: config.sql.databaseUrl } : {}),
      ...(sandbox ? { sandboxTarget: { name: SELF_HOSTED_TARGET, url: () => sandbox.sql.connectionString() } } : {}),
      statementTimeoutMs: config.sql.statementTimeoutMs,
      redactor,
    });
  const skills = overrides.skills ?? createSkillCatalog({ dir: config.skillsDir });
  return {
    clock,
    redactor,
    audit,
    createConfirm,
    cloud: overrides.cloud ? () => overrides.cloud!() : cloud,
    kms,
    sql,
    skills,
    ...(sandbox ? { sandbox } : {}),
    async close() {
      await Promise.allSettled([audit.close(), sql.close()]);
    },
  };
}
