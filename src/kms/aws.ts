// PLACEHOLDER: replaced by the AWS KMS provider.
import type { KmsProvider } from './provider.js';

export interface AwsKmsOptions {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
}

export async function createAwsKmsProvider(_options: AwsKmsOptions): Promise<KmsProvider> {
  throw new Error('AWS KMS provider not implemented yet');
}
