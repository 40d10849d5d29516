/**
 * What every provider's key URI parser shares: the error naming the malformed part, and the
 * checks made before any provider-specific parsing. The parsers live in each provider's home
 * (src/kms/providers/<name>/key-uri.ts); the provider table dispatches to them.
 */
import { OperatorError } from '../errors.js';

/** The part of a key URI that is wrong. */
export type KeyUriPart =
  | 'uri'
  | 'type'
  | 'prefix'
  | 'partition'
  | 'service'
  | 'region'
  | 'account'
  | 'resource'
  | 'keyId'
  | 'alias'
  | 'project'
  | 'location'
  | 'keyRing'
  | 'cryptoKey'
  | 'version'
  | 'scheme'
  | 'host'
  | 'vaultName'
  | 'keyName'
  | 'path';

/** A malformed key URI; `field` names the part that is wrong. */
export class KeyUriError extends OperatorError {
  constructor(
    readonly field: KeyUriPart,
    readonly uri: string,
    why: string,
    next: string,
  ) {
    super(`Invalid key URI: bad ${field}`, why, next, { field });
    this.name = 'KeyUriError';
  }
}

/** Longest URI accepted (AWS alias ARNs top out near 330 characters, Azure ids near 250). */
export const MAX_KEY_URI_LENGTH = 512;

/** Refuses an empty, overlong or whitespace-bearing URI before any provider-specific parsing. */
export function checkUriText(uri: string, example: string): void {
  if (typeof uri !== 'string' || uri.length === 0) {
    throw new KeyUriError('uri', String(uri), 'The key URI is empty.', `pass the full key URI, e.g. ${example}.`);
  }
  if (uri.length > MAX_KEY_URI_LENGTH) {
    throw new KeyUriError(
      'uri',
      uri.slice(0, 64),
      `The key URI is ${uri.length} characters long (limit ${MAX_KEY_URI_LENGTH}).`,
      `pass the key URI itself, e.g. ${example}.`,
    );
  }
  if (/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(uri)) {
    throw new KeyUriError(
      'uri',
      uri,
      'The key URI contains whitespace or control characters.',
      'remove spaces, quotes and line breaks copied along with the URI.',
    );
  }
}
