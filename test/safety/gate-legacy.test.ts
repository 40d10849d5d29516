/**
 * The confirmation gate on the legacy era with the 1.x SDK Client (initialize, then the form
 * pushed as elicitation/create), against the real delete_kms_key on the sandbox; deletions are
 * counted at the AWS KMS emulator.
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { FORM_REFUSALS, GATE_KEYS, approveAnswer, useGateSandbox } from './gate-sandbox.js';
import { buildConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_KEYS } from '../../src/sandbox/seed.js';
import { createServer } from '../../src/server.js';
import { auditEntries, tempDir } from '../helpers/harness.js';
import { fastCloud } from '../tools/cmek-helpers.js';

const gate = useGateSandbox();
const { servers, deletions } = gate;
const { unused, approved: approvedKey, raced } = GATE_KEYS;
const approve = (name: string): ElicitResult => approveAnswer(name);
let sandbox: Sandbox;
beforeEach(() => {
  sandbox = gate.sandbox();
});

/** A 1.x Client (legacy era, form elicitation) connected to a fresh server on the sandbox. */
async function legacyClient(onElicit: (client: Client) => Promise<ElicitResult> | ElicitResult) {
  const config = buildConfig({ auditLog: join(tempDir(), 'audit.jsonl'), sandbox: true, cloud: fastCloud({ rateLimitPerSecond: 1000 }) });
  const deps = await createDeps(config, sandbox);
  const server = createServer(config, deps);
  const client = new Client({ name: 'legacy-1x', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler(ElicitRequestSchema, () => onElicit(client));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide as never), client.connect(clientSide)]);
  servers.push({
    close: async () => {
      await client.close();
      await server.close();
      await deps.close();
    },
  } as never);
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args });
    return { isError: Boolean(result.isError), text: (result.content as Array<{ text?: string }>).map((part) => part.text ?? '').join('\n') };
  };
  const audit = () =>
    auditEntries(config.auditLog)
      .filter((entry) => entry.tool === 'delete_kms_key')
      .map((entry) => [entry.outcome, entry.confirmation]);
  return { client, call, audit };
}

describe('legacy era, 1.x client: the form through elicitation/create', () => {
  const refusals = FORM_REFUSALS;

  it.each(refusals)('%s: nothing deleted, audited with the verdict', async (_label, answer, says, outcome, verdict) => {
    const { call, audit } = await legacyClient(() => answer);
    const result = await call('delete_kms_key', { key_uri: unused });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(says);
    expect(deletions()).toBe(0);
    expect(audit()).toEqual([
      ['attempted', undefined],
      [outcome, verdict],
    ]);
  });

  it('approve with the exact name: deleted exactly once', async () => {
    const { call, audit } = await legacyClient(() => approve(AWS_KEYS.prodEastNextWest.id));
    const result = await call('delete_kms_key', { key_uri: approvedKey, pending_window_days: 7 });
    expect(result.isError, result.text).toBe(false);
    expect(deletions()).toBe(1);
    expect(audit()).toEqual([
      ['attempted', undefined],
      ['succeeded', 'approved'],
    ]);
  });

  it('race: a rotate_cmek new_key onto the key while the form is open stops the deletion', async () => {
    const { call, audit } = await legacyClient(async (client) => {
      const rotated = await client.callTool({
        name: 'rotate_cmek',
        arguments: { cluster: 'prod-east', mode: 'new_key', regions: ['us-east-1'], new_keys: { 'us-east-1': raced } },
      });
      expect(rotated.isError).toBeFalsy();
      return approve(AWS_KEYS.prodEastNext.id);
    });
    const result = await call('delete_kms_key', { key_uri: raced });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/the key is in use \(checked again after approval; nothing was sent\)/);
    expect(deletions()).toBe(0);
    expect(audit()).toEqual([
      ['attempted', undefined],
      ['refused', 'approved'],
    ]);
  });
});
