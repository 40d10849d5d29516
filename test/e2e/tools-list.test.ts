/**
 * Pins the public tool interface: names, titles, descriptions, listed schemas and annotations
 * as a client sees them in tools/list, plus the full schemas every call is validated against. A change here must be deliberate: review
 * the diff, then refresh with `npx vitest run test/e2e/tools-list.test.ts -u`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inputSchema, outputSchema } from '../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';

/** The whole tools/list is paid in model context on every conversation. */
const TOOLS_LIST_BUDGET_BYTES = 16 * 1024;

describe('tools/list', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('matches the committed snapshot', async () => {
    const { tools } = await t.client.listTools();
    const pinned = tools.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: tool.annotations,
    }));
    await expect(`${JSON.stringify(pinned, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/tools-list.json');
  });

  it('pins the full input and output schemas every call is validated against', async () => {
    const pinned = ALL_TOOLS.map((def) => ({
      name: def.name,
      toolset: def.toolset,
      input: z.toJSONSchema(inputSchema(def), { io: 'input' }),
      output: z.toJSONSchema(outputSchema(def)),
    }));
    await expect(`${JSON.stringify(pinned, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/tool-schemas.json');
  });

  it(`stays under ${TOOLS_LIST_BUDGET_BYTES} bytes`, async () => {
    const { tools } = await t.client.listTools();
    expect(Buffer.byteLength(JSON.stringify({ tools }))).toBeLessThan(TOOLS_LIST_BUDGET_BYTES);
  });
});
