/**
 * `crdb-encryption-mcp audit`: the fleet audit without an MCP client, for pipelines. Runs the same
 * domain code as the audit_encryption_posture tool, prints or writes the report in the format
 * asked, and turns the worst finding into the exit code (AUDIT_USAGE lists the codes).
 */
import { lstat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AuditCommandOptions, FailOn } from './audit-flags.js';
import type { AuditReport, Severity } from './audit/types.js';
import type { Config } from './config.js';
import { createDeps } from './deps.js';
import { errorMessage } from './errors.js';
import { SERVER_INFO } from './version.js';

/** Exit codes of the audit command. */
export const AUDIT_EXIT = { clean: 0, findings: 1, usage: 2, incomplete: 3 } as const;

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

/** 1 when a finding reaches --fail-on; else 3 when the audit is incomplete; else 0. */
export function auditExitCode(report: AuditReport, failOn: FailOn): number {
  const threshold = failOn === 'none' ? Infinity : RANK[failOn];
  if (report.findings.some((finding) => RANK[finding.severity] >= threshold)) return AUDIT_EXIT.findings;
  return report.complete ? AUDIT_EXIT.clean : AUDIT_EXIT.incomplete;
}

function log(message: string): void {
  process.stderr.write(`[crdb-encryption-mcp] ${message}\n`);
}

async function render(report: AuditReport, format: AuditCommandOptions['format']): Promise<string> {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'markdown':
      return (await import('./audit/render-markdown.js')).renderFull(report);
    case 'html':
      return (await import('./audit/render-html.js')).renderHtml(report);
    case 'sarif': {
      const { renderSarif } = await import('./audit/render-sarif.js');
      const homepage = 'https://github.com/crdb-encryption-mcp/crdb-encryption-mcp';
      return `${JSON.stringify(renderSarif(report, { name: SERVER_INFO.name, version: SERVER_INFO.version, informationUri: homepage }), null, 2)}\n`;
    }
    case 'text': {
      const { renderCompact } = await import('./audit/render-markdown.js');
      return `${renderCompact(report, Number.MAX_SAFE_INTEGER)}\n`;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/** New file: exclusive create. --overwrite: replaced atomically. */
async function writeOutput(path: string, text: string, overwrite: boolean): Promise<void> {
  if (overwrite) return (await import('./audit/report-file.js')).writeAtomically(path, text);
  await writeFile(path, text, { flag: 'wx' });
}

/** Progress on one rewritten stderr line, only for a person watching a terminal. */
function progressReporter(): { report(message: string): void; end(): void } {
  if (!process.stderr.isTTY) return { report() {}, end() {} };
  let shown = false;
  return {
    report(message) {
      shown = true;
      process.stderr.write(`\r\x1b[K[crdb-encryption-mcp] audit: ${message}`);
    },
    end() {
      if (shown) process.stderr.write('\n');
    },
  };
}

/**
 * Runs the audit command; resolves to the process exit code. The sandbox (if asked) is started
 * only once the arguments are known to be usable, so a refused run exits at once.
 */
export async function runAuditCommand(
  config: Config,
  options: AuditCommandOptions,
  startSandbox: () => Extract<Parameters<typeof createDeps>[1], Promise<unknown>> | undefined,
): Promise<number> {
  const output = options.output === undefined ? undefined : resolve(options.output);
  if (output && !options.overwrite && (await exists(output))) {
    log(`--output ${output} exists; not overwriting it. Choose a new file name, or pass --overwrite to replace it.`);
    return AUDIT_EXIT.usage;
  }
  const sandbox = startSandbox();
  const deps = await createDeps(config, sandbox);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const progress = progressReporter();
  try {
    const { runFleetAudit } = await import('./audit/fleet-audit.js');
    let report: AuditReport;
    try {
      report = await runFleetAudit(
        {
          ...(options.clusters ? { clusters: options.clusters } : {}),
          ...(options.labels ? { labels: options.labels } : {}),
          ...(options.frameworks ? { frameworks: options.frameworks } : {}),
          includeKms: options.includeKms,
          includeSqlTargets: options.includeSqlTargets,
          ...(options.timeLimitMs ? { timeLimitMs: options.timeLimitMs } : {}),
        },
        {
          config,
          cloud: () => deps.cloud(),
          kms: deps.kms,
          sql: deps.sql,
          sqlTargetNames: deps.sqlTargetNames,
          now: () => deps.clock.now(),
          signal: controller.signal,
          progress: async (_done, _total, message) => progress.report(message),
          onRequestId: () => {},
        },
      );
    } finally {
      progress.end();
    }
    const text = await render(deps.redactor.redact(report), options.format);
    if (output) {
      await writeOutput(output, text, options.overwrite);
      log(`report written to ${output}`);
    } else {
      process.stdout.write(text);
    }
    const code = auditExitCode(report, options.failOn);
    const worst = report.summary.findings;
    log(
      `${report.complete ? 'complete' : 'INCOMPLETE'}: ${worst.critical} critical, ${worst.high} high, ${worst.medium} medium, ${worst.low} low; ` +
        `--fail-on ${options.failOn} -> exit ${code}`,
    );
    return code;
  } catch (error) {
    log(`audit failed: ${deps.redactor.redactText(errorMessage(error))}`);
    return AUDIT_EXIT.incomplete;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await Promise.allSettled([deps.close(), sandbox?.then((running) => running.stop())]);
  }
}
