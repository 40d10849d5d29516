/**
 * Which compliance control each finding is evidence for. Encryption at rest and key management
 * map to SOC 2 CC6.1, HIPAA 164.312(a)(2)(iv) and PCI DSS v4.0.1 requirement 3 (3.5.1 stored data
 * unreadable, 3.6.1 keys protected against disclosure and misuse, 3.7.4 key change at the end of
 * the cryptoperiod, 3.7.5 retirement/replacement/destruction of keys). Certificates protect data in
 * transit: SOC 2 CC6.7, HIPAA 164.312(e)(2)(ii). They are NOT mapped to PCI DSS 4.2.1, which is
 * about transmission over open, public networks, not a cluster's internal node certificates.
 * This is technical evidence for an assessor, not an attestation.
 */
import { createHash } from 'node:crypto';
import { SEVERITIES, type ControlStatus, type Finding, type Framework, type FrameworkSummary, type RawFinding, type Severity } from './types.js';

interface Control {
  framework: Framework;
  id: string;
  title: string;
}

const CONTROLS: Record<string, Control> = {
  'SOC2 CC6.1': {
    framework: 'SOC2',
    id: 'CC6.1',
    title: 'Logical access security over protected information assets, including encryption and protection of encryption keys',
  },
  'SOC2 CC6.7': { framework: 'SOC2', id: 'CC6.7', title: 'Restricts and protects information in transmission (encryption in transit)' },
  'HIPAA 164.312(a)(2)(iv)': { framework: 'HIPAA', id: '164.312(a)(2)(iv)', title: 'Encryption and decryption of ePHI at rest (addressable)' },
  'HIPAA 164.312(e)(2)(ii)': { framework: 'HIPAA', id: '164.312(e)(2)(ii)', title: 'Encryption of ePHI in transmission (addressable)' },
  'PCI_DSS 3.5.1': { framework: 'PCI_DSS', id: '3.5.1', title: 'Stored account data is rendered unreadable with strong cryptography' },
  'PCI_DSS 3.6.1': {
    framework: 'PCI_DSS',
    id: '3.6.1',
    title: 'Cryptographic keys are protected against disclosure and misuse (fewest custodians, protected storage)',
  },
  'PCI_DSS 3.7.4': { framework: 'PCI_DSS', id: '3.7.4', title: 'Keys are changed at the end of their defined cryptoperiod' },
  'PCI_DSS 3.7.5': {
    framework: 'PCI_DSS',
    id: '3.7.5',
    title: 'Retired or replaced keys are handled safely (retained only as needed, destruction controlled)',
  },
};

const FRAMEWORK_NAMES: Record<Framework, string> = { SOC2: 'SOC 2 (Trust Services Criteria 2017)', HIPAA: 'HIPAA Security Rule', PCI_DSS: 'PCI DSS v4.0.1' };

const AT_REST = ['SOC2 CC6.1', 'HIPAA 164.312(a)(2)(iv)'];
const IN_TRANSIT = ['SOC2 CC6.7', 'HIPAA 164.312(e)(2)(ii)'];

/** Controls by finding code; certificate codes are matched by pattern below. */
const BY_CODE: Record<string, string[]> = {
  cmek_not_enabled: [...AT_REST, 'PCI_DSS 3.6.1'],
  cmek_not_available_on_plan: [...AT_REST, 'PCI_DSS 3.6.1'],
  region_without_cmek: [...AT_REST, 'PCI_DSS 3.6.1'],
  cmek_operation_failed: [...AT_REST, 'PCI_DSS 3.6.1', 'PCI_DSS 3.7.4'],
  cmek_operation_in_progress: [...AT_REST, 'PCI_DSS 3.7.4'],
  cmek_revoked: [...AT_REST, 'PCI_DSS 3.7.5'],
  cmek_covers_new_writes_only: [...AT_REST, 'PCI_DSS 3.5.1'],
  current_key_unusable: [...AT_REST, 'PCI_DSS 3.6.1', 'PCI_DSS 3.7.5'],
  current_key_pending_deletion: [...AT_REST, 'PCI_DSS 3.6.1', 'PCI_DSS 3.7.5'],
  past_key_pending_deletion: [...AT_REST, 'PCI_DSS 3.7.5'],
  past_key_disabled: [...AT_REST, 'PCI_DSS 3.7.5'],
  past_key_retained: [...AT_REST, 'PCI_DSS 3.7.5'],
  rotation_not_automatic: [...AT_REST, 'PCI_DSS 3.7.4'],
  cmek_rotation_due: [...AT_REST, 'PCI_DSS 3.7.4'],
  key_policy_too_broad: [...AT_REST, 'PCI_DSS 3.6.1'],
  key_access_missing: [...AT_REST, 'PCI_DSS 3.6.1'],
  purge_protection_disabled: [...AT_REST, 'PCI_DSS 3.6.1'],
  deletion_window_short: [...AT_REST, 'PCI_DSS 3.6.1'],
  kms_check_unverified: [...AT_REST, 'PCI_DSS 3.6.1', 'PCI_DSS 3.7.4'],
  kms_checks_skipped: [...AT_REST, 'PCI_DSS 3.6.1', 'PCI_DSS 3.7.4'],
  store_not_encrypted: [...AT_REST, 'PCI_DSS 3.5.1'],
  store_encryption_unverified: [...AT_REST, 'PCI_DSS 3.5.1'],
  certificate_check_unverified: IN_TRANSIT,
};

/** Every control a finding code maps to, across all frameworks. */
export function controlsFor(code: string): string[] {
  if (BY_CODE[code]) return BY_CODE[code];
  if (/certificate/.test(code)) return IN_TRANSIT;
  throw new Error(`no control mapping for finding code ${code}`);
}

/** Attaches the stable id and the controls of the selected frameworks. */
export function finalizeFinding(raw: RawFinding, frameworks: readonly Framework[]): Finding {
  const subject = [raw.code, raw.cluster?.id ?? '', raw.target ?? '', raw.node ?? '', raw.region ?? '', raw.key ?? ''].join('|');
  const id = `F-${createHash('sha256').update(subject).digest('hex').slice(0, 10)}`;
  const controls = controlsFor(raw.code).filter((control) => frameworks.includes(CONTROLS[control]!.framework));
  return { id, ...raw, controls };
}

const zeroCounts = (): Record<Severity, number> => ({ critical: 0, high: 0, medium: 0, low: 0, info: 0 });

const UNVERIFIED = new Set(['kms_check_unverified', 'kms_checks_skipped', 'store_encryption_unverified', 'certificate_check_unverified']);

/** What the audit could look at: at rest (clusters or stores audited), in transit (self-hosted certificates read). */
export interface Coverage {
  complete: boolean;
  atRest: boolean;
  inTransit: boolean;
}

/**
 * Per framework and control: findings by severity and a status. A control fails on any finding
 * above info; it is incomplete when nothing failed but something could not be checked (the audit
 * stopped, a cluster or target failed, a check was unverified or skipped); not_assessed when the
 * audit had nothing it covers (e.g. in-transit controls without self-hosted targets: Cloud manages
 * node TLS itself).
 */
export function summarizeFrameworks(findings: readonly Finding[], frameworks: readonly Framework[], coverage: Coverage): FrameworkSummary[] {
  return frameworks.map((framework) => {
    const controls = Object.entries(CONTROLS)
      .filter(([, control]) => control.framework === framework)
      .map(([key, control]) => {
        const mapped = findings.filter((finding) => finding.controls.includes(key));
        const counts = zeroCounts();
        for (const finding of mapped) counts[finding.severity] += 1;
        const assessed = IN_TRANSIT.includes(key) ? coverage.inTransit : coverage.atRest;
        const failed = SEVERITIES.some((severity) => severity !== 'info' && counts[severity] > 0);
        const unverified = !coverage.complete || mapped.some((finding) => UNVERIFIED.has(finding.code));
        const status: ControlStatus = failed ? 'fail' : !assessed ? 'not_assessed' : unverified ? 'incomplete' : 'pass';
        return { control: `${framework} ${control.id}`, title: control.title, status, findings: counts };
      });
    return { framework, name: FRAMEWORK_NAMES[framework], status: worstStatus(controls.map((c) => c.status)), controls };
  });
}

const STATUS_ORDER: readonly ControlStatus[] = ['fail', 'incomplete', 'not_assessed', 'pass'];

function worstStatus(statuses: readonly ControlStatus[]): ControlStatus {
  return STATUS_ORDER.find((status) => statuses.includes(status)) ?? 'not_assessed';
}

/** Findings by severity. */
export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts = zeroCounts();
  for (const finding of findings) counts[finding.severity] += 1;
  return counts;
}
