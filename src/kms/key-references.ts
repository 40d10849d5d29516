/**
 * Finds every cluster that references a KMS key in its CMEK key_infos, current or past. A past
 * key still protects data written under it, so any reference at all makes deletion unsafe.
 */
import type { CloudApi } from '../cloud/api.js';
import type { CmekKeyInfo } from '../cloud/schemas.js';
import { errorMessage } from '../errors.js';
import { kmsProvider, keyIdentity, parseKeyUri, type ParsedKeyUri } from './providers/index.js';
import type { KmsKeyType } from './provider.js';

export interface KeyReference {
  clusterId: string;
  clusterName: string;
  region: string;
  uri: string;
  status: string;
  /** True when this is the region's latest key; false for a past key still needed for old data. */
  current: boolean;
}

export interface ReferenceScan {
  references: KeyReference[];
  /** Clusters whose CMEK state could not be read: the key cannot be proven unused. */
  unchecked: Array<{ clusterId: string; clusterName: string; reason: string }>;
  clustersScanned: number;
}

export interface ScanOptions {
  signal?: AbortSignal;
  /** Maps an alias URI to its key's identity (AWS aliases); undefined when it cannot be resolved. */
  resolveIdentity?: (uri: string) => Promise<string | undefined>;
  onProgress?: (done: number, total: number) => void | Promise<void>;
  concurrency?: number;
}

function latestKeyInfo(keyInfos: CmekKeyInfo[]): CmekKeyInfo | undefined {
  return [...keyInfos].sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? '')).at(-1);
}

async function identityOf(type: KmsKeyType, uri: string, options: ScanOptions): Promise<string | undefined> {
  let parsed: ParsedKeyUri;
  try {
    parsed = parseKeyUri(type, uri);
  } catch {
    return undefined;
  }
  if (kmsProvider(parsed.type).isAlias(parsed) && options.resolveIdentity) return options.resolveIdentity(uri);
  return keyIdentity(parsed);
}

/**
 * Scans the CMEK state of every Advanced cluster on the key's cloud for references to the key
 * with identity `target`. Clusters on other clouds cannot use the key and are skipped.
 */
export async function findKeyReferences(cloud: CloudApi, type: KmsKeyType, target: string, options: ScanOptions = {}): Promise<ReferenceScan> {
  const clusters = (await cloud.listClusters({ signal: options.signal })).filter(
    (cluster) => cluster.plan === 'ADVANCED' && cluster.cloud_provider === kmsProvider(type).cloud,
  );
  const scan: ReferenceScan = { references: [], unchecked: [], clustersScanned: clusters.length };
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < clusters.length) {
      options.signal?.throwIfAborted();
      const cluster = clusters[next++]!;
      try {
        const info = await cloud.getCmek(cluster.id, { signal: options.signal });
        for (const region of info?.region_infos ?? []) {
          const keyInfos = region.key_infos ?? [];
          const latest = latestKeyInfo(keyInfos);
          for (const keyInfo of keyInfos) {
            const uri = keyInfo.spec?.uri;
            if (!uri || (keyInfo.spec?.type && keyInfo.spec.type !== type)) continue;
            if ((await identityOf(type, uri, options)) !== target) continue;
            scan.references.push({
              clusterId: cluster.id,
              clusterName: cluster.name,
              region: region.region ?? 'unknown',
              uri,
              status: keyInfo.status ?? 'UNKNOWN',
              current: keyInfo === latest,
            });
          }
        }
      } catch (error) {
        if (options.signal?.aborted) throw error;
        scan.unchecked.push({ clusterId: cluster.id, clusterName: cluster.name, reason: errorMessage(error) });
      }
      done += 1;
      await options.onProgress?.(done, clusters.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, clusters.length) }, worker));
  return scan;
}
