import { describe, expect, it } from 'vitest';
import { ConfigError, parseCommand } from '../../src/config.js';

const env = { HOME: '/home/op' } as NodeJS.ProcessEnv;

describe('parseCommand', () => {
  it('defaults to stdio on loopback with every toolset', () => {
    const command = parseCommand([], env);
    expect(command).toMatchObject({ kind: 'serve', config: { transport: 'stdio', host: '127.0.0.1', readOnly: false, sandbox: false } });
    if (typeof command === 'object') {
      expect(command.config.toolsets).toEqual(['cmek', 'kms', 'certs', 'sql', 'audit']);
      expect(command.config.auditLog).toBe('/home/op/.local/state/crdb-encryption-mcp/audit.jsonl');
      expect(command.config.auditKeyFile).toBe('/home/op/.local/state/crdb-encryption-mcp/audit.key');
    }
  });

  it('takes the audit key file from --audit-key-file or CRDB_AUDIT_KEY_FILE, and checks CRDB_AUDIT_KEY without echoing it', () => {
    expect(parseCommand(['--audit-key-file', '/secrets/audit.key'], env)).toMatchObject({ config: { auditKeyFile: '/secrets/audit.key' } });
    expect(parseCommand([], { ...env, CRDB_AUDIT_KEY_FILE: '/run/k' })).toMatchObject({ config: { auditKeyFile: '/run/k' } });
    const key = 'ab'.repeat(32);
    expect(parseCommand([], { ...env, CRDB_AUDIT_KEY: key })).toMatchObject({ config: { auditKey: key } });
    for (const weak of ['short-key-value', 'ab'.repeat(31)]) {
      let message = '';
      try {
        parseCommand([], { ...env, CRDB_AUDIT_KEY: weak });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/^CRDB_AUDIT_KEY: must be at least 32 random bytes/);
      expect(message).not.toContain(weak);
    }
  });

  it('parses every flag', () => {
    const command = parseCommand(
      [
        '--sandbox',
        '--read-only',
        '--toolsets',
        'cmek,audit',
        '--transport',
        'http',
        '--port',
        '9000',
        '--audit-log',
        '/tmp/a.jsonl',
        '--sql-target',
        'prod=postgresql://root@db:26257/defaultdb',
        '--dangerously-allow-token-confirmation',
      ],
      env,
    );
    expect(command).toMatchObject({
      kind: 'serve',
      config: {
        sandbox: true,
        readOnly: true,
        toolsets: ['cmek', 'audit'],
        transport: 'http',
        port: 9000,
        auditLog: '/tmp/a.jsonl',
        dangerouslyAllowTokenConfirmation: true,
        sql: { targets: { prod: 'postgresql://root@db:26257/defaultdb' } },
      },
    });
  });

  it('keeps the sandbox out of the real audit trail: its default log is sandbox-audit.jsonl; CMEK transitions default to 1 s', () => {
    const sandbox = parseCommand(['--sandbox'], env);
    expect(sandbox).toMatchObject({
      config: { auditLog: '/home/op/.local/state/crdb-encryption-mcp/sandbox-audit.jsonl', sandboxOptions: { cmekTransitionMs: 1000 } },
    });
    expect(parseCommand(['--sandbox'], { ...env, CRDB_AUDIT_LOG: '/var/log/x.jsonl' })).toMatchObject({ config: { auditLog: '/var/log/x.jsonl' } });
    expect(parseCommand(['--sandbox'], { ...env, CRDB_SANDBOX_CMEK_DELAY_MS: '20' })).toMatchObject({ config: { sandboxOptions: { cmekTransitionMs: 20 } } });
  });

  it('reads credentials and sandbox knobs from the environment', () => {
    const command = parseCommand([], { ...env, COCKROACH_API_KEY: 'CCDB1_abc', CRDB_SANDBOX_LATENCY_MS: '50', DATABASE_URL: 'postgresql://x@y/z' });
    expect(command).toMatchObject({
      config: { cloud: { apiKey: 'CCDB1_abc' }, sandboxOptions: { latencyMs: 50 }, sql: { databaseUrl: 'postgresql://x@y/z' } },
    });
  });

  it('recognises the verify-audit-log subcommand, help and version', () => {
    expect(parseCommand(['verify-audit-log', '--audit-log', '/tmp/x'], env)).toMatchObject({ kind: 'verify-audit-log', config: { auditLog: '/tmp/x' } });
    expect(parseCommand(['--help'], env)).toBe('help');
    expect(parseCommand(['--version'], env)).toBe('version');
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--transport', 'ftp'], /--transport: Invalid option/],
    [['--port', 'abc'], /--port:/],
    [['--port', '70000'], /--port:/],
    [['--toolsets', 'cmek,nope'], /--toolsets:/],
    [['--toolsets', ''], /--toolsets:/],
    [['--audit-db', 'mysql://x'], /--audit-db: expected a postgres/],
    [['--sql-target', 'noequals'], /--sql-target/],
    [['serve-now'], /unexpected argument "serve-now"/],
    [['--transport', 'http', '--host', '0.0.0.0'], /requires MCP_HTTP_TOKEN/],
  ])('rejects %j with one clear line', (argv, message) => {
    let error: unknown;
    try {
      parseCommand(argv, env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('never prints a rejected --sql-target URL (it may hold a password)', () => {
    for (const flag of ['postgresql://root:hunter2@db:26257/x', 'mysql://root:hunter2@db/x', 'prod=mysql://root:hunter2@db/x']) {
      let error: unknown;
      try {
        parseCommand(['--sql-target', flag], env);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/--sql-target/);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('accepts a non-loopback host when a bearer token is set', () => {
    expect(parseCommand(['--transport', 'http', '--host', '10.0.0.5'], { ...env, MCP_HTTP_TOKEN: 'x'.repeat(32) })).toMatchObject({
      config: { host: '10.0.0.5' },
    });
  });

  it('counts only 127.0.0.1, ::1 and localhost as loopback', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost'])
      expect(parseCommand(['--transport', 'http', '--host', host], env)).toMatchObject({ config: { host } });
    for (const host of ['127.0.0.2', '127.1.2.3', '0.0.0.0']) {
      expect(() => parseCommand(['--transport', 'http', '--host', host], env)).toThrow(/requires MCP_HTTP_TOKEN/);
    }
  });

  it('a wildcard bind needs --allowed-hosts naming the host names clients use', () => {
    const token = { ...env, MCP_HTTP_TOKEN: 'x'.repeat(32) };
    expect(() => parseCommand(['--transport', 'http', '--host', '0.0.0.0'], token)).toThrow(
      /--allowed-hosts: binding to 0.0.0.0 \(every interface\) requires --allowed-hosts/,
    );
    expect(parseCommand(['--transport', 'http', '--host', '0.0.0.0', '--allowed-hosts', 'mcp.internal, mcp'], token)).toMatchObject({
      config: { allowedHosts: ['mcp.internal', 'mcp'] },
    });
    expect(parseCommand(['--transport', 'http', '--host', '::'], { ...token, MCP_ALLOWED_HOSTS: 'mcp.internal' })).toMatchObject({
      config: { allowedHosts: ['mcp.internal'] },
    });
  });

  it('rejects malformed CRDB_SQL_TARGETS', () => {
    expect(() => parseCommand([], { ...env, CRDB_SQL_TARGETS: '{not json' })).toThrow(ConfigError);
  });

  it('CRDB_SANDBOX and CRDB_READ_ONLY set what the flags set (for launchers that set only env); a flag wins', () => {
    expect(parseCommand([], { ...env, CRDB_SANDBOX: 'true', CRDB_READ_ONLY: '1' })).toMatchObject({ config: { sandbox: true, readOnly: true } });
    expect(parseCommand([], { ...env, CRDB_SANDBOX: 'false', CRDB_READ_ONLY: '' })).toMatchObject({ config: { sandbox: false, readOnly: false } });
    expect(() => parseCommand([], { ...env, CRDB_SANDBOX: 'yes please' })).toThrow(/CRDB_SANDBOX: expected true or false/);
  });

  it('audit: flags parsed with defaults (text, --fail-on high, every framework); frameworks are forgiving about case and dashes', () => {
    expect(parseCommand(['audit'], env)).toMatchObject({
      kind: 'audit',
      audit: { format: 'text', failOn: 'high', overwrite: false, includeKms: true, includeSqlTargets: true },
    });
    const command = parseCommand(
      [
        'audit',
        '--framework',
        'soc2,pci-dss',
        '--framework',
        'HIPAA',
        '--label',
        'env=prod',
        '--format',
        'SARIF',
        '-o',
        'x.sarif',
        '--overwrite',
        '--time-limit',
        '60',
      ],
      env,
    );
    expect(command).toMatchObject({
      audit: { frameworks: ['SOC2', 'PCI_DSS', 'HIPAA'], labels: { env: 'prod' }, format: 'sarif', output: 'x.sarif', overwrite: true, timeLimitMs: 60_000 },
    });
  });

  it.each([
    [['audit', '--cluster', 'a', '--label', 'k=v'], /--cluster or --label, not both/],
    [['audit', '--overwrite'], /--overwrite needs --output/],
    [['audit', '--framework', 'ISO27001'], /--framework: expected SOC2, HIPAA, PCI_DSS/],
    [['audit', '--time-limit', '0'], /--time-limit/],
    [['--fail-on', 'high'], /--fail-on is a flag of the audit command/],
  ])('audit: rejects %j', (argv, message) => {
    expect(() => parseCommand(argv, env)).toThrow(message);
  });
});
