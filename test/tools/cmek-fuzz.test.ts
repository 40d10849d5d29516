import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_CMEK_ROLE, AWS_KEYS, awsKeyArn } from '../../src/sandbox/seed.js';
import { callTool, type TestServer } from '../helpers/harness.js';
import { expectActionableAnswer } from '../helpers/next-actions.js';
import { useFastSandboxServer } from './cmek-helpers.js';

let sandbox: Sandbox;
let server: TestServer;

useFastSandboxServer((ready, readyServer) => {
  sandbox = ready;
  server = readyServer;
});

const upstreamCalls = () =>
  sandbox.cloud.log.entries.length + sandbox.aws.log.entries.length + sandbox.gcp.log.entries.length + sandbox.azure.log.entries.length;

/** JSON values that are never undefined (undefined would vanish on the wire and could make input valid). */
const json = fc.jsonValue();
const notString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const notBoolean = fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 }));
const badCluster = fc.oneof(
  notString,
  fc.constant(''),
  fc.string({ minLength: 101, maxLength: 150 }).map((s) => `a${s.replace(/[^a-z]/g, 'b')}`),
  fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(s)),
);
const badRegion = fc.oneof(
  fc.constant(''),
  fc.constant('US EAST 1'),
  fc.string({ maxLength: 10 }).filter((s) => !/^[a-z][a-z0-9-]*[a-z0-9]$/.test(s)),
);
const unknownKey = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter(
    (key) =>
      ![
        'cluster',
        'plan',
        'cloud',
        'label',
        'region_specs',
        'keys',
        'auth_principal',
        'wait',
        'dry_run',
        'mode',
        'regions',
        'new_keys',
        'confirmation_token',
        '__proto__',
      ].includes(key),
  );

type Mutation = fc.Arbitrary<Record<string, unknown>>;
const withField = (base: Record<string, unknown>, field: string, value: fc.Arbitrary<unknown>): Mutation => value.map((bad) => ({ ...base, [field]: bad }));
const withUnknown = (base: Record<string, unknown>): Mutation => fc.tuple(unknownKey, json).map(([key, value]) => ({ ...base, [key]: value }));
const without = (base: Record<string, unknown>, field: string): Mutation =>
  fc.constant(Object.fromEntries(Object.entries(base).filter(([key]) => key !== field)));

const ARN = awsKeyArn(AWS_KEYS.prodEastNext);
const enableBase = { cluster: 'prod-east', keys: { 'us-east-1': ARN }, auth_principal: AWS_CMEK_ROLE };
const rotateBase = { cluster: 'prod-east', mode: 'new_key', new_keys: { 'us-east-1': ARN } };

const MALFORMED: Record<string, Mutation> = {
  list_clusters: fc.oneof(
    withField({}, 'plan', fc.oneof(notString, fc.constantFrom('advanced', 'ENTERPRISE', ''))),
    withField({}, 'cloud', fc.oneof(notString, fc.constantFrom('aws', 'IBM'))),
    withField({}, 'label', fc.oneof(notString, fc.constantFrom('env', '=prod', 'a=b=c', 'a b=c'))),
    withUnknown({}),
  ),
  check_cmek_eligibility: fc.oneof(withField({}, 'cluster', badCluster), without({ cluster: 'x' }, 'cluster'), withUnknown({ cluster: 'prod-east' })),
  get_cmek_status: fc.oneof(withField({}, 'cluster', badCluster), withUnknown({ cluster: 'prod-east' })),
  enable_cmek: fc.oneof(
    withField(enableBase, 'cluster', badCluster),
    without(enableBase, 'auth_principal'),
    without(enableBase, 'keys'),
    withField(
      enableBase,
      'keys',
      fc.oneof(
        notString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
        fc.constant({}),
      ),
    ),
    fc.tuple(badRegion, fc.string()).map(([region, uri]) => ({ ...enableBase, keys: { [region]: uri } })),
    withField(enableBase, 'region_specs', fc.oneof(fc.constant([]), fc.array(json, { minLength: 1, maxLength: 2 }))),
    withField(enableBase, 'wait', notBoolean),
    withField(enableBase, 'dry_run', notBoolean),
    withField(enableBase, 'auth_principal', fc.oneof(notString, fc.constant(''))),
    withUnknown(enableBase),
  ),
  rotate_cmek: fc.oneof(
    withField(rotateBase, 'mode', fc.oneof(notString, fc.constantFrom('rotate', 'NEW_KEY', ''))),
    without(rotateBase, 'new_keys'),
    fc.constant({ ...rotateBase, mode: 'new_version' }),
    withField(rotateBase, 'regions', fc.oneof(fc.constant([]), fc.constant(['us-east-1', 'us-east-1']), fc.array(badRegion, { minLength: 1, maxLength: 2 }))),
    withField(rotateBase, 'cluster', badCluster),
    withField(rotateBase, 'dry_run', notBoolean),
    withUnknown(rotateBase),
  ),
  revoke_cmek: fc.oneof(
    withField({ cluster: 'prod-east' }, 'cluster', badCluster),
    withField({ cluster: 'prod-east' }, 'confirmation_token', fc.oneof(notString, fc.constant(''))),
    withField({ cluster: 'prod-east' }, 'dry_run', notBoolean),
    withField({ cluster: 'prod-east' }, 'wait', notBoolean),
    withUnknown({ cluster: 'prod-east' }),
  ),
};

describe('malformed input', () => {
  it.each(Object.keys(MALFORMED))('%s: isError, no upstream call, server still answers', async (tool) => {
    await fc.assert(
      fc.asyncProperty(MALFORMED[tool]!, async (args) => {
        const before = upstreamCalls();
        const result = await callTool(server.client, tool, args);
        expect(result.isError).toBe(true);
        expect(result.text).toMatch(/Invalid arguments|invalid|expected|required|Unrecognized/i);
        expectActionableAnswer(result, JSON.stringify(args));
        expect(upstreamCalls()).toBe(before);
      }),
      { numRuns: 40 },
    );
    const { tools } = await server.client.listTools();
    expect(tools.map((t) => t.name)).toContain(tool);
  });
});

describe('typos never change what a write does', () => {
  it.each([
    ['rotate_cmek', { cluster: 'prod-east', mode: 'new_version', dryRun: true }],
    ['enable_cmek', { cluster: 'analytics-gcp', keys: { 'us-central1': 'x' }, auth_principal: 'y', 'dry-run': true }],
    ['revoke_cmek', { cluster: 'prod-east', dryrun: true }],
  ])('%s with a misspelt dry_run is refused before any call', async (tool, args) => {
    const before = upstreamCalls();
    const result = await callTool(server.client, tool, args);
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/Unrecognized key/);
    expectActionableAnswer(result);
    expect(upstreamCalls()).toBe(before);
  });
});
