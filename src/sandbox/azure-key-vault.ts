// PLACEHOLDER: replaced by the Azure Key Vault emulator implementation.
import type { FaultPlan, RequestLog } from './faults.js';
import type { KeyAccessResult } from './index.js';

export interface AzureKeyVaultEmulator {
  /** https://127.0.0.1:PORT; vault hosts are rewritten to it by the sandbox pipeline policy. */
  url: string;
  /** PEM of the emulator's self-signed certificate, for tlsOptions.ca. */
  ca: string;
  tenantId: string;
  faults: FaultPlan;
  log: RequestLog;
  /** Whether CockroachDB (as principal) could use the key at uri now. */
  checkCmekAccess(uri: string, principal: string): Promise<KeyAccessResult>;
  close(): Promise<void>;
}

export async function startAzureKeyVaultEmulator(): Promise<AzureKeyVaultEmulator> {
  throw new Error('Azure Key Vault emulator not implemented yet');
}
