/**
 * Flags of the `audit` command (a fleet audit without an MCP client, for pipelines): which
 * clusters and frameworks, the output format and file, and the severity that fails the run.
 */
import { FRAMEWORKS, type Framework, type Severity } from './audit/types.js';

export const AUDIT_FORMATS = ['text', 'json', 'markdown', 'html', 'sarif'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

/** The lowest severity that fails the run; `none`: findings never fail it. */
export const FAIL_ON = ['critical', 'high', 'medium', 'low', 'none'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface AuditCommandOptions {
  frameworks?: Framework[];
  format: AuditFormat;
  /** Write the report here instead of stdout. */
  output?: string;
  /** Replace an existing --output file (refused otherwise). */
  overwrite: boolean;
  failOn: Exclude<Severity, 'info'> | 'none';
  clusters?: string[];
  labels?: Record<string, string>;
  includeKms: boolean;
  /** Audit the configured SQL targets (self-hosted clusters) too. */
  includeSqlTargets: boolean;
  timeLimitMs?: number;
}

/** parseArgs options of the audit-only flags. */
export const AUDIT_FLAG_OPTIONS = {
  framework: { type: 'string', multiple: true },
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  overwrite: { type: 'boolean' },
  'fail-on': { type: 'string' },
  cluster: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  'skip-kms': { type: 'boolean' },
  'skip-sql-targets': { type: 'boolean' },
  'time-limit': { type: 'string' },
} as const;

export type AuditFlagValues = {
  framework?: string[];
  format?: string;
  output?: string;
  overwrite?: boolean;
  'fail-on'?: string;
  cluster?: string[];
  label?: string[];
  'skip-kms'?: boolean;
  'skip-sql-targets'?: boolean;
  'time-limit'?: string;
};

export const AUDIT_USAGE = `Usage: crdb-encryption-mcp audit [options]   (a fleet audit for pipelines; same checks as audit_encryption_posture)

  --sandbox                 audit the embedded sandbox fleet (no cloud account needed)
  --framework F             SOC2, HIPAA, PCI_DSS (repeatable or comma-separated; default all)
  --format FORMAT           text (default), json, markdown, html, sarif (SARIF 2.1.0)
  --output FILE, -o FILE    write the report to FILE instead of stdout (refuses an existing file)
  --overwrite               replace an existing --output FILE
  --fail-on SEVERITY        critical, high (default), medium, low, none
  --cluster NAME            audit only these clusters (repeatable; default all)
  --label KEY=VALUE         audit only clusters with these labels (repeatable)
  --skip-kms                do not ask the KMS about keys
  --time-limit SECONDS      stop starting work after this long (the report says partial)
  --sql-target NAME=URL     a self-hosted cluster to audit too (repeatable)
  --skip-sql-targets        audit Cloud clusters only (not --sql-target, DATABASE_URL targets)

Exit codes: 0 complete, no finding at or above --fail-on; 1 a finding at or above --fail-on;
2 usage error (bad flag, --output exists); 3 the audit could not run, or is incomplete (a cluster
or SQL target failed, time limit) with no finding at or above --fail-on.`;

/** Which audit-only flags were given (for refusing them outside the audit command). */
export function auditFlagsGiven(values: Record<string, unknown>): string[] {
  return Object.keys(AUDIT_FLAG_OPTIONS).filter((name) => values[name] !== undefined);
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  const match = allowed.find((option) => option === value.toLowerCase());
  if (!match) throw new Error(`--${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return match;
}

function frameworkOf(name: string): Framework {
  const normal = name.trim().toUpperCase().replace(/[-\s]/g, '_').replace(/^PCI$/, 'PCI_DSS');
  const match = FRAMEWORKS.find((framework) => framework === normal);
  if (!match) throw new Error(`--framework: expected ${FRAMEWORKS.join(', ')}, got ${JSON.stringify(name)}`);
  return match;
}

/** Validates the audit flags; throws an Error whose message is one line for the operator. */
export function parseAuditFlags(values: AuditFlagValues): AuditCommandOptions {
  const frameworks = values.framework
    ?.flatMap((list) => list.split(','))
    .filter((name) => name.trim())
    .map(frameworkOf);
  const labels = values.label?.map((pair) => {
    const match = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
    if (!match) throw new Error(`--label: expected KEY=VALUE, got ${JSON.stringify(pair)}`);
    return [match[1]!, match[2]!] as const;
  });
  if (values.cluster && labels) throw new Error('give --cluster or --label, not both');
  let timeLimitMs: number | undefined;
  if (values['time-limit'] !== undefined) {
    const seconds = Number(values['time-limit']);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) throw new Error('--time-limit: expected whole seconds from 1 to 3600');
    timeLimitMs = seconds * 1000;
  }
  if (values.overwrite && !values.output) throw new Error('--overwrite needs --output FILE');
  return {
    ...(frameworks?.length ? { frameworks: [...new Set(frameworks)] } : {}),
    format: oneOf('format', values.format, AUDIT_FORMATS, 'text'),
    ...(values.output ? { output: values.output } : {}),
    overwrite: values.overwrite ?? false,
    failOn: oneOf('fail-on', values['fail-on'], FAIL_ON, 'high'),
    ...(values.cluster ? { clusters: values.cluster } : {}),
    ...(labels ? { labels: Object.fromEntries(labels) } : {}),
    includeKms: !values['skip-kms'],
    includeSqlTargets: !values['skip-sql-targets'],
    ...(timeLimitMs ? { timeLimitMs } : {}),
  };
}
