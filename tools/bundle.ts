/**
 * Builds the MCPB bundle (the format Claude Desktop installs): the npm package exactly as
 * `npm pack` makes it, its production dependencies (npm ci --omit=dev from package-lock.json) and
 * manifest.json, packed with the official `mcpb` CLI.
 *
 * Usage: npm run bundle [-- --out DIR] [-- --skip-build]   (default DIR: bundle/; --skip-build packs
 * the dist/ already built instead of running prepack). Prints the .mcpb path last.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string' }, 'skip-build': { type: 'boolean' } } });
const outDir = resolve(values.out ?? join(root, 'bundle'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { version: string };
const mcpb = join(root, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
  }
  return String(result.stdout);
}

if (manifest.version !== pkg.version) throw new Error(`manifest.json version ${manifest.version} differs from package.json ${pkg.version}`);
const work = mkdtempSync(join(tmpdir(), 'crdb-mcp-bundle-'));
try {
  const packed = JSON.parse(
    run('npm', ['pack', '--json', '--pack-destination', work, ...(values['skip-build'] ? ['--ignore-scripts'] : [])], { cwd: root }),
  ) as Array<{ filename: string }>;
  const stage = join(work, 'stage');
  mkdirSync(stage);
  run('tar', ['xzf', join(work, packed[0]!.filename), '-C', stage, '--strip-components=1']);
  copyFileSync(join(root, 'package-lock.json'), join(stage, 'package-lock.json'));
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: stage });
  rmSync(join(stage, 'package-lock.json'));
  copyFileSync(join(root, 'manifest.json'), join(stage, 'manifest.json'));
  mkdirSync(outDir, { recursive: true });
  const output = join(outDir, `${pkg.name}-${pkg.version}.mcpb`);
  rmSync(output, { force: true });
  run(process.execPath, [mcpb, 'pack', stage, output]);
  process.stdout.write(`${output}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
