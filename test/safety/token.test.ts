import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { canonicalJson } from '../../src/safety/canonical.js';
import { createConfirmationGate } from '../../src/safety/confirm.js';
import type { ElicitationSession } from '../../src/safety/elicitation-session.js';
import { TOKEN_TTL_MS, issueToken, readToken } from '../../src/safety/token.js';
import { createMemoryTokenStore } from '../../src/safety/token-store.js';
import type { ConfirmationRequest } from '../../src/safety/types.js';

const secret = randomBytes(32);
const binding = { tool: 'revoke_cmek', params: { cluster: 'prod', wait: true }, targetState: { status: 'ENABLED', regions: ['us-east-1'] } };

describe('canonicalJson', () => {
  it('ignores key order and undefined members at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"z":1}]},"b":1}');
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const reparsed = JSON.parse(canonicalJson(value));
        expect(canonicalJson(reparsed)).toBe(canonicalJson(value));
      }),
    );
  });
});

describe('confirmation tokens', () => {
  it('round-trips: 119 base64url characters bound to tool, params and state', () => {
    const { token, expiresAt } = issueToken(secret, binding, 1_000);
    expect(token).toMatch(/^[A-Za-z0-9_-]{119}$/);
    expect(expiresAt).toBe(1_000 + TOKEN_TTL_MS);
    expect(readToken(secret, token, binding)).toMatchObject({ expiresAt, stateMatches: true });
    // Key order and a stray confirmation_token in params do not matter.
    expect(readToken(secret, token, { ...binding, params: { wait: true, cluster: 'prod', confirmation_token: token } })).toBeDefined();
  });

  it('fails on any flipped bit, another secret, tool or parameter', () => {
    const { token } = issueToken(secret, binding, 0);
    const bytes = Buffer.from(token, 'base64url');
    for (let bit = 0; bit < bytes.length * 8; bit += 1) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(readToken(secret, flipped.toString('base64url'), binding)).toBeUndefined();
    }
    expect(readToken(randomBytes(32), token, binding)).toBeUndefined();
    expect(readToken(secret, token, { ...binding, tool: 'delete_kms_key' })).toBeUndefined();
    expect(readToken(secret, token, { ...binding, params: { cluster: 'prod', wait: false } })).toBeUndefined();
    expect(readToken(secret, token, { ...binding, params: { cluster: 'prod', wait: true, extra: 1 } })).toBeUndefined();
  });

  it('rejects non-canonical encodings of the same bytes', () => {
    const { token } = issueToken(secret, binding, 0);
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = [...alphabet].find((c) => c !== last && Buffer.from(token.slice(0, -1) + c, 'base64url').equals(Buffer.from(token, 'base64url')));
    expect(sibling).toBeDefined();
    expect(readToken(secret, token.slice(0, -1) + sibling, binding)).toBeUndefined();
  });

  it('tells a changed target apart from tampering', () => {
    const { token } = issueToken(secret, binding, 0);
    expect(readToken(secret, token, { ...binding, targetState: { status: 'ROTATING', regions: ['us-east-1'] } })).toMatchObject({ stateMatches: false });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        expect(readToken(secret, text, binding)).toBeUndefined();
      }),
    );
  });
});

describe('the gate without elicitation', () => {
  const noForms: ElicitationSession = {
    supportsFormElicitation: () => false,
    elicit: () => Promise.reject(new Error('not supported')),
  };
  const request: ConfirmationRequest = {
    tool: 'revoke_cmek',
    targetName: 'prod',
    targetDescription: 'cluster prod (3b1f)',
    action: 'Revoke CMEK on prod.',
    consequences: ['Nodes cannot restart.'],
    reversibility: 'Needs Cockroach Labs support to undo.',
    params: { cluster: 'prod' },
    targetState: { status: 'ENABLED' },
  };

  it('refuses when the token flow is not allowed', async () => {
    const confirm = createConfirmationGate({ config: buildConfig({ auditLog: '/unused' }), now: () => 0 })(noForms);
    expect(await confirm(request)).toMatchObject({ approved: false, reason: 'unsupported' });
    expect(await confirm({ ...request, token: 'anything' })).toMatchObject({ approved: false, reason: 'unsupported' });
  });

  it('replicas sharing CONFIRM_SECRET and a token store accept a token once, across replicas', async () => {
    const config = buildConfig({ auditLog: '/unused', dangerouslyAllowTokenConfirmation: true, confirmSecret: 'a-shared-secret-of-32-characters!' });
    const tokenStore = createMemoryTokenStore();
    const replicaA = createConfirmationGate({ config, now: () => 0, tokenStore })(noForms);
    const replicaB = createConfirmationGate({ config, now: () => 0, tokenStore })(noForms);
    const issued = await replicaA(request);
    expect(issued).toMatchObject({ approved: false, reason: 'token_issued' });
    const token = (issued as { token: string }).token;
    expect(await replicaB({ ...request, token })).toEqual({ approved: true, via: 'token' });
    expect(await replicaA({ ...request, token })).toMatchObject({ approved: false, reason: 'token_replayed' });
    // Without the shared secret (per-process random secret) another process cannot verify it.
    const stranger = createConfirmationGate({ config: { ...config, confirmSecret: undefined }, now: () => 0 })(noForms);
    expect(await stranger({ ...request, token })).toMatchObject({ approved: false, reason: 'token_invalid' });
  });

  it('expired beats replayed, and an unreachable token store refuses', async () => {
    const config = buildConfig({ auditLog: '/unused', dangerouslyAllowTokenConfirmation: true });
    let now = 0;
    const failing = { consume: () => Promise.reject(new Error('db down')), close: async () => {} };
    const confirm = createConfirmationGate({ config, now: () => now, tokenStore: failing })(noForms);
    const token = ((await confirm(request)) as { token: string }).token;
    expect(await confirm({ ...request, token })).toMatchObject({ approved: false, reason: 'error', message: expect.stringMatching(/db down.*Nothing was changed/) });
    now = TOKEN_TTL_MS;
    expect(await confirm({ ...request, token })).toMatchObject({ approved: false, reason: 'token_expired' });
  });
});

describe('memory token store', () => {
  it('is single use and forgets expired nonces', async () => {
    const store = createMemoryTokenStore();
    expect(await store.consume('n1', 100, 0)).toBe(true);
    expect(await store.consume('n1', 100, 50)).toBe(false);
    expect(await store.consume('n2', 300, 200)).toBe(true);
    expect(await store.consume('n1', 100, 200)).toBe(true); // pruned: the token itself is expired by then
  });
});
