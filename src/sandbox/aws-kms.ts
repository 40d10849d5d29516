// PLACEHOLDER: replaced by the AWS KMS emulator implementation.
import type { FaultPlan, RequestLog } from './faults.js';
import type { KeyAccessResult } from './index.js';

export interface AwsKmsEmulator {
  /** http://127.0.0.1:PORT, for the AWS SDK's `endpoint`. */
  url: string;
  /** Static credentials the emulator accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  faults: FaultPlan;
  log: RequestLog;
  /** Whether CockroachDB (as principal) could use the key at uri now. */
  checkCmekAccess(uri: string, principal: string): Promise<KeyAccessResult>;
  close(): Promise<void>;
}

export async function startAwsKmsEmulator(): Promise<AwsKmsEmulator> {
  throw new Error('AWS KMS emulator not implemented yet');
}
