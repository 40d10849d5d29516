/** Next calls after the read-only CMEK answers: list_clusters, check_cmek_eligibility, get_cmek_status. */
import type { RawFinding } from '../audit/types.js';
import type { Cluster } from '../cloud/schemas.js';
import type { ClusterListEntry } from '../cmek/clusters.js';
import type { EligibilityReport } from '../cmek/eligibility.js';
import type { CmekStatusView } from '../cmek/status.js';
import type { KeyHomes } from '../deps.js';
import { clusterOnly, enableCall, provisionCalls } from './cmek-next.js';
import { MANUAL_STEP, TOOL_NAMES, nextSteps, suggest, type NextAction, type NextSteps, type ToolName } from './next-actions.js';

const FAILED = ['ENABLE_FAILED', 'ROTATE_FAILED', 'REVOKE_FAILED', 'DISABLE_FAILED'];

/** Failures first, then Advanced clusters without CMEK, then the fleet audit. */
export function listNext(clusters: readonly ClusterListEntry[], total: number, filtered: boolean): NextSteps {
  const actions: NextAction[] = [];
  const failed = clusters.find((cluster) => FAILED.includes(cluster.cmek_status));
  if (failed) actions.push(suggest('get_cmek_status', clusterOnly(failed), `${failed.name} reports CMEK ${failed.cmek_status}: read its user_message`));
  const unknown = clusters.find((cluster) => cluster.cmek_status === 'UNKNOWN');
  if (unknown) actions.push(suggest('get_cmek_status', clusterOnly(unknown), `the CMEK status of ${unknown.name} could not be read here (see cmek_error)`));
  const without = clusters.find((cluster) => cluster.plan === 'ADVANCED' && (cluster.cmek_status === 'NOT_ENABLED' || cluster.cmek_status === 'DISABLED'));
  if (without) actions.push(suggest('check_cmek_eligibility', clusterOnly(without), `${without.name} is Advanced without CMEK: check whether it can use it`));
  if (clusters.length) actions.push(suggest('audit_encryption_posture', {}, 'audit every cluster (keys, rotation, deletion protection) in one call'));
  if (!clusters.length && filtered && total > 0) actions.push(suggest('list_clusters', {}, 'no cluster matches the filter: list them all'));
  return actions.length ? nextSteps(actions) : nextSteps([], 'no clusters in this organization: create one in the CockroachDB Cloud Console first.');
}

/** Provisioning (dry run first) when the cluster can take CMEK; status when it has it; nothing when it cannot. */
export function eligibilityNext(cluster: Cluster, report: EligibilityReport, homes: KeyHomes): NextSteps {
  const ref = clusterOnly(cluster);
  const failed = (name: string) => report.checks.some((check) => check.check === name && check.result === 'fail');
  if (failed('plan') || failed('network_visibility')) return nextSteps([], report.nextStep);
  if (report.cmekEnabled)
    return nextSteps([suggest('get_cmek_status', ref, 'inspect its keys, their health and when they were last re-wrapped')], report.nextStep);
  if (failed('cmek_state')) {
    return report.nextStep.includes('support')
      ? nextSteps([], report.nextStep)
      : nextSteps([suggest('get_cmek_status', ref, 'watch the CMEK operation finish')], report.nextStep);
  }
  if (failed('operation_in_progress') || failed('state'))
    return nextSteps([suggest('get_cmek_status', ref, 'watch the running operation finish')], report.nextStep);
  const facts = { id: cluster.id, name: cluster.name, cloud_provider: cluster.cloud_provider, regions: cluster.regions.map((region) => region.name) };
  const provision = provisionCalls(facts, homes, 'preview the key and grants for every cluster region (dry run: creates nothing)', true);
  const enableFailed = report.checks.some((check) => check.check === 'cmek_state' && check.result === 'warn');
  const actions = enableFailed ? [suggest('get_cmek_status', ref, 'read why the earlier enable attempt failed'), ...provision] : provision;
  return nextSteps(actions, report.nextStep);
}

const SELF: ReadonlySet<string> = new Set(['get_cmek_status', 'manual', 'none']);

/** A finding's fix as a suggested call, when it names one of this server's tools. */
export function fixAction(finding: Pick<RawFinding, 'fix'>): NextAction | undefined {
  const { tool, arguments: args, description } = finding.fix;
  if (!(TOOL_NAMES as readonly string[]).includes(tool)) return undefined;
  return suggest(tool as ToolName, args ?? {}, description);
}

/**
 * From the state first (a failed or running operation decides what comes next), then the fixes of
 * the findings that name a tool. A critical or high finding that only the operator can fix (in
 * the KMS) goes first as the manual step of a re-check, so nobody skips past it.
 */
export function statusNext(cluster: Cluster, view: CmekStatusView, findings: readonly RawFinding[]): NextSteps {
  const ref = clusterOnly(cluster);
  if (cluster.plan !== 'ADVANCED') return nextSteps([suggest('check_cmek_eligibility', ref, 'see the way to CMEK for this plan')], view.next_step);
  const failures = view.regions.flatMap((region) => region.failures.map((message) => `${region.region}: ${message}`));
  const fixFirst = `fix what the user_message says${failures.length ? ` (${failures.join(' | ')})` : ''}`;
  const actions: NextAction[] = [];
  const status = view.status;
  if (status === 'ROTATE_FAILED' || view.regions.some((region) => region.status === 'ROTATE_FAILED')) {
    actions.push(
      suggest('rotate_cmek', { ...ref, mode: 'new_version' }, 'resume the failed rotation (only the failed regions, with the key they targeted)', {
        [MANUAL_STEP]: fixFirst,
      }),
    );
  } else if (status === 'ENABLE_FAILED') {
    const specs = view.regions.flatMap((region) =>
      region.current_key?.uri && region.current_key.auth_principal && region.current_key.type
        ? [
            {
              region: region.region,
              key_spec: { type: region.current_key.type as 'AWS_KMS', uri: region.current_key.uri, auth_principal: region.current_key.auth_principal },
            },
          ]
        : [],
    );
    const retry =
      specs.length === view.regions.length
        ? enableCall(cluster, specs, 'retry enabling with the same keys (dry run first)', true)
        : suggest('check_cmek_eligibility', ref, 'start over with eligibility and provisioning');
    actions.push({ ...retry, needs: { ...retry.needs, [MANUAL_STEP]: fixFirst } });
  } else if (status === 'REVOKE_FAILED' || status === 'DISABLE_FAILED' || status === 'REVOKED') {
    return nextSteps([], view.next_step);
  } else if (status === 'NOT_ENABLED' || status === 'DISABLED') {
    actions.push(suggest('check_cmek_eligibility', ref, 'check whether this cluster can use CMEK, then provision keys'));
  } else if (
    view.regions.some((region) => ['ENABLING', 'ROTATING', 'REVOKING', 'DISABLING'].includes(region.status)) ||
    ['ENABLING', 'ROTATING', 'REVOKING', 'DISABLING'].includes(status)
  ) {
    actions.push(suggest('get_cmek_status', ref, 'a CMEK operation is running: check again in a minute; start no other change meanwhile'));
  }
  const manual = findings.find(
    (finding) => (finding.severity === 'critical' || finding.severity === 'high') && !fixAction(finding) && finding.code !== 'cmek_operation_failed',
  );
  const fixes = findings.filter((finding) => !SELF.has(finding.fix.tool)).flatMap((finding) => fixAction(finding) ?? []);
  const ordered = [...actions, ...fixes];
  if (manual && ordered[0]?.needs?.[MANUAL_STEP] === undefined) {
    ordered.unshift(suggest('get_cmek_status', ref, `re-check after fixing ${manual.code} (${manual.severity})`, { [MANUAL_STEP]: manual.fix.description }));
  }
  if (ordered.length === 0) {
    if (view.regions.some((region) => region.status === 'NOT_ENABLED')) return nextSteps([], view.next_step);
    ordered.push(
      suggest('audit_encryption_posture', { clusters: [ref.cluster] }, 'nothing to fix here: audit this cluster against SOC 2, HIPAA and PCI DSS for evidence'),
    );
  }
  return nextSteps(ordered, 'Never disable or delete a past key: data written under it still needs it.');
}
