import type { Cluster, CmekClusterInfo, CmekRegionSpec, Organization } from './schemas.js';

/** Progress while waiting for a CMEK operation. */
export interface CmekProgress {
  /** Regions in a terminal state. */
  done: number;
  total: number;
  message: string;
}

/** Per-call options of every Cloud API method. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Receives the upstream request id of each HTTP exchange (for the audit log). */
  onRequestId?: (id: string) => void;
}

/** Options of listClusters. */
export interface ListOptions extends CallOptions {
  /** Receives each page as it arrives, before the whole list resolves (lets a fleet audit start early). */
  onPage?: (clusters: Cluster[]) => void;
}

/** Options of enableCmek: how long to keep retrying 400/401/403 while IAM grants propagate. */
export interface EnableOptions extends CallOptions {
  /** Overrides the configured IAM propagation budget (0 = no retry). */
  iamPropagationMs?: number;
  /** Called before each retry, e.g. to send progress ("waiting for IAM propagation"). */
  onRetry?: (retry: { attempt: number; elapsedMs: number; error: Error }) => void | Promise<void>;
}

/** Options for waiting until every region of a cluster is terminal. */
export interface WaitOptions extends CallOptions {
  onProgress?: (progress: CmekProgress) => void | Promise<void>;
  /** Overrides the configured operation deadline. */
  deadlineMs?: number;
}

/**
 * The CockroachDB Cloud API as the tools use it. Implemented by `CloudClient` (src/cloud/client.ts):
 * Bearer auth, Cc-Version, client-side rate limit, GET-only retries, Retry-After.
 * Failures throw `CloudApiError` (src/cloud/errors.ts), never raw fetch errors.
 */
export interface CloudApi {
  getOrganization(options?: CallOptions): Promise<Organization>;
  /** Every cluster the key can see, following pagination. */
  listClusters(options?: ListOptions): Promise<Cluster[]>;
  getCluster(clusterId: string, options?: CallOptions): Promise<Cluster>;
  /** CMEK info, or null when CMEK was never enabled on the cluster. */
  getCmek(clusterId: string, options?: CallOptions): Promise<CmekClusterInfo | null>;
  /** POST /cmek: must cover every region of the cluster. Retries 400/401/403 during IAM propagation. */
  enableCmek(clusterId: string, regionSpecs: CmekRegionSpec[], options?: EnableOptions): Promise<CmekClusterInfo>;
  /** PUT /cmek: rotate the listed regions. */
  updateCmek(clusterId: string, regionSpecs: CmekRegionSpec[], options?: CallOptions): Promise<CmekClusterInfo>;
  /** PATCH /cmek {"action":"REVOKE"}. */
  revokeCmek(clusterId: string, options?: CallOptions): Promise<CmekClusterInfo>;
  /**
   * PATCH /clusters/{id} adding regions to a CMEK cluster: `regionNodes` lists EVERY region (the
   * existing ones with their node counts, so none is removed) plus the new ones, and
   * `cmekRegionSpecs` holds the keys of the new regions only. Sent once, never re-sent.
   */
  addCmekRegions(clusterId: string, regionNodes: Record<string, number>, cmekRegionSpecs: CmekRegionSpec[], options?: CallOptions): Promise<Cluster>;
  /** Polls GET /cmek until every region is terminal (or the deadline passes). */
  waitForCmek(clusterId: string, options?: WaitOptions): Promise<CmekClusterInfo>;
}
