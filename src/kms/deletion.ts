/**
 * Plans the deletion (or disabling) of a KMS key and refuses it while any cluster references the
 * key. Deletion is never immediate: every provider keeps a waiting window during which it can
 * be undone, and we never go below the provider's minimum.
 */
import type { CloudApi } from '../cloud/api.js';
import { OperatorError } from '../errors.js';
import { findKeyReferences, type ReferenceScan } from './key-references.js';
import { confirmationName, keyIdentity, kmsProvider, parseKeyUri, type ParsedKeyUri } from './providers/index.js';
import type { KeyDescription, KmsKeyType, KmsProvider } from './provider.js';

export type DeletionAction = 'schedule_deletion' | 'disable';

export interface DeletionPlan {
  /** What was asked for; executeKeyDeletion plans again from it to re-check every precondition. */
  input: PlanDeletionInput;
  type: KmsKeyType;
  uri: string;
  keyName: string;
  action: DeletionAction;
  windowDays?: number;
  /** When the key material would be gone for good (schedule_deletion only). */
  deletionDate?: string;
  key: KeyDescription;
  scan: ReferenceScan;
  consequences: string[];
  reversibility: string;
}

/**
 * Checks a deletion request before anything is sent: the URI parses for its provider and, where
 * the window is chosen at deletion, it stays within the provider's range (never below its minimum).
 */
export function validateDeletionRequest(type: KmsKeyType, uri: string, pendingWindowDays: number | undefined): ParsedKeyUri {
  const parsed = parseKeyUri(type, uri);
  const { label, deletion } = kmsProvider(type);
  const { minDays, maxDays, defaultDays } = deletion.window;
  if (deletion.windowChosenAtDeletion && pendingWindowDays !== undefined && (pendingWindowDays < minDays || pendingWindowDays > maxDays)) {
    throw new OperatorError(
      `Pending window of ${pendingWindowDays} days is out of range`,
      `${label} accepts ${minDays}-${maxDays} days; this server never goes below the provider minimum.`,
      `use pending_window_days between ${minDays} and ${maxDays} (default ${defaultDays}).`,
    );
  }
  return parsed;
}

function windowFor(provider: KmsProvider, key: KeyDescription, requested: number | undefined): number {
  const { deletion } = kmsProvider(provider.type);
  if (deletion.windowChosenAtDeletion) return requested ?? provider.deletionWindow.defaultDays;
  const fixed = key.deletion.windowDays ?? provider.deletionWindow.defaultDays;
  if (requested !== undefined && requested > fixed) {
    const where = deletion.fixedWindow?.where ?? 'the provider';
    throw new OperatorError(
      `Pending window of ${requested} days cannot be applied`,
      `On ${provider.type} the waiting window is fixed by ${where}: ${fixed} days.`,
      `omit pending_window_days (the ${fixed}-day window applies); a longer window cannot be set after creation.`,
    );
  }
  return fixed;
}

/** A status check of each cluster using the key; first, outside this server, cancelling a scheduled deletion. */
function referenceActions(scan: ReferenceScan, key: KeyDescription, type: KmsKeyType, parsed: ParsedKeyUri) {
  const clusters = [...new Set(scan.references.map((ref) => ref.clusterName))];
  const cancel = key.deletion.scheduled
    ? { manual_step: `cancel the key's scheduled deletion now: ${kmsProvider(type).remediation.cancelDeletion(parsed)}` }
    : undefined;
  return clusters.map((cluster, index) => ({
    tool: 'get_cmek_status',
    arguments: { cluster },
    why: `${cluster} uses this key: confirm its CMEK state (the key must stay enabled)`,
    ...(cancel && index === 0 ? { needs: cancel } : {}),
  }));
}

function referenceRefusal(scan: ReferenceScan, key: KeyDescription, type: KmsKeyType, parsed: ParsedKeyUri): OperatorError | undefined {
  const { references, unchecked } = scan;
  if (references.length > 0) {
    const lines = references.map(
      (ref) =>
        `${ref.clusterName} (${ref.clusterId}) region ${ref.region}: ${ref.current ? 'current key' : 'past key, still needed for data written under it'} [${ref.status}]`,
    );
    return new OperatorError(
      'Refusing: the key is in use',
      `CockroachDB Cloud references this key in CMEK key_infos:\n- ${lines.join('\n- ')}\nDeleting or disabling it would make that data unreadable; restarted nodes could not rejoin and backups would fail.${
        key.deletion.scheduled
          ? `\nCRITICAL: the key is ALREADY scheduled for deletion${key.deletion.scheduledFor ? ` on ${key.deletion.scheduledFor}` : ''}; cancel that deletion now: ${kmsProvider(type).remediation.cancelDeletion(parsed)}.`
          : ''
      }`,
      'keep the key enabled. To move a cluster off it, use rotate_cmek with mode new_key; even then the old key stays needed for data written under it. Check get_cmek_status for each cluster listed.',
      { references, auditOutcome: 'refused', next_actions: referenceActions(scan, key, type, parsed) },
    );
  }
  if (unchecked.length > 0) {
    return new OperatorError(
      'Refusing: cannot prove the key is unused',
      `The CMEK state of ${unchecked.length} cluster(s) could not be read: ${unchecked.map((c) => `${c.clusterName} (${c.reason})`).join('; ')}.`,
      'retry when the Cloud API answers for every cluster (check the API key role), then run delete_kms_key again.',
      { unchecked, auditOutcome: 'refused' },
    );
  }
  return undefined;
}

function undoText(type: KmsKeyType, action: DeletionAction, parsed: ParsedKeyUri, deletionDate?: string): string {
  return kmsProvider(type).deletion.undo(action, parsed, deletionDate);
}

export interface PlanDeletionInput {
  uri: string;
  action: DeletionAction;
  pendingWindowDays?: number;
  now: number;
}

/**
 * Reads the key and every cluster's CMEK state, then returns the plan, or throws an
 * OperatorError refusing the deletion (key in use, state unknown, window out of range).
 */
export async function planKeyDeletion(
  input: PlanDeletionInput,
  provider: KmsProvider,
  cloud: CloudApi,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void | Promise<void> } = {},
): Promise<DeletionPlan> {
  const parsed = validateDeletionRequest(provider.type, input.uri, input.pendingWindowDays);
  const key = await provider.describeKey(input.uri, options.signal);
  const windowDays = input.action === 'schedule_deletion' ? windowFor(provider, key, input.pendingWindowDays) : undefined;
  const canonical = parseKeyUri(provider.type, key.uri);
  const scan = await findKeyReferences(cloud, provider.type, keyIdentity(canonical), {
    signal: options.signal,
    onProgress: options.onProgress,
    resolveIdentity: async (uri) => {
      try {
        return keyIdentity(parseKeyUri(provider.type, (await provider.describeKey(uri, options.signal)).uri));
      } catch {
        return undefined;
      }
    },
  });
  const refusal = referenceRefusal(scan, key, provider.type, canonical);
  if (refusal) throw refusal;
  if (input.action === 'schedule_deletion' && key.deletion.scheduled) {
    throw new OperatorError(
      'The key is already scheduled for deletion',
      `State ${key.state}${key.deletion.scheduledFor ? `, deletion on ${key.deletion.scheduledFor}` : ''}.`,
      `nothing to do. ${undoText(provider.type, 'schedule_deletion', parsed, key.deletion.scheduledFor)}`,
      { auditOutcome: 'refused' },
    );
  }
  const deletionDate = windowDays === undefined ? undefined : new Date(input.now + windowDays * 86_400_000).toISOString();
  const consequences =
    input.action === 'disable'
      ? [
          'Every encrypt/decrypt with this key fails until it is re-enabled.',
          `No CockroachDB Cloud cluster references it (${scan.clustersScanned} cluster(s) checked).`,
        ]
      : [
          `The key becomes unusable now and its material is destroyed after ${windowDays} days${deletionDate ? ` (${deletionDate})` : ''}.`,
          'Anything still encrypted under it (outside CockroachDB Cloud too: backups, other applications) becomes unreadable for good after that date.',
          `No CockroachDB Cloud cluster references it (${scan.clustersScanned} cluster(s) checked).`,
        ];
  return {
    input,
    type: provider.type,
    uri: key.uri,
    keyName: confirmationName(canonical),
    action: input.action,
    ...(windowDays === undefined ? {} : { windowDays }),
    ...(deletionDate ? { deletionDate } : {}),
    key,
    scan,
    consequences,
    reversibility: undoText(provider.type, input.action, canonical, deletionDate),
  };
}

/** What differs between the approved plan and a fresh one, or undefined when nothing relevant does. */
function changeSinceApproval(approved: DeletionPlan, fresh: DeletionPlan): string | undefined {
  if (fresh.uri !== approved.uri) return `the key now resolves to ${fresh.uri}`;
  if (fresh.key.state !== approved.key.state) return `the key's state changed from ${approved.key.state} to ${fresh.key.state}`;
  if (fresh.windowDays !== approved.windowDays) return `the deletion window changed from ${approved.windowDays} to ${fresh.windowDays} days`;
  return undefined;
}

/**
 * Executes an approved plan. Immediately before the destructive call every precondition is
 * checked again against fresh state (the key re-read, every cluster's key_infos scanned again,
 * as planKeyDeletion does): a key that a cluster started using while the human was answering,
 * or whose state changed, is refused and nothing is sent.
 */
export async function executeKeyDeletion(
  plan: DeletionPlan,
  provider: KmsProvider,
  cloud: CloudApi,
  signal?: AbortSignal,
): Promise<{ state: string; deletionDate?: string; undo: string; note?: string }> {
  let fresh: DeletionPlan;
  try {
    fresh = await planKeyDeletion(plan.input, provider, cloud, { signal });
  } catch (error) {
    if (!(error instanceof OperatorError)) throw error;
    throw new OperatorError(`${error.what} (checked again after approval; nothing was sent)`, error.why, error.next, {
      ...error.details,
      auditOutcome: 'refused',
    });
  }
  const change = changeSinceApproval(plan, fresh);
  if (change) {
    throw new OperatorError(
      'Refusing: the key changed after approval',
      `Checked again immediately before ${plan.action === 'disable' ? 'disabling' : 'scheduling the deletion'}: ${change}. Nothing was sent.`,
      'run delete_kms_key again to see the current plan and confirm it anew.',
      { auditOutcome: 'refused' },
    );
  }
  if (plan.action === 'disable') {
    const key = await provider.disableKey(plan.uri, signal);
    return { state: key.state, undo: plan.reversibility };
  }
  const result = await provider.scheduleDeletion(plan.uri, plan.windowDays!, signal);
  return { state: result.state, deletionDate: result.deletionDate, undo: result.undo, ...(result.note ? { note: result.note } : {}) };
}
