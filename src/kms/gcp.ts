// PLACEHOLDER: replaced by the GCP Cloud KMS provider.
import type { KmsProvider } from './provider.js';

export interface GcpKmsOptions {
  /** Sandbox: plaintext gRPC on 127.0.0.1:port. */
  sandboxPort?: number;
}

export async function createGcpKmsProvider(_options: GcpKmsOptions): Promise<KmsProvider> {
  throw new Error('GCP KMS provider not implemented yet');
}
