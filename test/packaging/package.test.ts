/**
 * The package as people install it. server.json and manifest.json validate against their
 * published schemas; `npm pack` -> `npm install <tgz>` into an empty folder -> `npx
 * crdb-encryption-mcp --sandbox` answers a real MCP client, with nothing on stderr but our own
 * lines after a call that loads the AWS SDK; without the optional sandbox packages the server
 * still starts and --sandbox says what is missing; `npm run bundle` makes a .mcpb whose unpacked
 * server starts. One install per run (slow: it is the real thing). Uses the dist/ that npm test
 * built (packs with --ignore-scripts so the concurrent e2e tests keep their dist/).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/harness.js';

const ROOT = process.cwd();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const MCPB_CLI = join(ROOT, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');

function readJson(path: string) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

async function connect(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const transport = new StdioClientTransport({
    command,
    args,
    cwd,
    env: { ...getDefaultEnvironment(), XDG_STATE_HOME: tempDir('crdb-pack-state-'), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'package-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** The installed bin as a 2026-07-28 client sees it: server/discover, then a stateless tools/list. */
async function discoverModern(cwd: string) {
  const client = new ModernClient({ name: 'package-test-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  const env = { ...getDefaultEnvironment(), XDG_STATE_HOME: tempDir('crdb-pack-state-') };
  await client.connect(
    new ModernStdioClientTransport({ command: 'npx', args: ['--no-install', 'crdb-encryption-mcp', '--sandbox'], cwd, env, stderr: 'ignore' }),
  );
  try {
    const discovered = await client.discover();
    const { tools } = await client.listTools();
    return { discovered, protocolVersion: client.getNegotiatedProtocolVersion(), tools: tools.map((tool) => tool.name) };
  } finally {
    await client.close();
  }
}

describe('server.json and the MCPB manifest', () => {
  it('server.json is valid against the MCP Registry schema kept in schemas/ and matches package.json', () => {
    const server = readJson(join(ROOT, 'server.json'));
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajvFormats.default(ajv);
    const validate = ajv.compile(readJson(join(ROOT, 'schemas', 'mcp-server-2025-09-29.schema.json')));
    expect(validate(server), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...server, name: 'no-slash', packages: [{ ...server.packages[0], version: 'latest' }] })).toBe(false);
    expect(server.$schema).toBe(readJson(join(ROOT, 'schemas', 'mcp-server-2025-09-29.schema.json')).$id);
    expect(server.name).toBe(pkg.mcpName);
    expect(server.version).toBe(pkg.version);
    expect(server.repository.url).toBe(pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, ''));
    const [npm] = server.packages;
    expect([npm.registryType, npm.identifier, npm.version]).toEqual(['npm', pkg.name, pkg.version]);
    expect(npm.packageArguments.map((argument: { name: string }) => argument.name)).toContain('--sandbox');
    const env = Object.fromEntries(
      npm.environmentVariables.map((variable: { name: string; isSecret?: boolean }) => [variable.name, variable.isSecret ?? false]),
    );
    expect(env).toMatchObject({ COCKROACH_API_KEY: true, DATABASE_URL: true, CONFIRM_SECRET: true });
  });

  it('manifest.json passes the official mcpb validator and maps user_config to settings the server reads', () => {
    const result = spawnSync(process.execPath, [MCPB_CLI, 'validate', join(ROOT, 'manifest.json')], { encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const broken = join(tempDir('crdb-mcpb-'), 'manifest.json');
    writeFileSync(broken, JSON.stringify({ ...readJson(join(ROOT, 'manifest.json')), server: { type: 'node' } }));
    expect(spawnSync(process.execPath, [MCPB_CLI, 'validate', broken], { encoding: 'utf8' }).status).not.toBe(0);
    const manifest = readJson(join(ROOT, 'manifest.json'));
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.user_config.cockroach_api_key).toMatchObject({ type: 'string', sensitive: true });
    expect(manifest.server.mcp_config.env).toMatchObject({
      COCKROACH_API_KEY: '${user_config.cockroach_api_key}',
      CRDB_SANDBOX: '${user_config.sandbox}',
      CRDB_READ_ONLY: '${user_config.read_only}',
    });
  });

  it('package.json: prepack builds, files ship dist, skills and LICENSE, the sandbox packages are optional', () => {
    expect(pkg.scripts.prepack).toMatch(/npm run build/);
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'skills', 'LICENSE', 'README.md']));
    expect(Object.keys(pkg.optionalDependencies)).toEqual(expect.arrayContaining(['@electric-sql/pglite', '@peculiar/x509']));
    expect(pkg.dependencies['@modelcontextprotocol/sdk']).toBeUndefined();
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0[\s\S]*Copyright 2026 The crdb-encryption-mcp authors/);
  });
});

describe('npm pack -> npm install <tgz> -> npx crdb-encryption-mcp', { timeout: 240_000 }, () => {
  let app: string;
  let files: string[];
  let installMode: string;
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does it).');
    const work = tempDir('crdb-pack-');
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }));
    files = packed.files.map((file: { path: string }) => file.path);
    app = join(work, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    const install = (mode: string) =>
      spawnSync('npm', ['install', mode, '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename)], { cwd: app, encoding: 'utf8' });
    // --offline needs the registry's package documents in the cache, which `npm ci` (lockfile) never fetches;
    // then only those documents come from the registry and the tarballs from the cache.
    let result = install('--offline');
    installMode = '--offline';
    if (result.status !== 0 && /ENOTCACHED/.test(result.stderr)) {
      result = install('--prefer-offline');
      installMode = '--prefer-offline';
    }
    if (result.status !== 0) throw new Error(`npm install failed: ${result.stderr}`);
  }, 240_000);

  it('the tarball holds what the runtime loads and nothing of the source tree', () => {
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'LICENSE', 'README.md', 'package.json', 'skills/enabling-cmek-encryption/SKILL.md']));
    expect(files.filter((file) => /^(src|test|tools|schemas)\/|\.ts$|^server\.json$|^manifest\.json$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('npx crdb-encryption-mcp --sandbox answers server/discover (2026-07-28 client) and initialize (1.x client); a call that loads the AWS SDK leaves stderr clean', async () => {
    const modern = await discoverModern(app);
    expect(modern.protocolVersion).toBe('2026-07-28');
    expect(modern.discovered).toMatchObject({
      supportedVersions: expect.arrayContaining(['2026-07-28']),
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'crdb-encryption-mcp', version: pkg.version } },
    });
    expect(modern.tools).toContain('revoke_cmek');
    const { client, stderr } = await connect('npx', ['--no-install', 'crdb-encryption-mcp', '--sandbox'], app);
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'crdb-encryption-mcp', version: pkg.version });
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('audit_encryption_posture');
      const result = await client.callTool({
        name: 'audit_encryption_posture',
        arguments: { clusters: ['prod-east'], include_sql_targets: false, format: 'json' },
      });
      expect(result.isError ?? false).toBe(false);
      expect((result.structuredContent as { summary: { kms_keys_checked: number } }).summary.kms_keys_checked).toBeGreaterThan(0);
      expect(
        stderr()
          .split('\n')
          .filter((line) => line && !line.startsWith('[crdb-encryption-mcp] ')),
      ).toEqual([]);
    } finally {
      await client.close();
    }
    process.stdout.write(
      `[package.test] installed with npm install ${installMode}: ${execFileSync('du', ['-sh', join(app, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]} node_modules\n`,
    );
  });

  it('without the optional sandbox packages: the server starts, and --sandbox names what is missing (exit 2)', async () => {
    rmSync(join(app, 'node_modules', '@electric-sql', 'pglite'), { recursive: true, force: true });
    const refused = spawnSync('npx', ['--no-install', 'crdb-encryption-mcp', '--sandbox'], { cwd: app, encoding: 'utf8', input: '' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--sandbox needs the optional package @electric-sql\/pglite.*--omit=optional/);
    const { client } = await connect('npx', ['--no-install', 'crdb-encryption-mcp', '--read-only'], app);
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(5);
    } finally {
      await client.close();
    }
  });
});

describe('npm run bundle', { timeout: 240_000 }, () => {
  let unpacked: string;
  afterAll(() => rmSync(unpacked, { recursive: true, force: true }));

  it('makes a .mcpb holding what the manifest references; the unpacked server starts on the sandbox', async () => {
    const out = tempDir('crdb-bundle-');
    const build = spawnSync('npm', ['run', 'bundle', '--silent', '--', '--out', out, '--skip-build'], { cwd: ROOT, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const bundle = join(out, `${pkg.name}-${pkg.version}.mcpb`);
    expect(build.stdout.trim().split('\n').at(-1)).toBe(bundle);
    unpacked = join(out, 'unpacked');
    const unpack = spawnSync(process.execPath, [MCPB_CLI, 'unpack', bundle, unpacked], { encoding: 'utf8' });
    expect(unpack.status, unpack.stderr).toBe(0);
    const manifest = readJson(join(unpacked, 'manifest.json'));
    expect(existsSync(join(unpacked, manifest.server.entry_point))).toBe(true);
    expect(existsSync(join(unpacked, 'node_modules', '@aws-sdk', 'client-kms', 'package.json'))).toBe(true);
    expect(existsSync(join(unpacked, 'node_modules', 'vitest'))).toBe(false);
    // As Claude Desktop launches it: the manifest's command and args, user_config as env.
    const args = manifest.server.mcp_config.args.map((arg: string) => arg.replace('${__dirname}', unpacked));
    const { client } = await connect(process.execPath, args, unpacked, {
      CRDB_SANDBOX: 'true',
      CRDB_READ_ONLY: 'false',
      COCKROACH_API_KEY: '',
      DATABASE_URL: '',
    });
    try {
      const result = await client.callTool({ name: 'list_clusters', arguments: {} });
      expect(result.isError ?? false).toBe(false);
      expect(JSON.stringify(result.structuredContent)).toContain('prod-east');
    } finally {
      await client.close();
    }
  });
});
