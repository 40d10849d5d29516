import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSkillCatalog } from '../../src/skills/catalog.js';
import { PROVIDERS, REASONS, TIERS } from '../../src/prompts/vocabulary.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { completePrompt, expectToolOrder, getPrompt } from './helpers.js';

const PROMPT = 'gather_encryption_context';
const CMEK = 'skill://enabling-cmek-encryption';
const CERTS = 'skill://managing-certificates-and-encryption';
const KMS_NAME = { AWS: 'AWS KMS', GCP: 'GCP Cloud KMS', Azure: 'Azure Key Vault' } as const;
const PROVIDER_FILE = { AWS: 'aws.md', GCP: 'gcp.md', Azure: 'azure.md' } as const;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe('prompts/list', () => {
  it('offers the five prompts with optional, described arguments', async () => {
    const { prompts } = await t.client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual([
      'gather_encryption_context',
      'enable_cmek_guided',
      'rotate_cmek_guided',
      'respond_to_key_compromise',
      'compliance_audit',
    ]);
    const gather = prompts[0]!;
    expect(gather.arguments).toEqual([
      { name: 'tier', description: expect.stringContaining('Self-Hosted, Advanced, BYOC, Standard or Basic'), required: false },
      { name: 'reason', description: expect.stringContaining('Add SAN entries'), required: false },
      { name: 'provider', description: expect.stringContaining('AWS, GCP or Azure'), required: false },
    ]);
    for (const prompt of prompts) {
      expect(prompt.title).toBeTruthy();
      expect(prompt.description).toBeTruthy();
      for (const argument of prompt.arguments ?? []) expect(argument.required).toBe(false);
    }
  });
});

describe('routing: every tier x reason x provider', () => {
  const combos = TIERS.flatMap((tier) => REASONS.flatMap((reason) => PROVIDERS.map((provider) => [tier, reason, provider] as const)));

  it.each(combos)('%s / %s / %s', async (tier, reason, provider) => {
    const { text, embedded } = await getPrompt(t.client, PROMPT, { tier, reason, provider });
    expect(text).toContain(`Context: tier = ${tier}, reason = ${reason}, provider = ${provider}.`);
    expect(text).not.toMatch(/Missing \(/);
    expect(text).toMatch(/\nNext: /);
    if (tier === 'Self-Hosted') {
      expect(text).toContain('# Route: Certificate management (self-hosted)');
      expect(text).toContain(`## ${reason}`);
      expect(embedded.every((uri) => uri.startsWith(`${CERTS}/references/`))).toBe(true);
      expect(text).toMatch(/check_certificate_expiry|inspect_certificates|audit_encryption_posture/);
    } else if (tier === 'Standard' || tier === 'Basic') {
      expect(text).toContain('# Route: Fully managed (CMEK needs Advanced)');
      expect(text).toMatch(/need an \*\*Advanced\*\* cluster/);
      expect(embedded).toEqual([`${CERTS}/references/managed-tls.md`]);
    } else if (reason === 'Add SAN entries') {
      expect(text).toContain('# Route: Managed TLS (CockroachDB Cloud)');
      expect(text).toMatch(/Only the \*\*client CA\*\*/);
      expect(embedded).toEqual([`${CERTS}/references/managed-tls.md`]);
    } else {
      expect(text).toContain(`# Route: CMEK key management (${KMS_NAME[provider]})`);
      expect(text).toContain(`## ${KMS_NAME[provider]} specifics`);
      expect(embedded[0]).toBe(`${CMEK}/references/${PROVIDER_FILE[provider]}`);
      expect(text).toMatch(/## Safety checkpoints/);
    }
  });
});

describe('routing: procedures name the tools in order', () => {
  it('self-hosted scheduled rotation: expiry, inspect, plan, verify', async () => {
    const { text, embedded } = await getPrompt(t.client, PROMPT, { tier: 'Self-Hosted', reason: 'Scheduled rotation' });
    expectToolOrder(text, ['check_certificate_expiry', 'inspect_certificates', 'plan_certificate_rotation', 'verify_encryption_sql']);
    expect(text).toContain('SIGHUP');
    expect(text).toContain('combined CA file');
    expect(text).toContain('allow_unsafe_internals');
    expect(embedded).toEqual([`${CERTS}/references/certificate-rotation.md`]);
  });

  it('self-hosted SAN entries: inspect with the hostnames, then plan a node rotation', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { tier: 'Self-Hosted', reason: 'Add SAN entries' });
    expectToolOrder(text, ['inspect_certificates', 'plan_certificate_rotation']);
    expect(text).toMatch(/load-balancer/);
  });

  it('Advanced scheduled rotation on AWS: status, dry run, rotate, status; PUT /cmek and old keys kept', async () => {
    const { text, embedded } = await getPrompt(t.client, PROMPT, { tier: 'Advanced', reason: 'Scheduled rotation', provider: 'AWS' });
    expectToolOrder(text, ['get_cmek_status', 'rotate_cmek', 'verify_encryption_sql']);
    expect(text).toContain('dry_run: true');
    expect(text).toContain('`PUT /cmek`');
    expect(text).toMatch(/Keep every previous key and key version enabled/);
    expect(text).toMatch(/External ID = your CockroachDB Cloud organization id/);
    expect(embedded).toEqual([`${CMEK}/references/aws.md`, `${CMEK}/references/rotation.md`]);
  });

  it('BYOC key compromise on GCP: contain, provision a new key, rotate to it', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { tier: 'BYOC', reason: 'Key compromise', provider: 'GCP' });
    expect(text).toContain('BYOC: the cluster runs in your own cloud account');
    expectToolOrder(text, ['respond_to_key_compromise', 'get_cmek_status', 'provision_cmek_key', 'rotate_cmek', 'revoke_cmek', 'audit_encryption_posture']);
    expect(text).toContain('"mode": "new_key"');
    expect(text).toMatch(/crl-kms-user-<last 12 characters of the cluster id>/);
    expect(text).toMatch(/\*\*without\*\* `\/cryptoKeyVersions\/N`/);
  });

  it('Advanced compliance audit on Azure: audit, audit log, status', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { tier: 'Advanced', reason: 'Compliance audit', provider: 'Azure' });
    expectToolOrder(text, ['audit_encryption_posture', 'verify_audit_log', 'get_cmek_status']);
    expect(text).toMatch(/`auth_principal` = your tenant id/);
    expect(text).toMatch(/Key Vault Crypto Officer/);
  });

  it('embeds the reference files verbatim', async () => {
    const catalog = createSkillCatalog();
    const { embeddedText } = await getPrompt(t.client, PROMPT, { tier: 'Advanced', reason: 'Routine monitoring', provider: 'GCP' });
    expect(embeddedText[`${CMEK}/references/gcp.md`]).toBe(await catalog.readReference('enabling-cmek-encryption', 'gcp.md'));
  });
});

describe('missing arguments: ask exactly what is missing, and why', () => {
  it('nothing given: asks tier, reason and (conditionally) provider, and routes nowhere', async () => {
    const { text, embedded } = await getPrompt(t.client, PROMPT);
    expect(text).toContain('Missing (3)');
    expect(text).toMatch(/\*\*Tier\*\*: one of Self-Hosted, Advanced, BYOC, Standard, Basic\.\n\s+Why it matters: /);
    expect(text).toMatch(/\*\*Reason\*\*: one of Routine monitoring, Scheduled rotation, Key compromise, Compliance audit, Add SAN entries\./);
    expect(text).toMatch(/\*\*Provider\*\* \(only if the tier is Advanced or BYOC\): one of AWS, GCP, Azure\./);
    expect(text).toContain('Do not guess');
    expect(text).not.toContain('# Route:');
    expect(embedded).toEqual([]);
  });

  it('Advanced without reason and provider: asks both, not the tier', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { tier: 'Advanced' });
    expect(text).toContain('Known so far: tier = Advanced.');
    expect(text).toContain('Missing (2)');
    expect(text).not.toMatch(/\*\*Tier\*\*/);
    expect(text).toMatch(/\*\*Reason\*\*/);
    expect(text).toMatch(/\*\*Provider\*\*: one of AWS, GCP, Azure\.\n\s+Why it matters: CMEK key URIs/);
  });

  it('BYOC + Key compromise without provider: asks only the provider', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { tier: 'BYOC', reason: 'Key compromise' });
    expect(text).toContain('Missing (1)');
    expect(text).toMatch(/\*\*Provider\*\*/);
    expect(text).toMatch(/check_cmek_eligibility \{"cluster": "my-cluster"\}` shows `cloud_provider`/);
  });

  it('Self-Hosted without reason: asks the reason only (the provider does not matter)', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { tier: 'Self-Hosted' });
    expect(text).toContain('Missing (1)');
    expect(text).toMatch(/\*\*Reason\*\*/);
    expect(text).not.toMatch(/\*\*Provider\*\*/);
  });

  it('reason and provider without tier: asks the tier, explaining how to find it', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { reason: 'Scheduled rotation', provider: 'AWS' });
    expect(text).toContain('Missing (1)');
    expect(text).toMatch(/list_clusters` shows each CockroachDB Cloud cluster with its plan/);
  });

  it('routes without asking when the answer cannot change the procedure', async () => {
    expect((await getPrompt(t.client, PROMPT, { tier: 'Standard' })).text).toContain('# Route: Fully managed');
    expect((await getPrompt(t.client, PROMPT, { tier: 'Basic', reason: 'Add SAN entries' })).text).toContain(
      'SAN entries: node certificates on CockroachDB Cloud are managed',
    );
    expect((await getPrompt(t.client, PROMPT, { tier: 'Advanced', reason: 'Add SAN entries' })).text).toContain('# Route: Managed TLS');
  });

  it('treats blank values as missing', async () => {
    expect((await getPrompt(t.client, PROMPT, { tier: '  ', reason: '' })).text).toContain('Missing (3)');
  });
});

describe('argument values', () => {
  it('accepts any case, spacing and hyphenation', async () => {
    const { text } = await getPrompt(t.client, PROMPT, { tier: 'self hosted', reason: 'add-san-entries', provider: 'azure' });
    expect(text).toContain('Context: tier = Self-Hosted, reason = Add SAN entries, provider = Azure.');
  });

  it('refuses unknown values, listing the valid ones', async () => {
    await expect(getPrompt(t.client, PROMPT, { tier: 'Dedicated' })).rejects.toThrow(
      /gather_encryption_context: tier 'Dedicated' is not one of: Self-Hosted, Advanced, BYOC, Standard, Basic\./,
    );
    await expect(getPrompt(t.client, PROMPT, { tier: 'Advanced', reason: 'Because', provider: 'Oracle' })).rejects.toThrow(
      /reason 'Because' is not one of: Routine monitoring, Scheduled rotation, Key compromise, Compliance audit, Add SAN entries; provider 'Oracle' is not one of: AWS, GCP, Azure\./,
    );
  });
});

describe('completions (case-insensitive; prefix, then substring, then keyword)', () => {
  it.each([
    ['tier', '', [...TIERS]],
    ['tier', 'a', ['Advanced', 'Standard', 'Basic']],
    ['tier', 'S', ['Self-Hosted', 'Standard', 'Basic']],
    ['tier', 'b', ['BYOC', 'Basic']],
    ['tier', 'self-h', ['Self-Hosted']],
    ['tier', 'hosted', ['Self-Hosted']],
    ['tier', 'x', []],
    ['reason', 'k', ['Key compromise', 'Routine monitoring']],
    ['reason', 'add', ['Add SAN entries']],
    ['reason', 'compromise', ['Key compromise']],
    ['reason', 'rotation', ['Scheduled rotation', 'Key compromise']],
    ['reason', 'ROTATE', ['Scheduled rotation']],
    ['reason', 'monitoring', ['Routine monitoring']],
    ['reason', 'audit', ['Compliance audit']],
    ['reason', 'hipaa', ['Compliance audit']],
    ['reason', 'san', ['Add SAN entries']],
    ['reason', 'hostname', ['Add SAN entries']],
    ['reason', 'zzz', []],
    ['provider', 'g', ['GCP']],
    ['provider', 'AZ', ['Azure']],
    ['provider', 'ure', ['Azure']],
    ['provider', '', [...PROVIDERS]],
  ])('%s %j', async (argument, value, expected) => {
    expect(await completePrompt(t.client, PROMPT, argument, value)).toEqual(expected);
  });

  it.each([
    ['rotation', 'Scheduled rotation'],
    ['compromise', 'Key compromise'],
    ['monitoring', 'Routine monitoring'],
    ['audit', 'Compliance audit'],
    ['SAN', 'Add SAN entries'],
  ])('accepts the short reason word %j as %j (the README vocabulary)', async (word, reason) => {
    const args = { tier: 'Advanced', provider: 'AWS' };
    expect(await getPrompt(t.client, PROMPT, { ...args, reason: word })).toEqual(await getPrompt(t.client, PROMPT, { ...args, reason }));
  });

  it('the README names the reasons exactly as the prompt does', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const routing = readme.slice(readme.indexOf('`gather_encryption_context` routes by tier'));
    for (const reason of REASONS) expect(routing).toContain(`\`${reason}\``);
    for (const tier of TIERS) expect(routing).toContain(tier);
  });

  it('refuses a word that is part of several reasons, naming them', async () => {
    await expect(getPrompt(t.client, PROMPT, { tier: 'Advanced', reason: 'com', provider: 'AWS' })).rejects.toThrow(
      /reason 'com' is not one of: Routine monitoring, Scheduled rotation, Key compromise, Compliance audit, Add SAN entries \(it is part of Key compromise and Compliance audit: name one\)/,
    );
  });
});

describe('arbitrary argument values (property)', () => {
  const value = fc.option(fc.oneof(fc.constantFrom(...TIERS, ...REASONS, ...PROVIDERS, 'self hosted', 'AZURE'), fc.string({ maxLength: 40 })), {
    nil: undefined,
  });

  it('always answers with a procedure, questions, or InvalidParams naming the valid values; the server keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ tier: value, reason: value, provider: value }, { requiredKeys: [] }), async (args) => {
        const defined = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as Record<string, string>;
        try {
          const { text } = await getPrompt(t.client, PROMPT, defined);
          expect(text).toMatch(/^# (Route: |Gather encryption context)/);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
          expect((error as ProtocolError).code).toBe(ProtocolErrorCode.InvalidParams);
          expect((error as Error).message).toMatch(/is not one of: /);
        }
      }),
      { numRuns: 150 },
    );
    expect((await t.client.listPrompts()).prompts).toHaveLength(5);
  });
});
