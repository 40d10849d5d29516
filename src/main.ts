/**
 * The server process: flags/env -> config -> (sandbox) -> dependencies -> transport.
 * Nothing but the MCP stream goes to stdout in serve mode; diagnostics go to stderr.
 * Importing this module starts nothing (its chunk is shared with worker threads); src/index.ts
 * calls runMain().
 */
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { AUDIT_USAGE } from './audit-flags.js';
import { ConfigError, USAGE, parseCommand, type Config } from './config.js';
import { createDeps } from './deps.js';
import { missingSandboxMessage, missingSandboxPackages } from './sandbox-packages.js';
import { createServer } from './server.js';
import { SERVER_INFO } from './version.js';

function log(message: string): void {
  process.stderr.write(`[crdb-encryption-mcp] ${message}\n`);
}

/** Starts the sandbox in the background: the server answers initialize while the emulators boot. */
function startSandboxIfAsked(config: Config) {
  if (!config.sandbox) return undefined;
  const sandbox = import('./sandbox/index.js').then(({ launchSandbox }) => launchSandbox(config.sandboxOptions));
  sandbox.catch((error: unknown) => log(`sandbox failed to start: ${error instanceof Error ? error.message : String(error)}`));
  return sandbox;
}

async function main(): Promise<number | undefined> {
  let command;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      const { createRedactor } = await import('./safety/redact.js');
      log(`${createRedactor().redactText(error.message)} (see --help)`);
      return 2;
    }
    throw error;
  }
  if (command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'audit-help') {
    process.stdout.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  if (command === 'version') {
    process.stdout.write(`${SERVER_INFO.version}\n`);
    return 0;
  }
  const { config } = command;
  if (config.sandbox) {
    const missing = missingSandboxPackages();
    if (missing.length > 0) {
      log(missingSandboxMessage(missing));
      return 2;
    }
  }

  if (command.kind === 'audit') {
    const { runAuditCommand } = await import('./audit-command.js');
    return runAuditCommand(config, command.audit, () => startSandboxIfAsked(config));
  }

  if (command.kind === 'verify-audit-log') {
    const { verifyConfiguredAuditLog } = await import('./safety/audit-log.js');
    const report = await verifyConfiguredAuditLog(config);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }

  const sandbox = startSandboxIfAsked(config);
  const deps = await createDeps(config, sandbox);
  let stopTransport: () => Promise<void>;
  if (config.transport === 'http') {
    const { startHttpServer } = await import('./http.js');
    const http = await startHttpServer(config, deps);
    log(`listening on ${http.url}${config.sandbox ? ' (sandbox)' : ''}`);
    stopTransport = () => http.close();
  } else {
    // The opening exchange picks the era: `initialize` pins a legacy (2025) instance for this
    // process; modern requests carry their version and capabilities in `_meta`.
    const stdio = serveStdio(() => createServer(config, deps), { onerror: (error) => log(`stdio: ${error.message}`) });
    stopTransport = () => stdio.close();
    process.stdin.once('end', () => void shutdown());
    if (config.sandbox) log('running on the embedded sandbox (no cloud account used)');
    if (process.stdin.isTTY) {
      log('speaking MCP over stdio: connect an MCP client (see README "Connect a client"), or use --transport http; Ctrl-C to stop');
    }
  }

  let stopping = false;
  async function shutdown(): Promise<void> {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled([stopTransport()]);
    await Promise.allSettled([deps.close(), sandbox?.then((running) => running.stop())]);
    process.exit(0);
  }
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  return undefined;
}

/** Runs the process: serve, or a one-shot subcommand, with its exit code. */
export function runMain(): void {
  main().then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (error: unknown) => {
      log(`fatal: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
