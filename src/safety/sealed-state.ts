/**
 * Sealed confirmation state: what the gate hands out while it waits for a human, and must get
 * back unchanged. The same format serves the 2026-07-28 `requestState` of a confirmation form,
 * the state of a form pushed with `elicitation/create`, and the two-step confirmation token
 * (--dangerously-allow-token-confirmation).
 *
 * sealed = base64url(payload || mac), 90 bytes -> 120 characters, where
 *   payload = version (1 byte) | purpose (1) | expiry, epoch ms (8, big-endian) | nonce (16) |
 *             SHA-256 of the canonical JSON of the target's state (32)
 *   mac     = HMAC-SHA256(secret, domain | canonicalJson([tool, params without the token]) | payload)
 * The tool and parameters are not in the payload: the call that brings the state back supplies
 * them, so any change breaks the MAC. The state digest is in the payload so a changed target is
 * told apart from tampering ("stale plan" rather than "invalid"). The purpose keeps a form's
 * state from being spent as a token and the other way round.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical.js';

/** What a sealed state stands for: an answer to the confirmation form, or a two-step token. */
export type SealedPurpose = 'form' | 'token';

/** How long a sealed state stays valid, per purpose. */
export const SEALED_TTL_MS: Readonly<Record<SealedPurpose, number>> = { form: 10 * 60_000, token: 5 * 60_000 };

const VERSION = 2;
const PURPOSE_BYTE: Readonly<Record<SealedPurpose, number>> = { form: 1, token: 2 };
const DOMAIN = 'crdb-encryption-mcp/confirmation-state/v2\n';
const PAYLOAD_BYTES = 1 + 1 + 8 + 16 + 32;
const MAC_BYTES = 32;
/** Length of every sealed state (90 bytes carry no padding bits, so each has one encoding). */
export const SEALED_CHARS = Math.ceil(((PAYLOAD_BYTES + MAC_BYTES) * 4) / 3);

/** What a sealed state is bound to. */
export interface SealedBinding {
  tool: string;
  params: Record<string, unknown>;
  targetState: unknown;
}

/** A sealed state's verified contents. */
export interface SealedClaims {
  expiresAt: number;
  /** Single-use identifier (base64url). */
  nonce: string;
  /** False when the target's state changed since the state was sealed. */
  stateMatches: boolean;
}

function stateDigest(state: unknown): Buffer {
  return createHash('sha256')
    .update(canonicalJson(state ?? null), 'utf8')
    .digest();
}

function mac(secret: Buffer, binding: SealedBinding, payload: Buffer): Buffer {
  const { confirmation_token: _token, ...params } = binding.params;
  return createHmac('sha256', secret)
    .update(DOMAIN)
    .update(canonicalJson([binding.tool, params]), 'utf8')
    .update(payload)
    .digest();
}

/** Seals `binding` for `purpose`, valid for SEALED_TTL_MS[purpose] after `now`. */
export function sealState(secret: Buffer, purpose: SealedPurpose, binding: SealedBinding, now: number): { sealed: string; expiresAt: number } {
  const expiresAt = now + SEALED_TTL_MS[purpose];
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  payload.writeUInt8(VERSION, 0);
  payload.writeUInt8(PURPOSE_BYTE[purpose], 1);
  payload.writeBigUInt64BE(BigInt(expiresAt), 2);
  randomBytes(16).copy(payload, 10);
  stateDigest(binding.targetState).copy(payload, 26);
  return { sealed: Buffer.concat([payload, mac(secret, binding, payload)]).toString('base64url'), expiresAt };
}

/**
 * Checks the MAC against `binding` (timing-safe) and the purpose. Undefined when the state is
 * malformed, tampered with, sealed by another secret, for another purpose, tool or parameters.
 * Expiry and single use are the caller's next checks. Never throws.
 */
export function openState(secret: Buffer, purpose: SealedPurpose, sealed: string, binding: SealedBinding): SealedClaims | undefined {
  if (typeof sealed !== 'string' || sealed.length !== SEALED_CHARS || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length !== PAYLOAD_BYTES + MAC_BYTES || bytes.toString('base64url') !== sealed) return undefined;
  const payload = bytes.subarray(0, PAYLOAD_BYTES);
  if (!timingSafeEqual(bytes.subarray(PAYLOAD_BYTES), mac(secret, binding, payload))) return undefined;
  if (payload.readUInt8(0) !== VERSION || payload.readUInt8(1) !== PURPOSE_BYTE[purpose]) return undefined;
  return {
    expiresAt: Number(payload.readBigUInt64BE(2)),
    nonce: payload.subarray(10, 26).toString('base64url'),
    stateMatches: timingSafeEqual(payload.subarray(26), stateDigest(binding.targetState)),
  };
}
