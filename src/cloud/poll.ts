/**
 * Waiting for a CMEK operation the way the Terraform provider does: poll GET /cmek until every
 * region (and the cluster) is terminal. `*_FAILED` is terminal too: the caller reports each key's
 * user_message. Transient read failures are tolerated until the deadline.
 */
import type { CallOptions, CmekProgress, WaitOptions } from './api.js';
import { CloudApiError, describeCmek } from './errors.js';
import { sleep } from '../abort.js';
import { isTerminalStatus, type CmekClusterInfo } from './schemas.js';

export interface PollSettings {
  pollIntervalMs: number;
  deadlineMs: number;
  now?: () => number;
}

/** True when no region (nor the cluster) will change without a new request. */
export function isCmekSettled(info: CmekClusterInfo): boolean {
  const regions = info.region_infos ?? [];
  if (regions.length === 0) return isTerminalStatus(info.status);
  return regions.every((region) => isTerminalStatus(region.status)) && (info.status === undefined || isTerminalStatus(info.status));
}

/** Progress for one observed state: regions done out of all regions. */
export function cmekProgress(info: CmekClusterInfo): CmekProgress {
  const regions = info.region_infos ?? [];
  if (regions.length === 0) {
    return { done: isTerminalStatus(info.status) ? 1 : 0, total: 1, message: `CMEK ${info.status ?? 'UNKNOWN'}` };
  }
  const done = regions.filter((region) => isTerminalStatus(region.status)).length;
  return { done, total: regions.length, message: `CMEK ${describeCmek(info)}` };
}

/** Polls `read` until settled; see the module comment. */
export async function waitUntilSettled(
  read: (call: CallOptions) => Promise<CmekClusterInfo | null>,
  clusterId: string,
  settings: PollSettings,
  options: WaitOptions = {},
): Promise<CmekClusterInfo> {
  const now = settings.now ?? Date.now;
  const deadlineMs = options.deadlineMs ?? settings.deadlineMs;
  const deadline = now() + deadlineMs;
  const operation = `wait for CMEK on cluster ${clusterId}`;
  const call: CallOptions = { ...(options.signal ? { signal: options.signal } : {}), ...(options.onRequestId ? { onRequestId: options.onRequestId } : {}) };
  let last: CmekClusterInfo | undefined;
  let total = 1;
  for (;;) {
    let info: CmekClusterInfo | null | undefined;
    try {
      info = await read(call);
    } catch (error) {
      if (!(error instanceof CloudApiError) || !error.transient) throw error;
      await options.onProgress?.({ done: 0, total, message: `could not read CMEK status (${error.serverMessage ?? error.kind}); retrying` });
    }
    if (info === null) {
      throw new CloudApiError(
        { kind: 'http', operation, status: 404 },
        {
          why: `CMEK is not enabled on cluster ${clusterId}, so there is no operation to wait for.`,
          next: 'enable it with enable_cmek, or check the cluster id (list_clusters).',
        },
        { observed: null },
      );
    }
    if (info) {
      last = info;
      const progress = cmekProgress(info);
      total = progress.total;
      await options.onProgress?.(progress);
      if (isCmekSettled(info)) return info;
    }
    if (now() + settings.pollIntervalMs > deadline) {
      throw new CloudApiError(
        { kind: 'deadline', operation, status: 0 },
        {
          why: `The CMEK operation is still running after ${Math.round(deadlineMs / 1000)} s (last seen: ${describeCmek(last)}). It continues on CockroachDB Cloud.`,
          next: 'check it later with get_cmek_status; do not re-send the request.',
        },
        last ? { observed: last } : {},
      );
    }
    await sleep(settings.pollIntervalMs, options.signal);
  }
}
