/**
 * The real @google-cloud/kms client wired to the sandbox GCP KMS emulator, and gax call options
 * for tests (no retries, short deadlines) so faults stay fast.
 */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import * as grpc from '@grpc/grpc-js';
import type { CallOptions } from 'google-gax';

/** A KMS client talking plaintext gRPC to the emulator on `port`. */
export function gcpKmsClient(port: number): KeyManagementServiceClient {
  return new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1',
    port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  });
}

/** One attempt, short deadline: what a fault test wants to observe. */
export const NO_RETRY: CallOptions = { timeout: 2_000, retry: { retryCodes: [] } };

/** Retries UNAVAILABLE quickly (a few ms apart). */
export const FAST_RETRY: CallOptions = {
  timeout: 2_000,
  retry: {
    retryCodes: [14],
    backoffSettings: {
      maxRetries: 4,
      initialRetryDelayMillis: 1,
      retryDelayMultiplier: 1,
      maxRetryDelayMillis: 5,
      initialRpcTimeoutMillis: 2_000,
      rpcTimeoutMultiplier: 1,
      maxRpcTimeoutMillis: 2_000,
    },
  },
};

/** A fresh, unique resource id for a test. */
let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}
