import type { Config } from '../config.js';
import type { Redactor } from './types.js';

const MASK = '[REDACTED]';
/** Registered values shorter than this are masked by pattern only (a short value would mangle ordinary words). */
const MIN_SECRET_LENGTH = 6;

/** Passwords inside connection URLs: scheme://user:password@host. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+:)([^@\s/]+)@/gi;
/** Query-string and key=value secrets (not `confirmation_token`, which is shown to the user on purpose). */
const QUERY_SECRET =
  /\b((?:ssl)?password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|session_token|api[_-]?key|x-amz-security-token|x-amz-signature|sig)=([^&\s"']+)/gi;
/** Secrets inside JSON text, e.g. an upstream error body quoted in a message. */
const JSON_SECRET =
  /("(?:password|secret|client_?secret|api_?key|apiKey|private_?key|access_?token|refresh_?token|secret_?access_?key|SecretAccessKey|session_?token|SessionToken)"\s*:\s*")((?:[^"\\]|\\.)*)"/g;
/** Authorization headers. */
const BEARER = /\b((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}/g;
/** CockroachDB Cloud API keys. */
const CC_API_KEY = /\bCCDB1_[A-Za-z0-9_]{8,}/g;
/** AWS secret access keys are 40 base64-ish characters after a known label. */
const AWS_SECRET = /\b(aws_secret_access_key|secretAccessKey|SecretAccessKey)(["'\s:=]+)[A-Za-z0-9/+=]{30,}/g;
/** PEM private keys (service account JSON, client certificates). */
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
/** Object keys whose string values are always secrets. */
const SECRET_KEY =
  /^(password|passwd|secret|client_?secret|api_?key|token|access_?token|refresh_?token|id_?token|session_?token|private_?key|secret_?access_?key|authorization|http_?token|confirm_?secret)$/i;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Masks secrets in text and structured values: every registered secret value wherever it appears
 * (longest first), plus by pattern passwords in URLs, key=value and JSON secrets, bearer tokens,
 * CockroachDB API keys, AWS secret keys and PEM private keys, and string values under secret-named
 * keys. Confirmation tokens stay visible: they are single-use, bound to one plan, and the user
 * must see them.
 */
export function createRedactor(): Redactor {
  let secrets: string[] = [];
  const redactText = (text: string): string => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join(MASK);
    return out
      .replace(PEM_PRIVATE_KEY, MASK)
      .replace(URL_PASSWORD, `$1${MASK}@`)
      .replace(QUERY_SECRET, `$1=${MASK}`)
      .replace(JSON_SECRET, `$1${MASK}"`)
      .replace(BEARER, `$1${MASK}`)
      .replace(CC_API_KEY, MASK)
      .replace(AWS_SECRET, `$1$2${MASK}`);
  };
  const redactValue = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return redactText(value);
    if (depth > 32) return value;
    if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
    if (!isPlainObject(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, SECRET_KEY.test(key) && typeof item === 'string' ? MASK : redactValue(item, depth + 1)]),
    );
  };
  return {
    addSecret(value) {
      if (!value || value.length < MIN_SECRET_LENGTH) return;
      const variants = new Set([value]);
      for (const transform of [encodeURIComponent, decodeURIComponent]) {
        try {
          variants.add(transform(value));
        } catch {
          // not encodable / not percent-encoded
        }
      }
      secrets = [...new Set([...secrets, ...[...variants].filter((v) => v.length >= MIN_SECRET_LENGTH)])].sort((a, b) => b.length - a.length);
    },
    redactText,
    redact: <T>(value: T) => redactValue(value, 0) as T,
  };
}

/** Registers the password (and sslpassword) carried by a postgres:// URL. */
export function addUrlSecrets(redactor: Redactor, url: string | undefined): void {
  if (!url) return;
  try {
    const parsed = new URL(url);
    redactor.addSecret(parsed.password);
    for (const key of ['password', 'sslpassword']) redactor.addSecret(parsed.searchParams.get(key) ?? undefined);
  } catch {
    // Not a URL: the URL_PASSWORD pattern still masks user:password@ forms.
  }
}

/** Registers every secret the configuration holds: API key, confirm secret, HTTP token, SQL passwords. */
export function registerConfigSecrets(redactor: Redactor, config: Config): void {
  redactor.addSecret(config.cloud.apiKey);
  redactor.addSecret(config.confirmSecret);
  redactor.addSecret(config.httpToken);
  redactor.addSecret(config.auditKey);
  for (const url of [config.auditDb, config.sql.databaseUrl, ...Object.values(config.sql.targets)]) addUrlSecrets(redactor, url);
}
