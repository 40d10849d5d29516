// PLACEHOLDER: replaced by the Cloud API client implementation.
import type { CloudApi } from './api.js';

export interface CloudClientOptions {
  apiKey: string;
  baseUrl: string;
  ccVersion: string;
  iamPropagationMs: number;
  operationDeadlineMs: number;
  pollIntervalMs: number;
}

export function createCloudClient(_options: CloudClientOptions): CloudApi {
  throw new Error('Cloud API client not implemented yet');
}
