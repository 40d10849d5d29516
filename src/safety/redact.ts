import type { Redactor } from './types.js';

const MASK = '[REDACTED]';
/** Passwords inside connection URLs: scheme://user:password@host. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+:)([^@\s/]+)@/gi;
/** Query-string secrets: password=, sslpassword=, secret=, token=, key= (api keys). */
const QUERY_SECRET = /\b((?:ssl)?password|secret|token|api[_-]?key|client[_-]?secret)=([^&\s"']+)/gi;
/** CockroachDB Cloud API keys and bearer tokens. */
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g;
const CC_API_KEY = /\bCCDB1_[A-Za-z0-9_]{8,}/g;
/** AWS secret access keys are 40 base64-ish characters after a known label. */
const AWS_SECRET = /\b(aws_secret_access_key|secretAccessKey|SecretAccessKey)(["'\s:=]+)[A-Za-z0-9/+=]{30,}/g;

/**
 * Masks secrets in text and structured values: registered secret values wherever they appear,
 * plus passwords in URLs, bearer tokens, CockroachDB API keys and AWS secret keys by pattern.
 */
export function createRedactor(): Redactor {
  const secrets = new Set<string>();
  const redactText = (text: string): string => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join(MASK);
    return out
      .replace(URL_PASSWORD, `$1${MASK}@`)
      .replace(QUERY_SECRET, `$1=${MASK}`)
      .replace(BEARER, `$1${MASK}`)
      .replace(CC_API_KEY, MASK)
      .replace(AWS_SECRET, `$1$2${MASK}`);
  };
  const redactValue = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return redactText(value);
    if (depth > 32 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = /^(password|secret|api_?key|token|confirmation_token|client_secret|private_?key)$/i.test(key) && typeof item === 'string' && key !== 'confirmation_token'
        ? MASK
        : redactValue(item, depth + 1);
    }
    return out;
  };
  return {
    addSecret(value) {
      if (value && value.length >= 6) secrets.add(value);
    },
    redactText,
    redact: <T>(value: T) => redactValue(value, 0) as T,
  };
}
