/**
 * The real thing: the BUILT server (`node dist/index.js --sandbox`, built by `npm test` before
 * vitest; run `npm run build` first otherwise) driven by a real MCP client over stdio.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { SkillsClient } from '@modelcontextprotocol/client/ext/skills';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIERS } from '../../src/prompts/vocabulary.js';
import { tempDir } from '../helpers/harness.js';

const DIST = join(process.cwd(), 'dist', 'index.js');
const CONTRACT_TOOLS = [
  'list_clusters',
  'check_cmek_eligibility',
  'get_cmek_status',
  'enable_cmek',
  'rotate_cmek',
  'revoke_cmek',
  'provision_cmek_key',
  'delete_kms_key',
  'check_certificate_expiry',
  'inspect_certificates',
  'plan_certificate_rotation',
  'verify_encryption_sql',
  'audit_encryption_posture',
  'verify_audit_log',
];

function assertBuilt(): void {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before this test (npm test does it).`);
}

async function connect(args: string[], env: Record<string, string> = {}): Promise<{ client: Client; stderr: () => string }> {
  assertBuilt();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [DIST, ...args],
    env: { ...getDefaultEnvironment(), XDG_STATE_HOME: tempDir('crdb-e2e-state-'), CRDB_SANDBOX_CMEK_DELAY_MS: '20', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'e2e-stdio', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

describe('stdio: built server on the sandbox', () => {
  let client: Client;
  let stderr: () => string;
  beforeAll(async () => {
    ({ client, stderr } = await connect(['--sandbox']));
  });
  afterAll(async () => {
    await client?.close();
  });

  it('initializes with prompts, resources, completions and tools', () => {
    expect(client.getServerVersion()).toMatchObject({ name: 'crdb-encryption-mcp' });
    const capabilities = client.getServerCapabilities()!;
    expect(capabilities).toHaveProperty('prompts');
    expect(capabilities).toHaveProperty('resources');
    expect(capabilities).toHaveProperty('completions');
    expect(capabilities).toHaveProperty('tools');
    expect(client.getInstructions()).toMatch(/gather_encryption_context/);
  });

  it('lists prompts and resource templates', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual([
      'gather_encryption_context',
      'enable_cmek_guided',
      'rotate_cmek_guided',
      'respond_to_key_compromise',
      'compliance_audit',
    ]);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(['skill://{name}', 'skill://{+path}']);
  });

  it('completes tier (prefix first, then substring)', async () => {
    const complete = async (value: string) =>
      (await client.complete({ ref: { type: 'ref/prompt', name: 'gather_encryption_context' }, argument: { name: 'tier', value } })).completion.values;
    expect(await complete('')).toEqual([...TIERS]);
    expect(await complete('s')).toEqual(['Self-Hosted', 'Standard', 'Basic']);
    expect(await complete('hosted')).toEqual(['Self-Hosted']);
    expect(await complete('BY')).toEqual(['BYOC']);
  });

  it.each([
    ['Self-Hosted', 'Scheduled rotation', 'Route: Certificate management (self-hosted)'],
    ['Advanced', 'Scheduled rotation', 'Route: CMEK key management (AWS KMS)'],
    ['BYOC', 'Key compromise', 'Route: CMEK key management (AWS KMS)'],
    ['Advanced', 'Add SAN entries', 'Route: Managed TLS (CockroachDB Cloud)'],
    ['Standard', 'Compliance audit', 'Route: Fully managed (CMEK needs Advanced)'],
    ['Basic', 'Routine monitoring', 'Route: Fully managed (CMEK needs Advanced)'],
  ])('routes %s / %s', async (tier, reason, route) => {
    const result = await client.getPrompt({ name: 'gather_encryption_context', arguments: { tier, reason, provider: 'AWS' } });
    const first = result.messages[0]!.content as { type: string; text: string };
    expect(first.text).toContain(`# ${route}`);
    const embedded = result.messages.slice(1).map((message) => (message.content as { type: string; resource: { uri: string; text: string } }).resource);
    expect(embedded.length).toBeGreaterThan(0);
    for (const resource of embedded) expect(resource.text.length).toBeGreaterThan(200);
  });

  it('lists the skills (skills extension) and reads every file of each', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual([
      'skill://enabling-cmek-encryption/SKILL.md',
      'skill://managing-certificates-and-encryption/SKILL.md',
    ]);
    const { skills } = await new SkillsClient(client).list();
    const files = skills.flatMap((skill) => skill.resources as Array<{ uri: string; size: number }>);
    expect(files.filter((file) => file.uri.includes('/references/')).length).toBeGreaterThanOrEqual(12);
    for (const file of files) {
      const { contents } = await client.readResource({ uri: file.uri });
      const text = (contents[0] as { text: string }).text;
      expect(Buffer.byteLength(text), file.uri).toBe(file.size);
      if (file.uri.endsWith('/SKILL.md')) expect(text).toMatch(/^---\nname: /);
    }
  });

  it('lists tools with all four annotations, names from the contract', async () => {
    const { tools } = await client.listTools();
    for (const tool of tools) {
      expect(CONTRACT_TOOLS).toContain(tool.name);
      expect(tool.annotations).toMatchObject({
        readOnlyHint: expect.any(Boolean),
        destructiveHint: expect.any(Boolean),
        idempotentHint: expect.any(Boolean),
        openWorldHint: expect.any(Boolean),
      });
    }
  });

  it('writes nothing but protocol on stdout (diagnostics go to stderr)', () => {
    expect(stderr()).toMatch(/sandbox/);
  });
});

describe('stdio: failures', () => {
  it('a bad flag exits 2 with exactly one line on stderr and nothing on stdout', () => {
    assertBuilt();
    const result = spawnSync(process.execPath, [DIST, '--bogus'], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--bogus/);
  });

  it('a missing skills folder gives a clear error on resources/list, and the server keeps serving', async () => {
    const missing = join(tempDir(), 'no-skills');
    const { client } = await connect(['--sandbox'], { CRDB_SKILLS_DIR: missing });
    try {
      await expect(client.listResources()).rejects.toThrow(`Skills folder not found: ${missing}`);
      expect((await client.listPrompts()).prompts).toHaveLength(5);
    } finally {
      await client.close();
    }
  });
});
