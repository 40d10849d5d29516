/** In-memory stand-ins for the audit's collaborators: a Cloud API with pages and delays, and KMS providers. */
import { createHash } from 'node:crypto';
import type { CloudApi, ListOptions } from '../../src/cloud/api.js';
import { CloudApiError, abortError } from '../../src/cloud/errors.js';
import type { Cluster, CmekClusterInfo } from '../../src/cloud/schemas.js';
import { KmsError, type AccessCheck, type KeyDescription, type KmsKeyType, type KmsProvider, type KmsRegistry } from '../../src/kms/provider.js';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(abortError());
      },
      { once: true },
    );
  });
}

export function cluster(name: string, fields: Partial<Cluster> = {}): Cluster {
  return {
    id: `00000000-0000-4000-8000-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`,
    name,
    plan: 'ADVANCED',
    cloud_provider: 'AWS',
    state: 'CREATED',
    regions: [{ name: 'us-east-1' }],
    labels: {},
    ...fields,
  };
}

export interface FakeCloudOptions {
  cmek?: Record<string, CmekClusterInfo>;
  pageSize?: number;
  delayMs?: number;
  /** Cluster ids whose GET /cmek fails with HTTP 503. */
  failing?: Set<string>;
  /** The listing fails after this many pages. */
  failListingAfterPages?: number;
}

export interface FakeCloud extends CloudApi {
  calls: { list: number; cmek: number };
}

export function fakeCloud(clusters: Cluster[], options: FakeCloudOptions = {}): FakeCloud {
  const calls = { list: 0, cmek: 0 };
  const unused = () => Promise.reject(new Error('not used by the audit'));
  return {
    calls,
    async listClusters(call: ListOptions = {}) {
      const size = options.pageSize ?? 100;
      const all: Cluster[] = [];
      for (let start = 0, page = 0; start < clusters.length; start += size, page++) {
        calls.list += 1;
        await sleep(options.delayMs ?? 0, call.signal);
        if (options.failListingAfterPages !== undefined && page >= options.failListingAfterPages) {
          throw new CloudApiError({ kind: 'http', operation: 'GET /clusters', status: 503, message: 'unavailable' });
        }
        const chunk = clusters.slice(start, start + size);
        all.push(...chunk);
        call.onPage?.(chunk);
      }
      return all;
    },
    async getCmek(clusterId, call = {}) {
      calls.cmek += 1;
      await sleep(options.delayMs ?? 0, call.signal);
      if (options.failing?.has(clusterId)) {
        throw new CloudApiError({ kind: 'http', operation: `GET /cmek on cluster ${clusterId}`, status: 503, message: 'injected' });
      }
      return options.cmek?.[clusterId] ?? null;
    },
    getOrganization: unused,
    getCluster: unused,
    addCmekRegions: unused,
    enableCmek: unused,
    updateCmek: unused,
    revokeCmek: unused,
    waitForCmek: unused,
  };
}

export function keyDescription(uri: string, type: KmsKeyType, fields: Partial<KeyDescription> = {}): KeyDescription {
  return {
    uri,
    type,
    location: 'us-east-1',
    state: 'Enabled',
    usable: true,
    rotation: { automatic: true, periodDays: 365 },
    deletion: { scheduled: false },
    ...fields,
  };
}

export interface FakeKms {
  registry: KmsRegistry;
  calls: { describe: number; access: number };
}

/** Providers answering from maps; a missing key is not_found, an Error value is thrown. */
export function fakeKms(keys: Record<string, KeyDescription | KmsError>, access: Record<string, AccessCheck | KmsError> = {}): FakeKms {
  const calls = { describe: 0, access: 0 };
  const provider = (type: KmsKeyType): KmsProvider => ({
    type,
    deletionWindow: { minDays: 7, defaultDays: 30, maxDays: 30 },
    async describeKey(uri) {
      calls.describe += 1;
      const found = keys[uri];
      if (!found) throw new KmsError('not_found', `key ${uri} not found`);
      if (found instanceof KmsError) throw found;
      return found;
    },
    async checkAccess(uri) {
      calls.access += 1;
      const found = access[uri] ?? { granted: true, missing: [], broader: [], verified: true };
      if (found instanceof KmsError) throw found;
      return found;
    },
    provisionKey: () => Promise.reject(new Error('unused')),
    rotateKey: () => Promise.reject(new Error('unused')),
    disableKey: () => Promise.reject(new Error('unused')),
    scheduleDeletion: () => Promise.reject(new Error('unused')),
  });
  return { registry: { get: async (type) => provider(type) }, calls };
}
