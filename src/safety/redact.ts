import type { Config } from '../config.js';
import type { Redactor } from './types.js';

const MASK = '[REDACTED]';
/** Registered values at least this long are masked wherever they appear, even inside a word. */
const ANYWHERE_LENGTH = 6;

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
  /^(password|passwd|secret|client_?secret|api_?key|token|access_?token|refresh_?token|id_?token|session_?token|private_?key|secret_?access_?key|authorization|http_?token|confirm_?secret|sslpassword)$/i;
/** Words after which a short value is a secret: `password: abc`, `token 'abc'`. */
const SECRET_LABEL = String.raw`(?:password|passwd|pwd|secret|token|api[_ -]?key)\s*[:=]?\s*["'\x60]?`;
/** A short value that could also be an ordinary word or number. */
const WORD_LIKE = /^(?:[A-Za-z]+|\d+)$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A value and the forms it takes inside URLs. */
function variantsOf(value: string): string[] {
  const variants = new Set([value]);
  for (const transform of [encodeURIComponent, decodeURIComponent]) {
    try {
      variants.add(transform(value));
    } catch {
      // not encodable / not percent-encoded
    }
  }
  return [...variants].filter(Boolean);
}

/**
 * How one registered value is masked in text. Long values: wherever they appear. Short values
 * would mangle ordinary text if masked inside words, so they are masked as a whole token; a short
 * value that is also a plain word or number ("east", "1234") only where a secret stands: after a
 * secret label (`password: east`), in quotes (`'east'`) and as a whole value. URLs' userinfo and
 * key=value pairs are masked by pattern whatever their length.
 */
function textMasker(value: string): (text: string) => string {
  if (value.length >= ANYWHERE_LENGTH) return (text) => text.split(value).join(MASK);
  const escaped = escapeRegExp(value);
  const pattern = WORD_LIKE.test(value)
    ? new RegExp(String.raw`(${SECRET_LABEL})${escaped}(?![A-Za-z0-9])|(["'\x60])${escaped}(?=["'\x60])`, 'gi')
    : new RegExp(String.raw`(?<![A-Za-z0-9])()${escaped}(?![A-Za-z0-9])`, 'g');
  return (text) => (text === value ? MASK : text.replace(pattern, (_match, label?: string, quote?: string) => `${label ?? quote ?? ''}${MASK}`));
}

/**
 * Masks secrets in text and structured values: every registered secret value (see textMasker),
 * plus by pattern passwords in URLs, key=value and JSON secrets, bearer tokens, CockroachDB API
 * keys, AWS secret keys and PEM private keys, and string values under secret-named keys.
 * Confirmation tokens stay visible: they are single-use, bound to one plan, and the user must see
 * them. `withSecrets` derives a redactor for one call: the call's secrets are masked in its output
 * only and forgotten with it.
 */
export function createRedactor(): Redactor {
  return redactorFor(new Map());
}

function redactorFor(maskers: Map<string, (text: string) => string>): Redactor {
  let ordered: Array<(text: string) => string> = [];
  const reorder = () => {
    ordered = [...maskers.entries()].sort(([a], [b]) => b.length - a.length).map(([, mask]) => mask);
  };
  reorder();
  const redactText = (text: string): string => {
    let out = text;
    for (const mask of ordered) out = mask(out);
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
  const add = (target: Map<string, (text: string) => string>, value: string | undefined) => {
    if (!value) return;
    for (const variant of variantsOf(value)) if (!target.has(variant)) target.set(variant, textMasker(variant));
  };
  return {
    addSecret(value) {
      add(maskers, value);
      reorder();
    },
    withSecrets(values) {
      const own = new Map(maskers);
      for (const value of values) add(own, value);
      return redactorFor(own);
    },
    get secretCount() {
      return maskers.size;
    },
    redactText,
    redact: <T>(value: T) => redactValue(value, 0) as T,
  };
}

/** The password (and sslpassword) a postgres:// URL carries. */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const parsed = new URL(url);
    return [parsed.password, parsed.searchParams.get('password'), parsed.searchParams.get('sslpassword')].filter((value): value is string => Boolean(value));
  } catch {
    // Not a URL: the URL_PASSWORD pattern still masks user:password@ forms.
    return [];
  }
}

/**
 * The secrets a tool call's own arguments carry: passwords of URLs anywhere in them, and values
 * under secret-named keys. They are masked in that call's output only.
 */
export function secretsInArguments(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return value.includes('://') ? urlSecrets(value) : [];
  if (depth > 16 || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((item) => secretsInArguments(item, depth + 1));
  return Object.entries(value).flatMap(([key, item]) => (SECRET_KEY.test(key) && typeof item === 'string' ? [item] : secretsInArguments(item, depth + 1)));
}

/** Registers every secret the configuration holds: API key, confirm secret, HTTP token, SQL passwords. */
export function registerConfigSecrets(redactor: Redactor, config: Config): void {
  redactor.addSecret(config.cloud.apiKey);
  redactor.addSecret(config.confirmSecret);
  redactor.addSecret(config.httpToken);
  redactor.addSecret(config.auditKey);
  for (const url of [config.auditDb, config.sql.databaseUrl, ...Object.values(config.sql.targets)])
    for (const secret of urlSecrets(url)) redactor.addSecret(secret);
}
