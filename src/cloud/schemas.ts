/**
 * CockroachDB Cloud API shapes for CMEK and clusters, typed from the public OpenAPI spec
 * (cockroachdb/cockroach-cloud-sdk-go internal/spec/openapi.json, version 2024-09-16).
 * Objects are loose: fields the spec adds later pass through instead of failing a parse.
 */
import { z } from 'zod';
import { MAX_MESSAGE, MAX_NAME, untrustedText } from '../safety/untrusted.js';
import { CLOUD_PROVIDERS, CMEK_KEY_TYPES, CMEK_STATUSES, PLANS, type CmekStatus } from './constants.js';

/** An upstream string as every rendering may show it: one line, no control or bidi characters, capped. */
const upstream = (max = MAX_NAME) => z.string().transform((value) => untrustedText(value, max));

export * from './constants.js';

export const cmekKeyTypeSchema = z.enum(CMEK_KEY_TYPES);
export type CmekKeyType = z.infer<typeof cmekKeyTypeSchema>;

export const cmekStatusSchema = z.enum(CMEK_STATUSES);

/** Statuses after which nothing more will happen without a new request. */
export const TERMINAL_GOOD_STATUSES: readonly CmekStatus[] = ['ENABLED', 'DISABLED', 'REVOKED'];
/** `*_FAILED` statuses are permanent: the per-key user_message says why. */
export const FAILED_STATUSES: readonly CmekStatus[] = ['DISABLE_FAILED', 'ENABLE_FAILED', 'ROTATE_FAILED', 'REVOKE_FAILED'];

/** True for a status no further polling will change. */
export function isTerminalStatus(status: CmekStatus | undefined): boolean {
  return status !== undefined && (TERMINAL_GOOD_STATUSES.includes(status) || FAILED_STATUSES.includes(status));
}

export const cmekKeySpecSchema = z.looseObject({
  type: cmekKeyTypeSchema,
  uri: z.string(),
  auth_principal: z.string(),
});
export type CmekKeySpec = z.infer<typeof cmekKeySpecSchema>;

export const cmekRegionSpecSchema = z.looseObject({
  region: z.string(),
  key_spec: cmekKeySpecSchema,
});
export type CmekRegionSpec = z.infer<typeof cmekRegionSpecSchema>;

export const cmekKeyInfoSchema = z.looseObject({
  spec: cmekKeySpecSchema.partial().optional(),
  status: cmekStatusSchema.optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  user_message: upstream(MAX_MESSAGE).optional(),
});
export type CmekKeyInfo = z.infer<typeof cmekKeyInfoSchema>;

export const cmekRegionInfoSchema = z.looseObject({
  region: z.string().optional(),
  status: cmekStatusSchema.optional(),
  key_infos: z.array(cmekKeyInfoSchema).optional(),
});
export type CmekRegionInfo = z.infer<typeof cmekRegionInfoSchema>;

export const cmekClusterInfoSchema = z.looseObject({
  status: cmekStatusSchema.optional(),
  region_infos: z.array(cmekRegionInfoSchema).optional(),
});
export type CmekClusterInfo = z.infer<typeof cmekClusterInfoSchema>;

export const regionSchema = z.looseObject({
  name: upstream(),
  node_count: z.number().int().optional(),
  sql_dns: z.string().optional(),
  ui_dns: z.string().optional(),
  internal_dns: z.string().optional(),
  private_endpoint_dns: z.string().optional(),
  primary: z.boolean().optional(),
});
export type Region = z.infer<typeof regionSchema>;

export const customerCloudAccountSchema = z.looseObject({
  aws: z.looseObject({ arn: z.string() }).optional(),
  gcp: z.looseObject({ service_account_email: z.string().optional() }).optional(),
  azure: z.looseObject({}).optional(),
});

export const clusterSchema = z.looseObject({
  id: upstream(),
  name: upstream(),
  plan: z.enum(PLANS),
  cloud_provider: z.enum(CLOUD_PROVIDERS),
  state: z.enum(['CREATING', 'CREATED', 'CREATION_FAILED', 'DELETED', 'LOCKED']),
  operation_status: upstream().optional(),
  cockroach_version: upstream().optional(),
  regions: z.array(regionSchema).default([]),
  account_id: z.string().optional(),
  azure_cluster_identity_client_id: z.string().optional(),
  customer_cloud_account: customerCloudAccountSchema.optional(),
  network_visibility: z.enum(['PUBLIC', 'PRIVATE']).optional(),
  labels: z.record(upstream(), upstream()).default({}),
  config: z
    .looseObject({
      dedicated: z.looseObject({ machine_type: z.string().optional() }).optional(),
      serverless: z.looseObject({ routing_id: z.string().optional() }).optional(),
    })
    .optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  delete_protection: z.string().optional(),
});
export type Cluster = z.infer<typeof clusterSchema>;

export const listClustersResponseSchema = z.looseObject({
  clusters: z.array(clusterSchema),
  pagination: z.looseObject({ next_page: z.string().optional(), previous_page: z.string().optional() }).optional(),
});

export const organizationSchema = z.looseObject({
  id: upstream(),
  name: upstream(),
  label: upstream().optional(),
  created_at: z.string().optional(),
  cockroach_cloud_service_principals: z
    .looseObject({
      aws: z.looseObject({ user_arn: z.string().optional() }).optional(),
      gcp: z.looseObject({ service_account_email: z.string().optional() }).optional(),
      azure: z.looseObject({ app_registration_client_id: z.string().optional(), app_registration_name: upstream().optional() }).optional(),
    })
    .optional(),
});
export type Organization = z.infer<typeof organizationSchema>;

/** google.rpc.Status-like error body; some CMEK errors are untyped, so every field is optional. */
export const apiStatusSchema = z.looseObject({
  code: z.number().int().optional(),
  message: upstream(MAX_MESSAGE).optional(),
  details: z.array(z.unknown()).optional(),
});
export type ApiStatus = z.infer<typeof apiStatusSchema>;
