/**
 * How each KMS provider's client reaches its sandbox emulator: the options its `connect` takes
 * in sandbox mode. The deps wiring asks this table; domain code never imports the sandbox.
 */
import type { KmsClientOptions } from '../kms/providers/index.js';
import type { KmsKeyType } from '../kms/provider.js';
import { createSandboxAzureCredential, sandboxKeyClientOptions } from './azure-sandbox-client.js';
import { SANDBOX_IDENTITIES } from './identities.js';
import type { Sandbox } from './index.js';
import type { SqlServer } from './sql-server.js';

/** Client options per key type, pointing at the running sandbox's emulators. */
export const SANDBOX_KMS_CLIENT_OPTIONS: { [T in KmsKeyType]: (sandbox: Sandbox<SqlServer>) => KmsClientOptions<T> } = {
  AWS_KMS: (sandbox) => ({ endpoint: sandbox.aws.url, credentials: sandbox.aws.credentials, rotationPollMs: 50 }),
  GCP_CLOUD_KMS: (sandbox) => ({ sandboxPort: sandbox.gcp.port, projectId: SANDBOX_IDENTITIES.gcp.project }),
  AZURE_KEY_VAULT: (sandbox) => ({
    credential: createSandboxAzureCredential(sandbox.azure.tenantId),
    clientOptions: sandboxKeyClientOptions({ url: sandbox.azure.url, ca: sandbox.azure.ca }),
  }),
};
