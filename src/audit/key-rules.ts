/**
 * Findings about one CMEK key as its KMS describes it. The current key must be usable, rotate
 * automatically, be protected against deletion and grant CockroachDB exactly what it needs. A past
 * key still in key_infos protects data written under it: enabled is right (info), disabled or
 * scheduled for deletion is critical. What the KMS would not tell us is noted, never guessed.
 */
import type { CmekKeyInfo } from '../cloud/schemas.js';
import { ageInDays } from '../cmek/context.js';
import type { AccessCheck, KeyDescription, KmsKeyType } from '../kms/provider.js';
import { kmsProvider } from '../kms/providers/index.js';
import { cancelDeletion, enableKey, enablePurgeProtection, enableRotation, narrowGrant } from './kms-fixes.js';
import type { KmsLookup } from './kms-lookup.js';
import type { AuditedKey, KeyKmsView, RawFinding } from './types.js';

/** A destroy/soft-delete window shorter than this leaves little time to notice a mistaken deletion. */
export const SHORT_DELETION_WINDOW_DAYS = 30;
/** A CMEK key spec older than this has not been re-applied (rotated) for a year. */
export const ROTATION_DUE_DAYS = 365;

export interface KeyContext {
  cluster: { id: string; name: string };
  region: string;
  role: 'current' | 'past';
  type: KmsKeyType;
  info: CmekKeyInfo;
  now: number;
}

export interface KeyAudit {
  key: AuditedKey;
  findings: RawFinding[];
  /** Why something could not be verified ("<uri>: <reason>"). */
  unverified: string[];
}

function kmsView(description: KeyDescription): KeyKmsView {
  return {
    state: description.state,
    usable: description.usable,
    rotation_automatic: description.rotation.automatic,
    ...(description.rotation.periodDays !== undefined ? { rotation_period_days: description.rotation.periodDays } : {}),
    deletion_scheduled: description.deletion.scheduled,
    ...(description.deletion.scheduledFor ? { deletion_scheduled_for: description.deletion.scheduledFor } : {}),
    ...(description.deletion.windowDays !== undefined ? { deletion_window_days: description.deletion.windowDays } : {}),
    ...(description.deletion.purgeProtection !== undefined ? { purge_protection: description.deletion.purgeProtection } : {}),
  };
}

const PAST_KEY_WHY = 'It is a past key still listed in key_infos: data written under it needs it to be read.';

type KeyFinding = Pick<RawFinding, 'code' | 'severity' | 'title' | 'evidence' | 'fix'>;

function about(ctx: KeyContext, uri: string, fields: KeyFinding): RawFinding {
  return { cluster: ctx.cluster, region: ctx.region, key: uri, ...fields };
}

function pastKeyFinding(ctx: KeyContext, uri: string, key: KeyDescription): KeyFinding {
  if (key.deletion.scheduled) {
    return {
      code: 'past_key_pending_deletion',
      severity: 'critical',
      title: 'Past CMEK key is scheduled for deletion',
      evidence: `KMS state ${key.state}, ${scheduledText(key)}. ${PAST_KEY_WHY} Once deleted, that data is unreadable for good.`,
      fix: { tool: 'manual', description: `Cancel the deletion now: ${cancelDeletion(ctx.type, uri)}. Keep the key enabled for as long as key_infos lists it.` },
    };
  }
  if (!key.usable) {
    return {
      code: 'past_key_disabled',
      severity: 'critical',
      title: 'Past CMEK key is disabled',
      evidence: `KMS state ${key.state}. ${PAST_KEY_WHY} Nodes that restart cannot read it.`,
      fix: { tool: 'manual', description: `Re-enable it: ${enableKey(ctx.type, uri)}.` },
    };
  }
  return {
    code: 'past_key_retained',
    severity: 'info',
    title: 'Past CMEK key kept enabled (correct)',
    evidence: `KMS state ${key.state}. ${PAST_KEY_WHY} Keeping it enabled is required, not a problem.`,
    fix: { tool: 'none', description: 'Nothing to do: never disable or delete it while key_infos lists it.' },
  };
}

function scheduledText(key: KeyDescription): string {
  return `scheduled for deletion${key.deletion.scheduledFor ? ` on ${key.deletion.scheduledFor}` : ''}`;
}

function currentKeyFindings(ctx: KeyContext, uri: string, key: KeyDescription): KeyFinding[] {
  const cluster = ctx.cluster.name;
  if (key.deletion.scheduled) {
    return [
      {
        code: 'current_key_pending_deletion',
        severity: 'critical',
        title: 'Current CMEK key is scheduled for deletion',
        evidence: `KMS state ${key.state}, ${scheduledText(key)}. The cluster encrypts with this key now; after deletion its data is unreadable.`,
        fix: { tool: 'manual', description: `Cancel the deletion now: ${cancelDeletion(ctx.type, uri)}; then run get_cmek_status on ${cluster}.` },
      },
    ];
  }
  const findings: KeyFinding[] = [];
  if (!key.usable) {
    findings.push({
      code: 'current_key_unusable',
      severity: 'critical',
      title: 'Current CMEK key cannot be used',
      evidence: `KMS state ${key.state}; CMEK key status ${ctx.info.status ?? 'unknown'}. Restarted nodes cannot rejoin and managed backups fail while the key is unusable.`,
      fix: { tool: 'manual', description: `Re-enable the key (${enableKey(ctx.type, uri)}), then run get_cmek_status on ${cluster} and re-run rotate_cmek if a rotation failed.` },
    });
  }
  if (!key.rotation.automatic) {
    const age = ageInDays(ctx.info.created_at, ctx.now);
    findings.push({
      code: 'rotation_not_automatic',
      severity: 'medium',
      title: 'Automatic key rotation is off',
      evidence: `The KMS reports no automatic rotation for the current key${age === undefined ? '' : `; CMEK has used it since ${ctx.info.created_at} (${age} days)`}.`,
      fix: {
        tool: 'rotate_cmek',
        arguments: { cluster, regions: [ctx.region], mode: 'new_version' },
        description: `Turn on automatic rotation (${enableRotation(ctx.type, uri)}); rotate now with rotate_cmek, which also makes CockroachDB re-wrap with the new version.`,
      },
    });
  }
  return findings;
}

function protectionFindings(ctx: KeyContext, uri: string, key: KeyDescription): KeyFinding[] {
  const { purgeProtection, windowDays } = key.deletion;
  const purgeFix = enablePurgeProtection(ctx.type, uri);
  if (purgeFix && purgeProtection === false && windowDays === undefined) {
    return [
      {
        code: 'soft_delete_disabled',
        severity: 'critical',
        title: 'Key Vault soft delete is off',
        evidence: 'The key is purgeable with no recovery window: a deletion destroys it at once.',
        fix: { tool: 'manual', description: 'Move the key to a vault with soft delete (90 days) and purge protection, then rotate CMEK to it with rotate_cmek mode new_key.' },
      },
    ];
  }
  const findings: KeyFinding[] = [];
  if (purgeFix && purgeProtection === false) {
    findings.push({
      code: 'purge_protection_disabled',
      severity: 'high',
      title: 'Key Vault purge protection is off',
      evidence: `Soft delete keeps a deleted key ${windowDays} days, but anyone with keys/purge can destroy it before then.`,
      fix: { tool: 'manual', description: `Enable purge protection: ${purgeFix}.` },
    });
  }
  const fixedWindow = kmsProvider(ctx.type).deletion.fixedWindow;
  if (fixedWindow && windowDays !== undefined && windowDays < SHORT_DELETION_WINDOW_DAYS) {
    const what = fixedWindow.setting;
    findings.push({
      code: 'deletion_window_short',
      severity: 'low',
      title: 'Short deletion recovery window',
      evidence: `A deleted key is recoverable for only ${windowDays} days (${what}).`,
      fix: { tool: 'manual', description: `Prefer keys with a ${SHORT_DELETION_WINDOW_DAYS}+ day window at the next rotation (provision_cmek_key, then rotate_cmek mode new_key).` },
    });
  }
  return findings;
}

function accessFindings(ctx: KeyContext, principal: string, access: AccessCheck): KeyFinding[] {
  const findings: KeyFinding[] = [];
  if (!access.granted) {
    findings.push({
      code: 'key_access_missing',
      severity: 'high',
      title: 'CockroachDB lacks required permissions on the key',
      evidence: `${principal} is missing ${access.missing.join(', ') || 'required permissions'}${access.detail ? `. ${access.detail}` : ''}`,
      fix: { tool: 'manual', description: `Grant ${principal} what CMEK needs on the key (provision_cmek_key shows the exact grant), then run get_cmek_status on ${ctx.cluster.name}.` },
    });
  }
  if (access.broader.length > 0) {
    findings.push({
      code: 'key_policy_too_broad',
      severity: 'high',
      title: 'Key grants more than CockroachDB needs',
      evidence: `Broader than needed: ${access.broader.join('; ')}.`,
      fix: { tool: 'manual', description: `Narrow the grant: ${narrowGrant(ctx.type)}.` },
    });
  }
  return findings;
}

/** Checks one key in its KMS (describe + access, both memoised per run). */
export async function auditKey(ctx: KeyContext, lookup: KmsLookup | undefined): Promise<KeyAudit> {
  const uri = ctx.info.spec?.uri ?? '';
  const age = ageInDays(ctx.info.created_at, ctx.now);
  const key: AuditedKey = {
    uri,
    type: ctx.type,
    role: ctx.role,
    ...(ctx.info.status ? { cmek_status: ctx.info.status } : {}),
    ...(ctx.info.created_at ? { created_at: ctx.info.created_at } : {}),
    ...(age !== undefined ? { age_days: age } : {}),
    verified: false,
  };
  const findings: KeyFinding[] = [];
  const unverified: string[] = [];
  if (ctx.role === 'current' && age !== undefined && age > ROTATION_DUE_DAYS && ctx.info.status === 'ENABLED') {
    findings.push({
      code: 'cmek_rotation_due',
      severity: 'info',
      title: 'CMEK key spec not rotated for over a year',
      evidence: `CockroachDB has wrapped with this key spec since ${ctx.info.created_at} (${age} days). KMS-side rotation alone is not picked up: only PUT /cmek re-wraps.`,
      fix: { tool: 'rotate_cmek', arguments: { cluster: ctx.cluster.name, regions: [ctx.region], mode: 'new_version' }, description: 'Rotate per your cryptoperiod with rotate_cmek.' },
    });
  }
  const done = () => ({ key, findings: findings.map((finding) => about(ctx, uri, finding)), unverified });
  if (!lookup || !uri) return done();

  const described = await lookup.describe(ctx.type, uri);
  if (described.ok) {
    key.verified = true;
    key.kms = kmsView(described.value);
    findings.push(
      ...(ctx.role === 'past' ? [pastKeyFinding(ctx, uri, described.value)] : currentKeyFindings(ctx, uri, described.value)),
      ...protectionFindings(ctx, uri, described.value),
    );
  } else {
    unverified.push(`${uri}: ${described.error}`);
  }
  const principal = ctx.info.spec?.auth_principal;
  if (!principal) return done();
  const access = await lookup.access(ctx.type, uri, principal);
  if (!access.ok) {
    if (described.ok) unverified.push(`${uri} (access of ${principal}): ${access.error}`);
  } else if (!access.value.verified) {
    unverified.push(`${uri} (access of ${principal}): ${access.value.detail ?? 'the key policy could not be read'}`);
  } else {
    findings.push(...accessFindings(ctx, principal, access.value));
  }
  return done();
}
