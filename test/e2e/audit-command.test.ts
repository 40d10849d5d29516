/**
 * `crdb-encryption-mcp audit` end to end: the BUILT CLI (npm test builds first) on the sandbox,
 * every --format (SARIF validated against the SARIF 2.1.0 schema kept in schemas/) and every exit
 * code. The sandbox fleet has critical findings, so --fail-on decides between exit 0 and 1.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/harness.js';

const DIST = join(process.cwd(), 'dist', 'index.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function audit(args: string[], env: Record<string, string> = {}): Promise<Run> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does it).`);
  const child = spawn(process.execPath, [DIST, 'audit', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_STATE_HOME: tempDir('crdb-audit-cli-'), CRDB_SANDBOX_CMEK_DELAY_MS: '20', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function sarifValidator() {
  const ajv = new AjvDraft04.default({ strict: false, allErrors: true });
  ajvFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(process.cwd(), 'schemas', 'sarif-schema-2.1.0.json'), 'utf8')));
}

describe('audit command on the sandbox', { timeout: 300_000 }, () => {
  it('json: the full report on stdout; the default --fail-on high exits 1 on the seeded critical findings', async () => {
    const run = await audit(['--sandbox', '--format', 'json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.complete).toBe(true);
    expect(report.summary.findings.critical).toBeGreaterThan(0);
    expect(report.findings.map((finding: { code: string }) => finding.code)).toContain('current_key_unusable');
    expect(run.stderr).toMatch(/complete: \d+ critical.*--fail-on high -> exit 1/);
    // Not a TTY: no progress lines, and no Node-version notice from the AWS SDK (the audit asks AWS KMS).
    expect(run.stderr).not.toMatch(/clusters audited|Warning/);
  });

  it('sarif: valid SARIF 2.1.0 with one result per finding and stable fingerprints; --fail-on none exits 0', async () => {
    const run = await audit(['--sandbox', '--format', 'sarif', '--fail-on', 'none', '--framework', 'pci-dss']);
    expect(run.code).toBe(0);
    const log = JSON.parse(run.stdout);
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    const [sarifRun] = log.runs;
    expect(sarifRun.tool.driver.name).toBe('crdb-encryption-mcp');
    expect(sarifRun.results.length).toBeGreaterThan(5);
    const unusable = sarifRun.results.find((result: { ruleId: string }) => result.ruleId === 'current_key_unusable');
    expect(unusable.level).toBe('error');
    expect(unusable.partialFingerprints['crdbEncryptionFindingId/v1']).toMatch(/\S/);
    expect(unusable.locations[0].logicalLocations[0].name).toBe('reports-aws');
    expect(sarifRun.tool.driver.rules[unusable.ruleIndex].id).toBe('current_key_unusable');
    expect(sarifRun.properties.frameworks).toEqual([{ framework: 'PCI_DSS', status: 'fail' }]);
  });

  it('a broken SARIF log fails the schema (the validator can fail)', () => {
    const validate = sarifValidator();
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} }, results: [{ level: 'fatal' }] }] })).toBe(false);
  });

  it('markdown and html to --output files; an existing file is refused (exit 2) unless --overwrite', async () => {
    const dir = tempDir('crdb-audit-out-');
    const markdown = join(dir, 'audit.md');
    const md = await audit(['--sandbox', '--format', 'markdown', '--output', markdown, '--fail-on', 'none']);
    expect(md.code).toBe(0);
    expect(md.stdout).toBe('');
    expect(readFileSync(markdown, 'utf8')).toMatch(/^# CockroachDB encryption posture audit\n[\s\S]*## Findings/);

    const html = join(dir, 'audit.html');
    writeFileSync(html, 'keep me');
    const refused = await audit(['--sandbox', '--format', 'html', '--output', html]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/exists; not overwriting it.*--overwrite/);
    expect(readFileSync(html, 'utf8')).toBe('keep me');

    const replaced = await audit(['--sandbox', '--format', 'html', '--output', html, '--overwrite', '--fail-on', 'critical']);
    expect(replaced.code).toBe(1);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/i);
  });

  it('text: summary and every finding; --cluster narrows the scope and --fail-on medium passes a fleet with only low findings', async () => {
    const run = await audit(['--sandbox', '--cluster', 'dev-basic', '--skip-sql-targets', '--fail-on', 'medium']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Encryption posture audit:/);
    expect(run.stdout).toMatch(/\[low\] dev-basic: CMEK is not available on the BASIC plan/);
    expect(run.stdout).not.toMatch(/prod-east/);
    const low = await audit(['--sandbox', '--cluster', 'dev-basic', '--skip-sql-targets', '--fail-on', 'low']);
    expect(low.code).toBe(1);
  });

  it('exit 3: a SQL target that cannot be reached makes the audit incomplete', async () => {
    const run = await audit(['--sandbox', '--fail-on', 'none', '--sql-target', 'gone=postgresql://auditor@127.0.0.1:1/defaultdb', '--format', 'json']);
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout);
    expect(report.complete).toBe(false);
    expect(report.sql_targets.find((target: { name: string }) => target.name === 'gone').status).toBe('failed');
    expect(run.stderr).toMatch(/INCOMPLETE/);
  });

  it('exit 3: the audit cannot run without a Cloud API key or any SQL target, and says what to do', async () => {
    const run = await audit([]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/audit failed: .*COCKROACH_API_KEY/);
  });

  it('exit 2: usage errors name the flag', async () => {
    expect((await audit(['--format', 'pdf'])).stderr).toMatch(/--format: expected one of text, json, markdown, html, sarif/);
    expect((await audit(['--fail-on', 'severe'])).code).toBe(2);
    const outsideAudit = spawn(process.execPath, [DIST, '--format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    outsideAudit.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => outsideAudit.once('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--format is a flag of the audit command/);
  });
});
