/**
 * How each KMS provider's client reaches its sandbox emulator: the options its `connect` takes
 * in sandbox mode. The deps wiring asks this table; domain code never imports the sandbox.
 */
import type { KmsClientOptions } from '../kms/providers/index.js';
import type { KmsKeyType } from '../kms/provider.js';
import { createSandboxAzureCredential, sandboxKeyClientOptions } from './azure-sandbox-client.js';
import type { Sandbox } from './index.js';

/** Client options per key type, pointing at the running sandbox's emulators. */
export const SANDBOX_KMS_CLIENT_OPTIONS: { [T in KmsKeyType]: (sandbox: Sandbox) => KmsClientOptions<T> } = {
  AWS_KMS: (sandbox) => ({ endpoint: sandbox.aws.url, credentials: sandbox.aws.credentials }),
  GCP_CLOUD_KMS: (sandbox) => ({ sandboxPort: sandbox.gcp.port }),
  AZURE_KEY_VAULT: (sandbox) => ({
    credential: createSandboxAzureCredential(sandbox.azure.tenantId),
    clientOptions: sandboxKeyClientOptions({ url: sandbox.azure.url, ca: sandbox.azure.ca }),
  }),
};
