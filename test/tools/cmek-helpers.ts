/** Shared set-up for the CMEK tool tests: a sandbox, a server over a real MCP client, quick polling. */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createCloudClient, type CloudClientOptions } from '../../src/cloud/client.js';
import { buildConfig, type Config } from '../../src/config.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { SANDBOX_API_KEY } from '../../src/sandbox/seed.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../helpers/harness.js';

/** Cloud settings that keep tests fast: polling every 10 ms, short time-outs. */
export function fastCloud(overrides: Partial<Config['cloud']> = {}): Config['cloud'] {
  return { ...buildConfig().cloud, pollIntervalMs: 10, operationDeadlineMs: 10_000, iamPropagationMs: 0, requestTimeoutMs: 2_000, ...overrides };
}

export interface CmekServerOptions extends Omit<TestServerOptions, 'sandbox'> {
  /** Cloud configuration overrides on top of fastCloud(). */
  cloud?: Partial<Config['cloud']>;
  /** Client knobs beyond the configuration (retry pacing, IAM retry interval). */
  client?: Partial<CloudClientOptions>;
}

/** A test server on the sandbox whose Cloud client retries and polls quickly. */
export function startCmekServer(sandbox: Sandbox, options: CmekServerOptions = {}): Promise<TestServer> {
  const cloud = fastCloud(options.cloud);
  const client = createCloudClient({
    ...cloud,
    apiKey: SANDBOX_API_KEY,
    baseUrl: sandbox.cloud.url,
    retryBaseMs: 5,
    retryMaxMs: 20,
    iamRetryIntervalMs: 20,
    ...options.client,
  });
  return startTestServer({
    ...options,
    sandbox,
    config: { ...options.config, cloud },
    deps: { cloud: () => client, ...options.deps },
  });
}

/** Calls to the Cloud API emulator matching `method` and `operation`. */
export function cloudCalls(sandbox: Sandbox, method?: string, operation?: string): number {
  return sandbox.cloud.log.count({ ...(method ? { method } : {}), ...(operation ? { operation } : {}) });
}

/**
 * Per-file fixture: one quick sandbox (30 ms CMEK transitions, no practical rate limit) and one
 * server over it, started before the file's tests and stopped after them.
 */
export function useFastSandboxServer(onReady: (sandbox: Sandbox, server: TestServer) => void): void {
  let sandbox: Sandbox | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ cmekTransitionMs: 30, rateLimitPerSecond: 1000 });
    server = await startCmekServer(sandbox, { cloud: { rateLimitPerSecond: 1000 } });
    onReady(sandbox, server);
  });
  afterAll(async () => {
    await server?.close();
    await sandbox?.stop();
  });
}

/**
 * Per-file fixture for tests that start their own servers: one quick sandbox (no practical rate
 * limit) whose Cloud API state is reset before each test. Servers pushed onto the returned list
 * are closed after each test.
 */
export function useSandboxPerFile(onReady: (sandbox: Sandbox) => void, cmekTransitionMs = 30): TestServer[] {
  let sandbox: Sandbox | undefined;
  const servers: TestServer[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox({ cmekTransitionMs, rateLimitPerSecond: 1000 });
    onReady(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });
  beforeEach(() => sandbox?.cloud.reset());
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return servers;
}
