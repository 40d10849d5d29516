/**
 * The fleet audit: lists clusters page by page and audits each as soon as its page arrives, with
 * enough audits in flight to keep the Cloud API client's rate limiter busy (the limiter, not this
 * module, guarantees the limit is never exceeded). KMS look-ups are shared per key. SQL targets run
 * alongside. A cluster whose calls fail is reported failed; a stop (cancellation or time limit)
 * returns what was done, marked as partial.
 */
import { setMaxListeners } from 'node:events';
import type { CallOptions, CloudApi } from '../cloud/api.js';
import { CloudApiError } from '../cloud/errors.js';
import { resolveCluster } from '../cloud/resolve-cluster.js';
import type { Cluster, CmekClusterInfo } from '../cloud/schemas.js';
import { OperatorError, errorMessage } from '../errors.js';
import type { KmsRegistry } from '../kms/provider.js';
import type { SqlConnector } from '../sql/connector.js';
import { auditAdvancedCluster, baseResult, planFindings, type ClusterAudit } from './cluster-rules.js';
import { assembleReport } from './assemble-report.js';
import { createKmsLookup, type KmsLookup } from './kms-lookup.js';
import { auditSqlTarget, type TargetAudit } from './sql-targets.js';
import type { AuditReport, AuditStop, Framework } from './types.js';
import { WorkQueue } from './work-queue.js';

/** Which Cloud clusters to audit; `none`: self-hosted targets only (e.g. no Cloud API key). */
export type AuditScope =
  | { kind: 'all' }
  | { kind: 'clusters'; refs: string[] }
  | { kind: 'labels'; labels: Record<string, string> }
  | { kind: 'none'; reason: string };

export interface AuditOptions {
  scope: AuditScope;
  frameworks: readonly Framework[];
  includeKms: boolean;
  /** Named SQL targets to audit (self-hosted clusters). */
  sqlTargets: readonly string[];
  /** Stop starting work after this long and return what is done. */
  timeLimitMs?: number;
}

export interface AuditEnv {
  /** Required unless the scope is `none`. */
  cloud?: CloudApi;
  kms: KmsRegistry;
  sql: SqlConnector;
  now(): number;
  signal: AbortSignal;
  progress(done: number, total: number | undefined, message: string): Promise<void>;
  onRequestId(id: string): void;
  /** GET /cmek reads in flight: enough to keep the Cloud API rate limit saturated, few enough that list pages are not queued behind many. */
  concurrency: number;
  /** KMS calls in flight across providers. */
  kmsConcurrency: number;
}

const PROGRESS_INTERVAL_MS = 100;

/** Streams the clusters in scope into `queue`; returns whether the listing completed. */
async function listInScope(
  cloud: CloudApi | undefined,
  scope: AuditScope,
  call: CallOptions,
  queue: WorkQueue<Cluster>,
  selected: Cluster[],
  errors: AuditReport['errors'],
): Promise<boolean> {
  const seen = new Set<string>();
  const take = (clusters: readonly Cluster[]) => {
    const fresh: Cluster[] = [];
    for (const cluster of clusters) {
      if (seen.has(cluster.id) || (scope.kind === 'labels' && !Object.entries(scope.labels).every(([key, value]) => cluster.labels[key] === value))) continue;
      seen.add(cluster.id);
      fresh.push(cluster);
    }
    selected.push(...fresh);
    queue.push(...fresh);
  };
  try {
    if (scope.kind === 'none') return true;
    if (!cloud) throw new Error('runAudit: a cluster scope needs a Cloud API client');
    if (scope.kind === 'clusters') {
      const all = await cloud.listClusters(call);
      const resolved: Cluster[] = [];
      for (const ref of scope.refs) resolved.push(await resolveCluster(cloud, ref, { clusters: all }));
      take(resolved);
      return true;
    }
    take(await cloud.listClusters({ ...call, onPage: take }));
    return true;
  } catch (error) {
    if (call.signal?.aborted || !(error instanceof CloudApiError) || selected.length === 0) throw error;
    errors.push({ subject: 'cluster listing', message: `Listing stopped after ${selected.length} clusters: ${errorMessage(error)}` });
    return false;
  } finally {
    queue.close();
  }
}

/** Runs the audit. Throws only when nothing could be listed (or the scope names unknown clusters). */
export async function runAudit(env: AuditEnv, options: AuditOptions): Promise<AuditReport> {
  const controller = new AbortController();
  let stopReason: AuditStop['reason'] | undefined;
  const stop = (reason: AuditStop['reason']) => {
    stopReason ??= reason;
    controller.abort();
  };
  const onAbort = () => stop('cancelled');
  if (env.signal.aborted) onAbort();
  env.signal.addEventListener('abort', onAbort, { once: true });
  const timer = options.timeLimitMs === undefined ? undefined : setTimeout(() => stop('time_limit'), options.timeLimitMs);
  timer?.unref();
  const signal = controller.signal;
  // Every queued Cloud/KMS call listens on it; hundreds at once are expected, not a leak.
  setMaxListeners(1000, signal);
  const call: CallOptions = { signal, onRequestId: (id) => env.onRequestId(id) };
  const now = env.now();
  const lookup: KmsLookup | undefined = options.includeKms ? createKmsLookup(env.kms, signal, env.kmsConcurrency) : undefined;

  const queue = new WorkQueue<Cluster>();
  const selected: Cluster[] = [];
  const audits = new Map<string, ClusterAudit>();
  const errors: AuditReport['errors'] = [];
  let listed = false;
  let done = 0;
  let lastProgress = 0;
  const report = async (force = false) => {
    const at = Date.now();
    if (!force && at - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = at;
    const total = listed ? selected.length : undefined;
    await env.progress(done, total, `${done}${total === undefined ? '' : ` of ${total}`} clusters audited`).catch(() => {});
  };

  const finish = async (cluster: Cluster, audit: ClusterAudit) => {
    audits.set(cluster.id, audit);
    done += 1;
    await report();
  };
  const failed = (cluster: Cluster, error: unknown): ClusterAudit => {
    const message = error instanceof OperatorError ? errorMessage(error) : `Internal error while auditing this cluster: ${errorMessage(error)}`;
    errors.push({ subject: `cluster ${cluster.name} (${cluster.id})`, message });
    return { result: { ...baseResult(cluster, 'failed'), error: message }, findings: [], unverified: [] };
  };
  // Fetchers only read GET /cmek and hand the KMS analysis off, so a few of them keep the rate
  // limiter busy and a page request never queues behind a long line of CMEK reads.
  const analyses: Array<Promise<void>> = [];
  const { cloud } = env;
  const fetcher = async () => {
    if (!cloud) return;
    for (let cluster = await queue.next(); cluster && !signal.aborted; cluster = await queue.next()) {
      const current = cluster;
      if (current.plan !== 'ADVANCED') {
        await finish(current, { result: { ...baseResult(current, 'audited'), cmek_status: 'NOT_AVAILABLE' }, findings: planFindings(current), unverified: [] });
        continue;
      }
      let info: CmekClusterInfo | null;
      try {
        info = await cloud.getCmek(current.id, call);
      } catch (error) {
        if (signal.aborted) return;
        await finish(current, failed(current, error));
        continue;
      }
      analyses.push(
        auditAdvancedCluster(current, info, lookup, now).then(
          (audit) => finish(current, audit),
          (error: unknown) => (signal.aborted ? undefined : finish(current, failed(current, error))),
        ),
      );
    }
  };
  const auditTarget = async (name: string): Promise<TargetAudit> => {
    try {
      return await auditSqlTarget(env.sql, name, now, signal);
    } catch (error) {
      const broke = !signal.aborted;
      const message = broke ? errorMessage(error) : 'not audited: the audit stopped first';
      if (broke) errors.push({ subject: `SQL target ${name}`, message });
      return { result: { name, status: broke ? 'failed' : 'not_audited', certificates: [], stores: [], notes: [], error: message }, findings: [] };
    }
  };

  let targets: TargetAudit[];
  try {
    const sqlWork = Promise.all(options.sqlTargets.map(auditTarget));
    const workers = Promise.all(Array.from({ length: Math.max(1, env.concurrency) }, fetcher)).then(() => Promise.all(analyses));
    try {
      listed = await listInScope(cloud, options.scope, call, queue, selected, errors);
    } catch (error) {
      controller.abort();
      await Promise.allSettled([workers, sqlWork]);
      // Nothing listed (or an unknown cluster named) is a failure of the whole audit, unless we were stopped.
      if (!stopReason) throw error;
    }
    await workers;
    targets = await sqlWork;
    await report(true);
  } finally {
    clearTimeout(timer);
    env.signal.removeEventListener('abort', onAbort);
  }

  return assembleReport({
    options,
    generatedAt: now,
    clusters: selected.map((cluster) => audits.get(cluster.id) ?? { result: baseResult(cluster, 'not_audited'), findings: [], unverified: [] }),
    targets,
    errors,
    listed,
    done,
    ...(stopReason ? { stopReason } : {}),
    kms: lookup?.stats(),
  });
}
