/**
 * The shapes of a fleet encryption audit: findings, per-cluster and per-SQL-target results, and
 * the report. Field names are snake_case because they go out as the tool's structured content.
 */
import type { CloudProvider, Plan } from '../cloud/schemas.js';
import type { Severity } from '../certs/thresholds.js';

export type { Severity };

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const satisfies readonly Severity[];

export const FRAMEWORKS = ['SOC2', 'HIPAA', 'PCI_DSS'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** What to do about a finding: the tool to call next ("manual" when no tool of this server does it). */
export interface Fix {
  tool: string;
  arguments?: Record<string, unknown>;
  description: string;
}

export interface Finding {
  /** Stable across runs for the same problem (hash of code, subject, region and key). */
  id: string;
  code: string;
  severity: Severity;
  /** The Cloud cluster it concerns. */
  cluster?: { id: string; name: string };
  /** The self-hosted SQL target (and node) it concerns. */
  target?: string;
  node?: string;
  region?: string;
  /** Key URI. */
  key?: string;
  title: string;
  evidence: string;
  /** Controls of the selected frameworks, e.g. "SOC2 CC6.1". */
  controls: string[];
  fix: Fix;
}

/** A finding before the control mapping and id are attached. */
export type RawFinding = Omit<Finding, 'id' | 'controls'>;

/** What the KMS said about a key, when it could be asked. */
export interface KeyKmsView {
  state: string;
  usable: boolean;
  rotation_automatic: boolean;
  rotation_period_days?: number;
  deletion_scheduled: boolean;
  deletion_scheduled_for?: string;
  deletion_window_days?: number;
  purge_protection?: boolean;
}

export interface AuditedKey {
  uri: string;
  type: string;
  role: 'current' | 'past';
  cmek_status?: string;
  created_at?: string;
  /** When CockroachDB last wrapped with this key (key_info updated_at while ENABLED; see lastWrappedAt). */
  last_wrapped_at?: string;
  /** Days since last_wrapped_at. */
  age_days?: number;
  /** Absent when the KMS was not asked (include_kms false) or could not answer (see verified). */
  kms?: KeyKmsView;
  /** True when the KMS answered for this key. */
  verified: boolean;
}

export interface AuditedRegion {
  region: string;
  status: string;
  keys: AuditedKey[];
}

export interface ClusterResult {
  id: string;
  name: string;
  plan: Plan;
  cloud_provider: CloudProvider;
  state: string;
  labels: Record<string, string>;
  /** audited; failed (an API call failed: see error); not_audited (stopped before it ran). */
  status: 'audited' | 'failed' | 'not_audited';
  /** Whether CMEK is possible: false below Advanced; "cannot_verify" when not in use (the add-on is not visible in the API). */
  cmek_possible: boolean | 'cannot_verify';
  cmek_status?: string;
  operation_status?: string;
  regions: AuditedRegion[];
  error?: string;
}

export interface CertificateView {
  node: string;
  type: string;
  expires_at: string | null;
  days_left: number | null;
  status: string;
}

export interface StoreView {
  node: string | null;
  store_id: number;
  algorithm: string;
  encrypted: boolean | null;
}

export interface SqlTargetResult {
  name: string;
  status: 'audited' | 'failed' | 'not_audited';
  server?: string;
  certificates: CertificateView[];
  stores: StoreView[];
  notes: string[];
  error?: string;
}

export interface ControlSummary {
  control: string;
  title: string;
  status: ControlStatus;
  /** Findings mapped to the control, by severity. */
  findings: Record<Severity, number>;
}

/**
 * fail: a finding above info; incomplete: none, but something could not be checked; not_assessed:
 * nothing in scope covers the control; pass: checked and clean.
 */
export type ControlStatus = 'fail' | 'incomplete' | 'not_assessed' | 'pass';

export interface FrameworkSummary {
  framework: Framework;
  name: string;
  status: ControlStatus;
  controls: ControlSummary[];
}

export interface AuditStop {
  reason: 'cancelled' | 'time_limit';
  /** e.g. "Cancelled after 12 of 40 clusters". */
  message: string;
}

export interface AuditSummary {
  clusters_in_scope: number;
  clusters_audited: number;
  clusters_failed: number;
  clusters_not_audited: number;
  sql_targets: number;
  sql_targets_failed: number;
  findings: Record<Severity, number>;
  kms: 'checked' | 'skipped';
  kms_keys_checked: number;
  kms_keys_unverified: number;
}

export interface AuditReport {
  generated_at: string;
  scope: string;
  frameworks: Framework[];
  /** False when cancelled, stopped by the time limit, or when any cluster or target failed. */
  complete: boolean;
  stopped?: AuditStop;
  summary: AuditSummary;
  framework_summary: FrameworkSummary[];
  clusters: ClusterResult[];
  sql_targets: SqlTargetResult[];
  findings: Finding[];
  errors: Array<{ subject: string; message: string }>;
}
