import { parseArgs } from 'node:util';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AUDIT_FLAG_OPTIONS, auditFlagsGiven, parseAuditFlags, type AuditCommandOptions } from './audit-flags.js';
import { parseAuditKey } from './safety/audit-key.js';

/** Default time a sandbox CMEK enable, rotate or revoke takes (CRDB_SANDBOX_CMEK_DELAY_MS). */
export const SANDBOX_CMEK_TRANSITION_MS = 1000;

/** Tool areas; `--toolsets` enables a subset. */
export const TOOLSETS = ['cmek', 'kms', 'certs', 'sql', 'audit'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/** A configuration problem: the entry prints `message` on one line and exits with code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * True for exactly the bind addresses that count as loopback: 127.0.0.1, ::1 and localhost. Any
 * other address (127.0.0.2 included) needs MCP_HTTP_TOKEN.
 */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host);
}

/** Bind addresses that listen on every interface: no single Host name follows from them. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

const sqlTargetSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}=postgres(ql)?:\/\/.+$/i, 'expected name=postgresql://...');

/** The whole server configuration, from flags and environment, validated once. */
export const configSchema = z
  .object({
    transport: z.enum(['stdio', 'http']).default('stdio'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8787),
    readOnly: z.boolean().default(false),
    toolsets: z
      .array(z.enum(TOOLSETS))
      .min(1)
      .default([...TOOLSETS]),
    sandbox: z.boolean().default(false),
    auditLog: z.string().min(1),
    auditDb: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
      .optional(),
    /** The only directory audit report files are written to (created 0700 on first use). */
    reportsDir: z.string().min(1),
    /** The audit HMAC key's file (created 0600 on first use); ignored when `auditKey` is set. */
    auditKeyFile: z.string().min(1),
    /** The audit HMAC key itself (CRDB_AUDIT_KEY), for replicas that share one. */
    auditKey: z
      .string()
      .refine((value) => parseAuditKey(value) !== undefined, 'must be at least 32 random bytes as hex or base64 (e.g. `openssl rand -hex 32`)')
      .optional(),
    dangerouslyAllowTokenConfirmation: z.boolean().default(false),
    httpToken: z.string().min(16, 'MCP_HTTP_TOKEN must be at least 16 characters').optional(),
    /** Extra Host/Origin host names the HTTP transport accepts besides the bind address (e.g. a DNS name). */
    allowedHosts: z.array(z.string().min(1)).default([]),
    confirmSecret: z.string().min(16, 'CONFIRM_SECRET must be at least 16 characters').optional(),
    /** Overrides where the agent skills are read from (default: the package's skills/ folder). */
    skillsDir: z.string().min(1).optional(),
    cloud: z.object({
      apiKey: z.string().min(1).optional(),
      baseUrl: z.url().default('https://cockroachlabs.cloud'),
      ccVersion: z.string().default('2024-09-16'),
      /** How long enable retries 400/401/403 while IAM grants propagate. */
      iamPropagationMs: z.coerce
        .number()
        .int()
        .min(0)
        .default(10 * 60_000),
      /** How long a CMEK operation may take before we stop waiting. */
      operationDeadlineMs: z.coerce
        .number()
        .int()
        .min(1)
        .default(2 * 60 * 60_000),
      pollIntervalMs: z.coerce.number().int().min(1).default(10_000),
      /** Client-side limit; the API allows 10 requests per second per key. */
      rateLimitPerSecond: z.coerce.number().int().min(1).default(10),
      /** Per-attempt HTTP time-out. */
      requestTimeoutMs: z.coerce.number().int().min(100).default(30_000),
    }),
    /** Sandbox knobs (CRDB_SANDBOX_* env), used only with --sandbox. */
    sandboxOptions: z
      .object({
        latencyMs: z.coerce.number().int().min(0).max(60_000).default(0),
        errorRate: z.coerce.number().min(0).max(1).default(0),
        throttleNext: z.coerce.number().int().min(0).default(0),
        failRegionOnNextRotate: z.string().optional(),
        /** How long the sandbox's CMEK enable/rotate/revoke takes (the real API: minutes). */
        cmekTransitionMs: z.coerce.number().int().min(0).max(600_000).default(SANDBOX_CMEK_TRANSITION_MS),
        rateLimitPerSecond: z.coerce.number().int().min(1).default(10),
        fleetSize: z.coerce.number().int().min(0).max(100_000).default(0),
      })
      .default({ latencyMs: 0, errorRate: 0, throttleNext: 0, cmekTransitionMs: SANDBOX_CMEK_TRANSITION_MS, rateLimitPerSecond: 10, fleetSize: 0 }),
    sql: z.object({
      databaseUrl: z.string().optional(),
      /** Named SQL targets: name -> connection URL. */
      targets: z.record(z.string(), z.string()).default({}),
      statementTimeoutMs: z.coerce.number().int().min(100).default(15_000),
    }),
  })
  .superRefine((config, ctx) => {
    if (config.transport === 'http' && !isLoopbackHost(config.host) && !config.httpToken) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message: `binding to non-loopback host ${config.host} requires MCP_HTTP_TOKEN (a bearer token clients must send)`,
      });
    }
    if (config.transport === 'http' && isWildcardHost(config.host) && config.allowedHosts.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowedHosts'],
        message: `binding to ${config.host} (every interface) requires --allowed-hosts naming the host names clients connect to`,
      });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** What the process should do: serve, or run a one-shot subcommand. */
export type Command =
  | { kind: 'serve'; config: Config }
  | { kind: 'verify-audit-log'; config: Config }
  | { kind: 'audit'; config: Config; audit: AuditCommandOptions };

const SUBCOMMANDS = ['verify-audit-log', 'audit'];

/** This server's state directory: $XDG_STATE_HOME (or ~/.local/state)/crdb-encryption-mcp. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const stateHome = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(stateHome, 'crdb-encryption-mcp');
}

/**
 * Default audit log location: <state dir>/audit.jsonl, and sandbox-audit.jsonl beside it on the
 * sandbox, so simulated changes never enter the real trail.
 */
export function defaultAuditLogPath(env: NodeJS.ProcessEnv, sandbox = false): string {
  return join(defaultStateDir(env), sandbox ? 'sandbox-audit.jsonl' : 'audit.jsonl');
}

/** Default directory for audit report files: <state dir>/reports. */
export function defaultReportsDir(env: NodeJS.ProcessEnv): string {
  return join(defaultStateDir(env), 'reports');
}

/** Default audit key file: <state dir>/audit.key. */
export function defaultAuditKeyPath(env: NodeJS.ProcessEnv): string {
  return join(defaultStateDir(env), 'audit.key');
}

const flagOptions = {
  transport: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'allowed-hosts': { type: 'string' },
  'read-only': { type: 'boolean' },
  toolsets: { type: 'string' },
  sandbox: { type: 'boolean' },
  'audit-log': { type: 'string' },
  'audit-db': { type: 'string' },
  'reports-dir': { type: 'string' },
  'audit-key-file': { type: 'string' },
  'dangerously-allow-token-confirmation': { type: 'boolean' },
  'sql-target': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...AUDIT_FLAG_OPTIONS,
} as const;

/** Usage text for --help. */
export const USAGE = `Usage: crdb-encryption-mcp [verify-audit-log | audit] [options]   (audit --help: the audit command's flags)

  --sandbox                 run on embedded emulators (no cloud account needed)
  --transport stdio|http    MCP transport (default stdio)
  --host HOST --port PORT   HTTP bind address (default 127.0.0.1:8787); any address other than
                            127.0.0.1, ::1 or localhost needs MCP_HTTP_TOKEN
  --allowed-hosts a,b       extra host names accepted in Host and Origin (default: the bind address)
  --read-only               expose read tools only
  --toolsets a,b            enable only these toolsets: ${TOOLSETS.join(', ')}
  --audit-log PATH          HMAC-chained JSONL audit log (default under ~/.local/state;
                            sandbox-audit.jsonl there with --sandbox)
  --audit-db URL            shared audit log table in PostgreSQL/CockroachDB
  --reports-dir PATH        the only directory audit reports are written to
                            (default <state dir>/reports)
  --audit-key-file PATH     the audit log's HMAC key (created 0600 on first use)
  --sql-target NAME=URL     a named SQL target (repeatable)
  --dangerously-allow-token-confirmation
                            allow two-step token confirmation for clients without elicitation

Environment: CRDB_SANDBOX=true and CRDB_READ_ONLY=true (same as the flags), COCKROACH_API_KEY, COCKROACH_API_URL, COCKROACH_CC_VERSION, DATABASE_URL,
MCP_HTTP_TOKEN, MCP_ALLOWED_HOSTS, CONFIRM_SECRET, CRDB_SQL_TARGETS (JSON object name -> URL), CRDB_AUDIT_LOG,
CRDB_AUDIT_DB, CRDB_REPORTS_DIR, CRDB_AUDIT_KEY_FILE, CRDB_AUDIT_KEY (the key itself, hex or base64), CRDB_SKILLS_DIR. Sandbox knobs: CRDB_SANDBOX_LATENCY_MS, CRDB_SANDBOX_ERROR_RATE,
CRDB_SANDBOX_THROTTLE_NEXT, CRDB_SANDBOX_FAIL_REGION, CRDB_SANDBOX_CMEK_DELAY_MS,
CRDB_SANDBOX_RATE_LIMIT, CRDB_SANDBOX_FLEET_SIZE (CMEK_DELAY_MS: how long a sandbox CMEK
enable/rotate/revoke takes, default ${SANDBOX_CMEK_TRANSITION_MS}).`;

function parseSqlTargets(flags: string[] | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
  const targets: Record<string, string> = {};
  if (env.CRDB_SQL_TARGETS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.CRDB_SQL_TARGETS);
    } catch {
      throw new ConfigError('CRDB_SQL_TARGETS must be a JSON object of name -> postgresql:// URL');
    }
    const result = z.record(z.string(), z.string()).safeParse(parsed);
    if (!result.success) throw new ConfigError('CRDB_SQL_TARGETS must be a JSON object of name -> postgresql:// URL');
    Object.assign(targets, result.data);
  }
  for (const flag of flags ?? []) {
    if (!sqlTargetSchema.safeParse(flag).success) {
      // The value may be a bare URL with its password: name it only when it looks like a name.
      const name = flag.split('=')[0]!;
      const shown = /^[a-z0-9][a-z0-9_-]{0,62}$/i.test(name) ? ` ${JSON.stringify(name)}` : '';
      throw new ConfigError(`--sql-target${shown}: expected NAME=postgresql://... (the value is not shown: it may hold a password)`);
    }
    const at = flag.indexOf('=');
    targets[flag.slice(0, at)] = flag.slice(at + 1);
  }
  return targets;
}

/** A boolean setting from the environment ("true"/"1" or "false"/"0"/empty), for launchers that only set env (MCPB bundles). */
function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = env[name]?.trim().toLowerCase();
  if (!value) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`${name}: expected true or false, got ${JSON.stringify(env[name])}`);
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const flagName: Record<string, string> = {
    transport: '--transport',
    host: '--host',
    port: '--port',
    toolsets: '--toolsets',
    auditDb: '--audit-db',
    auditKey: 'CRDB_AUDIT_KEY',
    httpToken: 'MCP_HTTP_TOKEN',
    allowedHosts: '--allowed-hosts',
    confirmSecret: 'CONFIRM_SECRET',
  };
  const head = String(issue.path[0] ?? '');
  const where = flagName[head] ?? issue.path.join('.');
  return `${where}: ${issue.message}`;
}

/**
 * Parses argv (without node and script) and the environment into a command.
 * Throws ConfigError with a one-line message on any unknown flag or bad value.
 */
export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command | 'help' | 'audit-help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: flagOptions, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message.split('. To specify')[0]!.split('\n')[0]! : String(error));
  }
  const { values, positionals } = parsed;
  const [subcommand, ...extra] = positionals;
  if (values.help) return subcommand === 'audit' ? 'audit-help' : 'help';
  if (values.version) return 'version';
  if (extra.length > 0 || (subcommand !== undefined && !SUBCOMMANDS.includes(subcommand))) {
    throw new ConfigError(
      `unexpected argument ${JSON.stringify(subcommand !== undefined && SUBCOMMANDS.includes(subcommand) ? extra[0] : subcommand)} (see --help)`,
    );
  }
  const auditFlags = auditFlagsGiven(values);
  if (subcommand !== 'audit' && auditFlags.length > 0) throw new ConfigError(`--${auditFlags[0]} is a flag of the audit command (see audit --help)`);
  const raw = {
    transport: values.transport,
    host: values.host,
    port: values.port,
    allowedHosts: (values['allowed-hosts'] ?? env.MCP_ALLOWED_HOSTS)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    readOnly: values['read-only'] ?? envFlag(env, 'CRDB_READ_ONLY'),
    toolsets: values.toolsets
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    sandbox: values.sandbox ?? envFlag(env, 'CRDB_SANDBOX'),
    auditLog: values['audit-log'] ?? (env.CRDB_AUDIT_LOG || defaultAuditLogPath(env, values.sandbox ?? envFlag(env, 'CRDB_SANDBOX'))),
    auditDb: values['audit-db'] ?? (env.CRDB_AUDIT_DB || undefined),
    reportsDir: values['reports-dir'] ?? (env.CRDB_REPORTS_DIR || defaultReportsDir(env)),
    auditKeyFile: values['audit-key-file'] ?? (env.CRDB_AUDIT_KEY_FILE || defaultAuditKeyPath(env)),
    auditKey: env.CRDB_AUDIT_KEY || undefined,
    dangerouslyAllowTokenConfirmation: values['dangerously-allow-token-confirmation'],
    httpToken: env.MCP_HTTP_TOKEN || undefined,
    confirmSecret: env.CONFIRM_SECRET || undefined,
    skillsDir: env.CRDB_SKILLS_DIR || undefined,
    cloud: {
      apiKey: env.COCKROACH_API_KEY || undefined,
      baseUrl: env.COCKROACH_API_URL || undefined,
      ccVersion: env.COCKROACH_CC_VERSION || undefined,
    },
    sandboxOptions: {
      latencyMs: env.CRDB_SANDBOX_LATENCY_MS || undefined,
      errorRate: env.CRDB_SANDBOX_ERROR_RATE || undefined,
      throttleNext: env.CRDB_SANDBOX_THROTTLE_NEXT || undefined,
      failRegionOnNextRotate: env.CRDB_SANDBOX_FAIL_REGION || undefined,
      cmekTransitionMs: env.CRDB_SANDBOX_CMEK_DELAY_MS || undefined,
      rateLimitPerSecond: env.CRDB_SANDBOX_RATE_LIMIT || undefined,
      fleetSize: env.CRDB_SANDBOX_FLEET_SIZE || undefined,
    },
    sql: {
      databaseUrl: env.DATABASE_URL || undefined,
      targets: parseSqlTargets(values['sql-target'], env),
    },
  };
  // Parsed once per process: zod's eval-compiled fast path would cost more to build than it saves.
  const result = configSchema.safeParse(raw, { jitless: true });
  if (!result.success) throw new ConfigError(result.error.issues.map(formatIssue).join('; '));
  if (subcommand === 'audit') {
    try {
      return { kind: 'audit', config: result.data, audit: parseAuditFlags(values) };
    } catch (error) {
      throw new ConfigError(error instanceof Error ? error.message : String(error));
    }
  }
  return { kind: subcommand === 'verify-audit-log' ? 'verify-audit-log' : 'serve', config: result.data };
}

/** A valid configuration with defaults, for tests and embedding. */
export function buildConfig(overrides: Partial<Config> = {}): Config {
  return configSchema.parse({
    auditLog: overrides.auditLog ?? defaultAuditLogPath(process.env, overrides.sandbox),
    reportsDir: overrides.reportsDir ?? defaultReportsDir(process.env),
    auditKeyFile: overrides.auditKeyFile ?? defaultAuditKeyPath(process.env),
    cloud: {},
    sql: {},
    ...overrides,
  });
}
