/**
 * Key Vault's request validation for the emulator: error replies and the rules for key
 * attributes, key_ops, tags and rotation policies (expiry >= 28 days, triggers >= 7 days, a
 * rotation at least 7 days before expiry).
 */
import { isoDurationDays } from '../kms/providers/azure/iso-duration.js';

/** A Key Vault error reply: HTTP status plus `{error:{code,message}}`. */
export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

export type Json = Record<string, unknown>;

/** Lifetime actions as Key Vault stores them. */
export type LifetimeAction = { trigger: { timeAfterCreate?: string; timeBeforeExpiry?: string }; action: { type: 'Rotate' | 'Notify' } };

export const KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export'];
export const RSA_SIZES = [2048, 3072, 4096];
export const CURVES: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66, 'P-256K': 32 };
export const DAY_SECONDS = 86_400;

/** 404 KeyNotFound, worded as Key Vault words it. */
export const notFound = (what: string) =>
  new VaultError(
    404,
    'KeyNotFound',
    `A key with (name/id) ${what} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );

/** 400 BadParameter. */
export const badParameter = (message: string) => new VaultError(400, 'BadParameter', message);

/** An optional Unix-seconds attribute. */
export function optionalSeconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw badParameter(`attributes.${field} must be a Unix time in seconds`);
  return value;
}

/** key_ops, each a JSON Web Key operation. */
export function parseKeyOps(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((op) => typeof op !== 'string' || !KEY_OPS.includes(op))) {
    throw badParameter(`Invalid key_ops: each operation must be one of ${KEY_OPS.join(', ')}`);
  }
  return [...new Set(value as string[])];
}

/** Tags: at most 15 string values. */
export function parseTags(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw badParameter('tags must be an object of string values');
  }
  if (Object.keys(value).length > 15) throw badParameter('A key can have at most 15 tags');
  return value as Record<string, string>;
}

/** Validates a PUT rotationpolicy body as Key Vault does. */
export function parseRotationPolicy(body: Json): { lifetimeActions: LifetimeAction[]; expiryTime?: string } {
  const attributes = (body.attributes ?? {}) as Json;
  const expiryTime = attributes.expiryTime as string | undefined | null;
  let expiryDays: number | undefined;
  if (expiryTime !== undefined && expiryTime !== null) {
    expiryDays = typeof expiryTime === 'string' ? isoDurationDays(expiryTime) : undefined;
    if (expiryDays === undefined) throw badParameter(`expiryTime "${String(expiryTime)}" is not an ISO 8601 duration such as P90D or P1Y`);
    if (expiryDays < 28) throw badParameter(`expiryTime ${expiryTime} is too short: the expiry time must be at least 28 days (P28D)`);
  }
  const actions = body.lifetimeActions ?? [];
  if (!Array.isArray(actions)) throw badParameter('lifetimeActions must be an array');
  const seen = new Set<string>();
  const lifetimeActions = actions.map((raw: unknown) => {
    const entry = (raw ?? {}) as { trigger?: Json; action?: Json };
    const type = String(entry.action?.type ?? '').toLowerCase();
    if (type !== 'rotate' && type !== 'notify') throw badParameter(`Lifetime action type "${String(entry.action?.type)}" must be Rotate or Notify`);
    if (seen.has(type)) throw badParameter(`Only one ${type} lifetime action is allowed`);
    seen.add(type);
    const { timeAfterCreate, timeBeforeExpiry } = (entry.trigger ?? {}) as { timeAfterCreate?: unknown; timeBeforeExpiry?: unknown };
    if ((timeAfterCreate == null) === (timeBeforeExpiry == null))
      throw badParameter('Each lifetime action trigger needs exactly one of timeAfterCreate or timeBeforeExpiry');
    const value = String(timeAfterCreate ?? timeBeforeExpiry);
    const days = isoDurationDays(value);
    if (days === undefined) throw badParameter(`Trigger "${value}" is not an ISO 8601 duration such as P90D or P1Y`);
    if (days < 7) throw badParameter(`Trigger ${value} is too short: lifetime action triggers must be at least 7 days (P7D)`);
    if (type === 'notify' && timeBeforeExpiry == null) throw badParameter('A Notify action must use timeBeforeExpiry');
    // The default policy's Notify (P30D before expiry) is inert without an expiry; a Rotate is not.
    if (type === 'rotate' && timeBeforeExpiry != null && expiryDays === undefined)
      throw badParameter('A Rotate action with timeBeforeExpiry requires attributes.expiryTime to be set');
    if (timeAfterCreate != null && expiryDays !== undefined && days > expiryDays - 7) {
      throw badParameter(`timeAfterCreate ${value} must be at least 7 days before the expiry time ${String(expiryTime)}`);
    }
    const trigger = timeAfterCreate != null ? { timeAfterCreate: value } : { timeBeforeExpiry: value };
    return { trigger, action: { type: type === 'rotate' ? ('Rotate' as const) : ('Notify' as const) } };
  });
  return { lifetimeActions, ...(expiryTime ? { expiryTime } : {}) };
}
