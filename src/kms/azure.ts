// PLACEHOLDER: replaced by the Azure Key Vault provider.
import type { KmsProvider } from './provider.js';

export interface AzureKmsOptions {
  /** Sandbox: emulator URL, its CA and tenant. */
  sandbox?: { url: string; ca: string; tenantId: string };
}

export async function createAzureKmsProvider(_options: AzureKmsOptions): Promise<KmsProvider> {
  throw new Error('Azure Key Vault provider not implemented yet');
}
