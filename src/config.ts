import { parseArgs } from 'node:util';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AUDIT_FLAG_OPTIONS, auditFlagsGiven, parseAuditFlags, type AuditCommandOptions } from './audit-flags.js';

/** Tool areas; `--toolsets` enables a subset. */
export const TOOLSETS = ['cmek', 'kms', 'certs', 'sql', 'audit'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/** A configuration problem: the entry prints `message` on one line and exits with code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True when `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
}

const sqlTargetSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}=postgres(ql)?:\/\/.+$/i, 'expected name=postgresql://...');

/** The whole server configuration, from flags and environment, validated once. */
export const configSchema = z
  .object({
    transport: z.enum(['stdio', 'http']).default('stdio'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8787),
    readOnly: z.boolean().default(false),
    toolsets: z.array(z.enum(TOOLSETS)).min(1).default([...TOOLSETS]),
    sandbox: z.boolean().default(false),
    auditLog: z.string().min(1),
    auditDb: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL').optional(),
    dangerouslyAllowTokenConfirmation: z.boolean().default(false),
    httpToken: z.string().min(16, 'MCP_HTTP_TOKEN must be at least 16 characters').optional(),
    confirmSecret: z.string().min(16, 'CONFIRM_SECRET must be at least 16 characters').optional(),
    /** Overrides where the agent skills are read from (default: the package's skills/ folder). */
    skillsDir: z.string().min(1).optional(),
    cloud: z.object({
      apiKey: z.string().min(1).optional(),
      baseUrl: z.url().default('https://cockroachlabs.cloud'),
      ccVersion: z.string().default('2024-09-16'),
      /** How long enable retries 400/401/403 while IAM grants propagate. */
      iamPropagationMs: z.coerce.number().int().min(0).default(10 * 60_000),
      /** How long a CMEK operation may take before we stop waiting. */
      operationDeadlineMs: z.coerce.number().int().min(1).default(2 * 60 * 60_000),
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
        cmekTransitionMs: z.coerce.number().int().min(0).default(1500),
        rateLimitPerSecond: z.coerce.number().int().min(1).default(10),
        fleetSize: z.coerce.number().int().min(0).max(100_000).default(0),
      })
      .default({ latencyMs: 0, errorRate: 0, throttleNext: 0, cmekTransitionMs: 1500, rateLimitPerSecond: 10, fleetSize: 0 }),
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
  });

export type Config = z.infer<typeof configSchema>;

/** What the process should do: serve, or run a one-shot subcommand. */
export type Command =
  | { kind: 'serve'; config: Config }
  | { kind: 'verify-audit-log'; config: Config }
  | { kind: 'audit'; config: Config; audit: AuditCommandOptions };

const SUBCOMMANDS = ['verify-audit-log', 'audit'];

/** Default audit log location: $XDG_STATE_HOME (or ~/.local/state)/crdb-encryption-mcp/audit.jsonl. */
export function defaultAuditLogPath(env: NodeJS.ProcessEnv): string {
  const stateHome = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(stateHome, 'crdb-encryption-mcp', 'audit.jsonl');
}

const flagOptions = {
  transport: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'read-only': { type: 'boolean' },
  toolsets: { type: 'string' },
  sandbox: { type: 'boolean' },
  'audit-log': { type: 'string' },
  'audit-db': { type: 'string' },
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
  --host HOST --port PORT   HTTP bind address (default 127.0.0.1:8787)
  --read-only               expose read tools only
  --toolsets a,b            enable only these toolsets: ${TOOLSETS.join(', ')}
  --audit-log PATH          hash-chained JSONL audit log
  --audit-db URL            shared audit log table in PostgreSQL/CockroachDB
  --sql-target NAME=URL     a named SQL target (repeatable)
  --dangerously-allow-token-confirmation
                            allow two-step token confirmation for clients without elicitation

Environment: CRDB_SANDBOX=true and CRDB_READ_ONLY=true (same as the flags), COCKROACH_API_KEY, COCKROACH_API_URL, COCKROACH_CC_VERSION, DATABASE_URL,
MCP_HTTP_TOKEN, CONFIRM_SECRET, CRDB_SQL_TARGETS (JSON object name -> URL), CRDB_AUDIT_LOG,
CRDB_AUDIT_DB, CRDB_SKILLS_DIR. Sandbox knobs: CRDB_SANDBOX_LATENCY_MS, CRDB_SANDBOX_ERROR_RATE,
CRDB_SANDBOX_THROTTLE_NEXT, CRDB_SANDBOX_FAIL_REGION, CRDB_SANDBOX_CMEK_DELAY_MS,
CRDB_SANDBOX_RATE_LIMIT, CRDB_SANDBOX_FLEET_SIZE.`;

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
      throw new ConfigError(`--sql-target ${JSON.stringify(flag.split('=')[0])}: expected NAME=postgresql://...`);
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
    httpToken: 'MCP_HTTP_TOKEN',
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
    throw new ConfigError(`unexpected argument ${JSON.stringify(subcommand !== undefined && SUBCOMMANDS.includes(subcommand) ? extra[0] : subcommand)} (see --help)`);
  }
  const auditFlags = auditFlagsGiven(values);
  if (subcommand !== 'audit' && auditFlags.length > 0) throw new ConfigError(`--${auditFlags[0]} is a flag of the audit command (see audit --help)`);
  const raw = {
    transport: values.transport,
    host: values.host,
    port: values.port,
    readOnly: values['read-only'] ?? envFlag(env, 'CRDB_READ_ONLY'),
    toolsets: values.toolsets?.split(',').map((s) => s.trim()).filter(Boolean),
    sandbox: values.sandbox ?? envFlag(env, 'CRDB_SANDBOX'),
    auditLog: values['audit-log'] ?? (env.CRDB_AUDIT_LOG || defaultAuditLogPath(env)),
    auditDb: values['audit-db'] ?? (env.CRDB_AUDIT_DB || undefined),
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
    auditLog: overrides.auditLog ?? defaultAuditLogPath(process.env),
    cloud: {},
    sql: {},
    ...overrides,
  });
}
