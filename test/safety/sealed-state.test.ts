import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { canonicalJson } from '../../src/safety/canonical.js';
import { createConfirmationGate } from '../../src/safety/confirm.js';
import type { ElicitationSession } from '../../src/safety/elicitation-session.js';
import { SEALED_CHARS, SEALED_TTL_MS, openState, sealState } from '../../src/safety/sealed-state.js';
import { createFileTokenStore, createMemoryTokenStore } from '../../src/safety/token-store.js';
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

const seal = (now: number, purpose: 'form' | 'token' = 'token') => sealState(secret, purpose, binding, now).sealed;

describe('sealed confirmation state', () => {
  it('round-trips: 120 base64url characters bound to purpose, tool, params and state', () => {
    const { sealed, expiresAt } = sealState(secret, 'token', binding, 1_000);
    expect(SEALED_CHARS).toBe(120);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]{120}$/);
    expect(expiresAt).toBe(1_000 + SEALED_TTL_MS.token);
    expect(sealState(secret, 'form', binding, 1_000).expiresAt).toBe(1_000 + SEALED_TTL_MS.form);
    expect(openState(secret, 'token', sealed, binding)).toMatchObject({ expiresAt, stateMatches: true });
    // Key order and a stray confirmation_token in params do not matter.
    expect(openState(secret, 'token', sealed, { ...binding, params: { wait: true, cluster: 'prod', confirmation_token: sealed } })).toBeDefined();
  });

  it('fails on any flipped bit, another secret, purpose, tool or parameter', () => {
    const sealed = seal(0);
    const bytes = Buffer.from(sealed, 'base64url');
    for (let bit = 0; bit < bytes.length * 8; bit += 1) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(openState(secret, 'token', flipped.toString('base64url'), binding)).toBeUndefined();
    }
    expect(openState(randomBytes(32), 'token', sealed, binding)).toBeUndefined();
    expect(openState(secret, 'form', sealed, binding)).toBeUndefined();
    expect(openState(secret, 'token', seal(0, 'form'), binding)).toBeUndefined();
    expect(openState(secret, 'token', sealed, { ...binding, tool: 'delete_kms_key' })).toBeUndefined();
    expect(openState(secret, 'token', sealed, { ...binding, params: { cluster: 'prod', wait: false } })).toBeUndefined();
    expect(openState(secret, 'token', sealed, { ...binding, params: { cluster: 'prod', wait: true, extra: 1 } })).toBeUndefined();
  });

  it('has exactly one encoding: no other string decodes to the same bytes', () => {
    const sealed = seal(0);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const index of [0, 59, sealed.length - 1]) {
      const siblings = [...alphabet].filter(
        (c) => c !== sealed[index] && Buffer.from(sealed.slice(0, index) + c + sealed.slice(index + 1), 'base64url').equals(Buffer.from(sealed, 'base64url')),
      );
      expect(siblings).toEqual([]);
    }
  });

  it('tells a changed target apart from tampering', () => {
    expect(openState(secret, 'token', seal(0), { ...binding, targetState: { status: 'ROTATING', regions: ['us-east-1'] } })).toMatchObject({
      stateMatches: false,
    });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        expect(openState(secret, 'token', text, binding)).toBeUndefined();
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
    expect(await replicaA({ ...request, token })).toMatchObject({ approved: false, reason: 'replayed' });
    // Without the shared secret (per-process random secret) another process cannot verify it.
    const stranger = createConfirmationGate({ config: { ...config, confirmSecret: undefined }, now: () => 0 })(noForms);
    expect(await stranger({ ...request, token })).toMatchObject({ approved: false, reason: 'tampered' });
  });

  it('expired beats replayed, and an unreachable token store refuses', async () => {
    const config = buildConfig({ auditLog: '/unused', dangerouslyAllowTokenConfirmation: true });
    let now = 0;
    const failing = { consume: () => Promise.reject(new Error('db down')), close: async () => {} };
    const confirm = createConfirmationGate({ config, now: () => now, tokenStore: failing })(noForms);
    const token = ((await confirm(request)) as { token: string }).token;
    expect(await confirm({ ...request, token })).toMatchObject({
      approved: false,
      reason: 'error',
      message: expect.stringMatching(/db down.*Nothing was changed/),
    });
    now = SEALED_TTL_MS.token;
    expect(await confirm({ ...request, token })).toMatchObject({ approved: false, reason: 'expired' });
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
