/**
 * Certificate expiry thresholds (DOMAIN.md): a CA with less than a year left needs a rotation
 * plan (the combined-CA procedure takes time); a node or client certificate with less than 90
 * days left needs a scheduled rotation, and less than 30 days means rotate now.
 */

export type ExpiryStatus = 'expired' | 'rotate_now' | 'schedule_rotation' | 'plan_rotation' | 'ok' | 'missing';
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** CA certificates sign others; leaf certificates are presented by nodes, clients and the UI. */
export type CertRole = 'ca' | 'leaf';

export const ROTATE_NOW_DAYS = 30;
export const LEAF_SCHEDULE_DAYS = 90;
export const CA_PLAN_DAYS = 365;

const DAY_MS = 86_400_000;

export interface ExpiryVerdict {
  status: ExpiryStatus;
  severity: Severity;
  /** Whole days left (negative once expired); null when missing. */
  daysLeft: number | null;
}

/**
 * Classifies one certificate's expiry. `warnDays` widens the leaf "schedule" window (and the CA
 * plan window when larger than a year); the 30-day "rotate now" line never moves.
 */
export function classifyExpiry(role: CertRole, expiresAtMs: number | null, nowMs: number, warnDays = LEAF_SCHEDULE_DAYS): ExpiryVerdict {
  if (expiresAtMs === null) return { status: 'missing', severity: 'info', daysLeft: null };
  const daysLeft = Math.floor((expiresAtMs - nowMs) / DAY_MS);
  if (expiresAtMs <= nowMs) return { status: 'expired', severity: 'critical', daysLeft };
  if (daysLeft < ROTATE_NOW_DAYS) return { status: 'rotate_now', severity: 'critical', daysLeft };
  if (role === 'ca') {
    if (daysLeft < LEAF_SCHEDULE_DAYS) return { status: 'schedule_rotation', severity: 'high', daysLeft };
    if (daysLeft < Math.max(CA_PLAN_DAYS, warnDays)) return { status: 'plan_rotation', severity: 'medium', daysLeft };
    return { status: 'ok', severity: 'info', daysLeft };
  }
  if (daysLeft < Math.max(warnDays, ROTATE_NOW_DAYS)) return { status: 'schedule_rotation', severity: 'high', daysLeft };
  return { status: 'ok', severity: 'info', daysLeft };
}

/** Orders severities, worst first. */
export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** The worst of several severities ('info' when none). */
export function worstSeverity(severities: Iterable<Severity>): Severity {
  let worst: Severity = 'info';
  for (const severity of severities) if (SEVERITY_RANK[severity] < SEVERITY_RANK[worst]) worst = severity;
  return worst;
}
