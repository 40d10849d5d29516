/**
 * Confirmation tokens for the two-step flow (only with --dangerously-allow-token-confirmation).
 *
 * token = base64url(payload || mac), 89 bytes -> 119 characters, where
 *   payload = version (1 byte) | expiry, epoch ms (8, big-endian) | nonce (16) | SHA-256 of the
 *             canonical JSON of the target's state (32)
 *   mac     = HMAC-SHA256(secret, domain | canonicalJson([tool, params without the token]) | payload)
 * The tool and parameters are not in the token: the second call supplies them, so any change
 * breaks the MAC. The state digest is in the payload so a changed target is told apart from a
 * tampered token ("stale plan" rather than "invalid").
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical.js';

/** How long a token stays valid. */
export const TOKEN_TTL_MS = 5 * 60_000;

const VERSION = 1;
const DOMAIN = 'crdb-encryption-mcp/confirmation-token/v1\n';
const PAYLOAD_BYTES = 1 + 8 + 16 + 32;
const MAC_BYTES = 32;
const TOKEN_CHARS = Math.ceil(((PAYLOAD_BYTES + MAC_BYTES) * 4) / 3);

/** What a token is bound to. */
export interface TokenBinding {
  tool: string;
  params: Record<string, unknown>;
  targetState: unknown;
}

/** A token's verified contents. */
export interface TokenClaims {
  expiresAt: number;
  nonce: string;
  /** False when the target's state changed since the token was issued. */
  stateMatches: boolean;
}

function stateDigest(state: unknown): Buffer {
  return createHash('sha256').update(canonicalJson(state ?? null), 'utf8').digest();
}

function mac(secret: Buffer, binding: TokenBinding, payload: Buffer): Buffer {
  const { confirmation_token: _token, ...params } = binding.params;
  return createHmac('sha256', secret).update(DOMAIN).update(canonicalJson([binding.tool, params]), 'utf8').update(payload).digest();
}

/** Issues a token for `binding`, valid for TOKEN_TTL_MS after `now`. */
export function issueToken(secret: Buffer, binding: TokenBinding, now: number): { token: string; expiresAt: number } {
  const expiresAt = now + TOKEN_TTL_MS;
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  payload.writeUInt8(VERSION, 0);
  payload.writeBigUInt64BE(BigInt(expiresAt), 1);
  randomBytes(16).copy(payload, 9);
  stateDigest(binding.targetState).copy(payload, 25);
  return { token: Buffer.concat([payload, mac(secret, binding, payload)]).toString('base64url'), expiresAt };
}

/**
 * Checks the token's MAC against `binding` (timing-safe). Undefined when the token is malformed,
 * tampered with, or was issued for another tool or other parameters. Expiry and single use are
 * the caller's next checks.
 */
export function readToken(secret: Buffer, token: string, binding: TokenBinding): TokenClaims | undefined {
  if (token.length !== TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // Reject non-canonical encodings (flipped padding bits decode to the same bytes).
  if (bytes.length !== PAYLOAD_BYTES + MAC_BYTES || bytes.toString('base64url') !== token) return undefined;
  const payload = bytes.subarray(0, PAYLOAD_BYTES);
  if (!timingSafeEqual(bytes.subarray(PAYLOAD_BYTES), mac(secret, binding, payload))) return undefined;
  if (payload.readUInt8(0) !== VERSION) return undefined;
  return {
    expiresAt: Number(payload.readBigUInt64BE(1)),
    nonce: payload.subarray(9, 25).toString('base64url'),
    stateMatches: timingSafeEqual(payload.subarray(25), stateDigest(binding.targetState)),
  };
}
