/**
 * One cluster's findings by the audit's own rules, for get_cmek_status: status and audit read the
 * same key_infos and ask the KMS the same questions, so they cannot disagree about a key's health
 * (a past key scheduled for deletion is critical in both, and in delete_kms_key's refusal).
 */
import type { Cluster, CmekClusterInfo } from '../cloud/schemas.js';
import type { KmsRegistry } from '../kms/provider.js';
import { auditAdvancedCluster, planFindings } from './cluster-rules.js';
import { createKmsLookup } from './kms-lookup.js';
import { SEVERITIES, type RawFinding, type Severity } from './types.js';

export interface ClusterHealth {
  /** The worst severity above info, or ok. */
  health: Severity | 'ok';
  /** Worst first. */
  findings: RawFinding[];
  /** Keys or grants the KMS would not tell us about, with why. */
  unverified: string[];
}

/** Audits one cluster (CMEK info as read; null when never enabled), asking the KMS about each key. */
export async function clusterHealth(
  cluster: Cluster,
  info: CmekClusterInfo | null,
  kms: KmsRegistry,
  signal: AbortSignal,
  now: number,
): Promise<ClusterHealth> {
  if (cluster.plan !== 'ADVANCED') return summarize(planFindings(cluster), []);
  const audit = await auditAdvancedCluster(cluster, info, createKmsLookup(kms, signal, 8), now);
  return summarize(audit.findings, audit.unverified);
}

function summarize(findings: RawFinding[], unverified: string[]): ClusterHealth {
  const rank = (severity: Severity) => SEVERITIES.indexOf(severity);
  const sorted = [...findings].sort((a, b) => rank(a.severity) - rank(b.severity));
  const worst = sorted.find((finding) => finding.severity !== 'info');
  return { health: worst?.severity ?? 'ok', findings: sorted, unverified };
}
