/**
 * What every CMEK mutation shares after the request: waiting with progress and cancellation,
 * per-region outcomes, and the rule for a failed mutation whose effect is unknown (never re-send;
 * report what GET /cmek shows and let the operator decide).
 */
import type { Cluster, CmekClusterInfo, CmekStatus } from '../cloud/schemas.js';
import { CloudApiError } from '../cloud/errors.js';
import { OperatorError } from '../errors.js';
import { callOptions, type ClusterRef, type CmekEnv } from './context.js';
import { currentKey, failureMessages, overallStatus, regionInfo } from './key-infos.js';

export type RegionOutcome = {
  region: string;
  status: CmekStatus | 'NOT_ENABLED';
  key_uri?: string;
  user_message?: string;
};

/** Status, current key and failure message of each listed region. */
export function regionOutcomes(info: CmekClusterInfo | null, regions: readonly string[]): RegionOutcome[] {
  return regions.map((region) => {
    const found = regionInfo(info, region);
    if (!found) return { region, status: 'NOT_ENABLED' };
    const key = currentKey(found);
    const message = failureMessages(found)[0];
    return {
      region,
      status: found.status ?? overallStatus(info),
      ...(key?.spec?.uri ? { key_uri: key.spec.uri } : {}),
      ...(message ? { user_message: message } : {}),
    };
  });
}

/** One line per region, for the text rendering. */
export function describeOutcomes(outcomes: readonly RegionOutcome[]): string {
  return outcomes.map((outcome) => `- ${outcome.region}: ${outcome.status}${outcome.user_message ? ` - ${outcome.user_message}` : ''}`).join('\n');
}

/**
 * Polls GET /cmek until every region is terminal, forwarding progress. Cancellation or a failure
 * while waiting says the request was already accepted, so it must not be sent again.
 */
export async function waitForCmek(env: CmekEnv, cluster: ClusterRef, operation: string): Promise<CmekClusterInfo> {
  try {
    return await env.cloud.waitForCmek(cluster.id, {
      ...callOptions(env),
      onProgress: (progress) => env.progress(progress.done, progress.total, progress.message),
    });
  } catch (error) {
    const why = env.signal.aborted
      ? `Waiting was cancelled, but the ${operation} request had already been accepted; CockroachDB Cloud carries on without us.`
      : error instanceof CloudApiError || error instanceof OperatorError
        ? `The ${operation} request was accepted, but waiting for it stopped: ${error.why}`
        : undefined;
    if (!why) throw error;
    throw new OperatorError(
      `Stopped waiting for the ${operation} of ${cluster.name}`,
      why,
      `run get_cmek_status ${cluster.name} to follow it; do not send the ${operation} again while it runs.`,
      {
        auditOutcome: 'succeeded',
      },
    );
  }
}

/** The observed CMEK state attached to an ambiguous mutation failure, when it is one. */
export function ambiguousFailure(error: unknown): { error: CloudApiError; observed: CmekClusterInfo | null | undefined } | undefined {
  if (error instanceof CloudApiError && error.ambiguous) return { error, observed: error.observed };
  return undefined;
}

/** An OperatorError for an ambiguous mutation whose outcome the observed state does not settle. */
export function ambiguousError(
  cluster: ClusterRef,
  operation: string,
  error: CloudApiError,
  observed: CmekClusterInfo | null | undefined,
  regions: readonly string[],
): OperatorError {
  const state = observed === undefined ? '' : `\nPer region now:\n${describeOutcomes(regionOutcomes(observed, regions))}`;
  return new OperatorError(
    `The ${operation} request for ${cluster.name} may or may not have been applied`,
    `${error.why}${state}`,
    `run get_cmek_status ${cluster.name} and compare it with the intended change; retry only if the ${operation} did not start${error.requestId ? ` (upstream request id ${error.requestId})` : ''}.`,
    { auditOutcome: 'failed', ambiguous: true },
  );
}

/**
 * Sends a CMEK mutation exactly once. After an ambiguous failure (timeout, reset, 5xx) the state the
 * client read back settles it: when `applied(observed)` the change took effect and that state is
 * returned; otherwise an OperatorError reports what is known. Other failures are rethrown.
 */
export async function sendOnce(
  cluster: ClusterRef,
  operation: string,
  regions: readonly string[],
  send: () => Promise<CmekClusterInfo>,
  applied: (observed: CmekClusterInfo | null | undefined) => boolean,
): Promise<CmekClusterInfo> {
  try {
    return await send();
  } catch (error) {
    const ambiguous = ambiguousFailure(error);
    if (!ambiguous) throw error;
    if (!applied(ambiguous.observed)) throw ambiguousError(cluster, operation, ambiguous.error, ambiguous.observed, regions);
    return ambiguous.observed!;
  }
}

/** Refuses a CMEK change while another cluster operation runs (the API would answer 409). */
export function refuseWhileOperationRuns(cluster: Cluster, tool: string): void {
  const operation = cluster.operation_status ?? '';
  if (!operation.endsWith('_RUNNING')) return;
  throw new OperatorError(
    `${tool} refused for ${cluster.name}`,
    `Operation ${operation} is running on the cluster; CMEK changes must wait. Nothing was changed.`,
    `wait until it finishes (list_clusters shows the state), then run ${tool} again.`,
    {
      auditOutcome: 'refused',
    },
  );
}
