// PLACEHOLDER: replaced by the GCP KMS emulator implementation.
import type { FaultPlan, RequestLog } from './faults.js';
import type { KeyAccessResult } from './index.js';

export interface GcpKmsEmulator {
  /** gRPC port on 127.0.0.1 (plaintext). */
  port: number;
  faults: FaultPlan;
  log: RequestLog;
  /** Whether CockroachDB (as principal) could use the key at uri now. */
  checkCmekAccess(uri: string, principal: string): Promise<KeyAccessResult>;
  close(): Promise<void>;
}

export async function startGcpKmsEmulator(): Promise<GcpKmsEmulator> {
  throw new Error('GCP KMS emulator not implemented yet');
}
