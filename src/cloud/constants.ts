/**
 * Cloud API enumerations as plain constants (no zod), so tool schemas can use them without
 * loading the API response schemas at start-up.
 */
export const CMEK_KEY_TYPES = ['AWS_KMS', 'GCP_CLOUD_KMS', 'NULL_KMS', 'AZURE_KEY_VAULT'] as const;

export const CMEK_STATUSES = [
  'DISABLED',
  'DISABLING',
  'DISABLE_FAILED',
  'ENABLED',
  'ENABLING',
  'ENABLE_FAILED',
  'ROTATING',
  'ROTATE_FAILED',
  'REVOKED',
  'REVOKING',
  'REVOKE_FAILED',
] as const;
export type CmekStatus = (typeof CMEK_STATUSES)[number];

export const PLANS = ['BASIC', 'STANDARD', 'ADVANCED'] as const;
export const CLOUD_PROVIDERS = ['GCP', 'AWS', 'AZURE'] as const;
export type Plan = (typeof PLANS)[number];
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];
