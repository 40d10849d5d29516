import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBoundaries } from '../../tools/check-boundaries.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
let scratch: string | undefined;

/** A throw-away src/ tree with the given files. */
async function tree(files: Record<string, string>): Promise<string> {
  scratch = await mkdtemp(join(tmpdir(), 'boundaries-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(scratch, path)), { recursive: true });
    await writeFile(join(scratch, path), text);
  }
  return scratch;
}

afterEach(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('import boundaries (tools/check-boundaries.ts)', () => {
  it('the real tree respects every boundary', async () => {
    expect(await checkBoundaries(SRC)).toEqual([]);
  });

  it('fails on a domain module importing either MCP SDK generation, even type-only', async () => {
    const dir = await tree({
      'cmek/enable.ts': "import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';\n",
      'kms/providers/aws/client.ts': "import { McpServer } from '@modelcontextprotocol/server';\n",
      'tools/kms.ts': "import { McpServer } from '@modelcontextprotocol/server';\n",
      'server.ts': "import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';\n",
    });
    const violations = await checkBoundaries(dir);
    expect(violations.map((v) => [v.file, v.rule])).toEqual([
      ['cmek/enable.ts', 'mcp-sdk'],
      ['kms/providers/aws/client.ts', 'mcp-sdk'],
    ]);
  });

  it('fails on anything but the entry and deps wiring importing src/sandbox, dynamic imports included', async () => {
    const dir = await tree({
      'kms/providers/azure/client.ts': "const glue = await import('../../../sandbox/azure-sandbox-client.js');\n",
      'tools/audit.ts': "import { SELF_HOSTED_TARGET } from '../sandbox/constants.js';\n",
      'deps.ts': "import type { Sandbox } from './sandbox/index.js';\n",
      'main.ts': "const s = import('./sandbox/index.js');\n",
      'sandbox/seed.ts': "import { x } from './fleet.js';\n",
    });
    const violations = await checkBoundaries(dir);
    expect(violations.map((v) => [v.file, v.rule])).toEqual([
      ['kms/providers/azure/client.ts', 'sandbox'],
      ['tools/audit.ts', 'sandbox'],
    ]);
  });

  it('fails on a domain module importing the tools, the server or the deps wiring', async () => {
    const dir = await tree({
      'audit/run-audit.ts': "import { KMS_TOOLS } from '../tools/kms.js';\nimport { createDeps } from '../deps.js';\n",
      'sql/probe.ts': "export * from '../server.js';\n",
      'tools/kms.ts': "import { planKeyDeletion } from '../kms/deletion.js';\n",
    });
    const violations = await checkBoundaries(dir);
    expect(violations.map((v) => [v.file, v.specifier, v.rule])).toEqual([
      ['audit/run-audit.ts', '../tools/kms.js', 'domain'],
      ['audit/run-audit.ts', '../deps.js', 'domain'],
      ['sql/probe.ts', '../server.js', 'domain'],
    ]);
  });
});
