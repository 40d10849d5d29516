// PLACEHOLDER: replaced by the Cloud API emulator implementation.
import type { CmekKeySpec } from '../cloud/schemas.js';
import type { FaultPlan, RequestLog } from './faults.js';
import type { KeyAccessResult } from './index.js';

export interface CloudApiEmulatorOptions {
  checkKeyAccess(spec: CmekKeySpec): Promise<KeyAccessResult>;
  /** How long ENABLING/ROTATING/REVOKING last before the terminal state. */
  cmekTransitionMs: number;
  /** Requests per second per API key before 429 + Retry-After. */
  rateLimitPerSecond: number;
  /** Extra generated clusters (for fleet benchmarks). */
  fleetSize: number;
}

export interface CloudApiEmulator {
  url: string;
  apiKey: string;
  faults: FaultPlan;
  log: RequestLog;
  /** The next PUT /cmek touching `region` ends in ROTATE_FAILED for that region. */
  failRegionOnNextRotate(region: string): void;
  close(): Promise<void>;
}

export async function startCloudApiEmulator(_options: CloudApiEmulatorOptions): Promise<CloudApiEmulator> {
  throw new Error('Cloud API emulator not implemented yet');
}
