/**
 * Findings about one CMEK key as its KMS describes it. The current key must be usable, rotate
 * automatically, be protected against deletion and grant CockroachDB exactly what it needs. A past
 * key still in key_infos protects data written under it: enabled is right (info), disabled or
 * scheduled for deletion is critical. What the KMS would not tell us is noted, never guessed.
 */
import type { CmekKeyInfo } from '../cloud/schemas.js';
import { ageInDays } from '../cmek/context.js';
import { lastWrappedAt } from '../cmek/key-infos.js';
import type { AccessCheck, KeyDescription, KmsKeyType } from '../kms/provider.js';
import { kmsProvider, parseKeyUri } from '../kms/providers/index.js';
import { cancelDeletion, enableKey, enablePurgeProtection, enableRotation, narrowGrant } from './kms-fixes.js';
import type { KmsLookup } from './kms-lookup.js';
import type { AuditedKey, Fix, KeyKmsView, RawFinding } from './types.js';

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
      fix: {
        tool: 'manual',
        description: `Cancel the deletion now: ${cancelDeletion(ctx.type, uri)}. Keep the key enabled for as long as key_infos lists it.`,
      },
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
      fix: {
        tool: 'manual',
        description: `Re-enable the key (${enableKey(ctx.type, uri)}), then run get_cmek_status on ${cluster} and re-run rotate_cmek if a rotation failed.`,
      },
    });
  }
  if (!key.rotation.automatic) {
    const age = ageInDays(ctx.info.created_at, ctx.now);
    findings.push({
      code: 'rotation_not_automatic',
      severity: 'medium',
      title: 'Automatic key rotation is off',
      evidence: `The KMS reports no automatic rotation for the current key${age === undefined ? '' : `; CMEK has used it since ${ctx.info.created_at} (${age} days)`}.`,
      fix: automaticRotationFix(ctx, uri, key.aliases),
    });
  }
  return findings;
}

/**
 * Turning on automatic rotation is provision_cmek_key's job for a key it can find by name in the
 * cluster region (it reuses the key and turns rotation on); otherwise the KMS command. After it,
 * the next rotate_cmek makes CockroachDB re-wrap with the new version.
 */
function automaticRotationFix(ctx: KeyContext, uri: string, aliases: readonly string[] | undefined): Fix {
  const command = enableRotation(ctx.type, uri);
  const description = `Turn on automatic rotation in the KMS (${command}). A KMS rotation is picked up only when rotate_cmek re-wraps, so rotate_cmek on the cluster's rotation schedule too.`;
  const principal = ctx.info.spec?.auth_principal;
  const call = provisionArguments(ctx, uri, aliases);
  if (!call || !principal) return { tool: 'manual', description };
  return {
    tool: 'provision_cmek_key',
    arguments: { cluster: ctx.cluster.name, regions: [ctx.region], auth_principal: principal, ...call },
    description: `provision_cmek_key finds this key by name, keeps it and turns automatic rotation on (or run ${command}). A KMS rotation is picked up only when rotate_cmek re-wraps, so rotate_cmek on the cluster's rotation schedule too.`,
  };
}

/** The provision_cmek_key arguments that name exactly this key in this region, when the URI (or an alias) says them. */
function provisionArguments(ctx: KeyContext, uri: string, aliases: readonly string[] | undefined): Record<string, unknown> | undefined {
  let parsed;
  try {
    parsed = parseKeyUri(ctx.type, uri);
  } catch {
    return undefined;
  }
  const name = (value: string | undefined) => (value && /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(value) ? value : undefined);
  switch (parsed.type) {
    case 'AWS_KMS': {
      const alias = name((aliases ?? []).map((candidate) => candidate.replace(/^alias\//, '')).find((candidate) => name(candidate)));
      return alias && parsed.region === ctx.region ? { key_name: alias, aws_account_id: parsed.account } : undefined;
    }
    case 'GCP_CLOUD_KMS': {
      const key = name(parsed.cryptoKey);
      return key && parsed.location === ctx.region && /^[a-zA-Z0-9_-]{1,63}$/.test(parsed.keyRing)
        ? { key_name: key, gcp_project: parsed.project, gcp_key_ring: parsed.keyRing }
        : undefined;
    }
    case 'AZURE_KEY_VAULT': {
      const key = name(parsed.keyName);
      return key && /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(parsed.vaultName) ? { key_name: key, azure_vault: parsed.vaultName } : undefined;
    }
  }
}

function protectionFindings(ctx: KeyContext, uri: string, key: KeyDescription): KeyFinding[] {
  const { purgeProtection, windowDays } = key.deletion;
  const purgeFix = enablePurgeProtection(ctx.type, uri);
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
      fix: {
        tool: 'manual',
        description: `Prefer keys with a ${SHORT_DELETION_WINDOW_DAYS}+ day window at the next rotation (provision_cmek_key, then rotate_cmek mode new_key).`,
      },
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
      fix: {
        tool: 'manual',
        description: `Grant ${principal} what CMEK needs on the key (provision_cmek_key shows the exact grant), then run get_cmek_status on ${ctx.cluster.name}.`,
      },
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
  const wrapped = lastWrappedAt(ctx.info);
  const age = ageInDays(wrapped, ctx.now);
  const key: AuditedKey = {
    uri,
    type: ctx.type,
    role: ctx.role,
    ...(ctx.info.status ? { cmek_status: ctx.info.status } : {}),
    ...(ctx.info.created_at ? { created_at: ctx.info.created_at } : {}),
    ...(wrapped ? { last_wrapped_at: wrapped } : {}),
    ...(age !== undefined ? { age_days: age } : {}),
    verified: false,
  };
  const findings: KeyFinding[] = [];
  const unverified: string[] = [];
  if (ctx.role === 'current' && age !== undefined && age > ROTATION_DUE_DAYS && ctx.info.status === 'ENABLED') {
    findings.push({
      code: 'cmek_rotation_due',
      severity: 'info',
      title: 'CMEK key not re-wrapped for over a year',
      evidence: `CockroachDB last wrapped with this key on ${wrapped} (${age} days ago; key_info updated_at). KMS-side rotation alone is not picked up: only PUT /cmek re-wraps.`,
      fix: {
        tool: 'rotate_cmek',
        arguments: { cluster: ctx.cluster.name, regions: [ctx.region], mode: 'new_version' },
        description: 'Rotate per your cryptoperiod with rotate_cmek.',
      },
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
