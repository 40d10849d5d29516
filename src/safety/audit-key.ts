/**
 * The audit HMAC key: kept outside the log, so that whoever can write the log cannot re-seal it.
 * From CRDB_AUDIT_KEY (replicas share it through a secret store), else the key file
 * (--audit-key-file, default `<state dir>/audit.key`), which the first append creates with mode
 * 0600 (32 random bytes, hex). The key's id (a MAC of a fixed text, not the key) is written into
 * each log's header so that a wrong or replaced key is named as such.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AuditLogError } from './audit-log-error.js';
import { canonicalJson } from './canonical.js';

/** What a MAC seals; each purpose gets its own domain, so one can never pass for another. */
export type MacPurpose = 'header' | 'entry' | 'head' | 'checkpoint';

/** A loaded key. The key bytes stay in a closure: nothing serialises them. */
export interface AuditKey {
  /** 16 hex characters that name the key without revealing it. */
  readonly id: string;
  /** HMAC-SHA-256 (hex) of `value`'s canonical JSON under `purpose`. */
  mac(purpose: MacPurpose, value: unknown): string;
}

/** Where the key comes from, and where this machine keeps its checkpoints of each log. */
export interface AuditKeySource {
  /** For messages: `CRDB_AUDIT_KEY` or the key file's path (never the key). */
  readonly description: string;
  /** Directory of the per-log checkpoints (the key file's directory). */
  readonly checkpointDir: string;
  /**
   * The key; undefined when the key file does not exist and `create` is false. With `create`, a
   * missing key file is created (0600); several processes racing to create it end with one key.
   */
  load(create: boolean): Promise<AuditKey | undefined>;
}

const MIN_KEY_BYTES = 32;

/** Wraps key bytes; exported for tests that need a second, different key. */
export function auditKeyFromBytes(bytes: Buffer): AuditKey {
  const key = Buffer.from(bytes);
  const mac = (purpose: string, value: unknown) =>
    createHmac('sha256', key).update(`crdb-encryption-mcp audit ${purpose}\n`).update(canonicalJson(value)).digest('hex');
  return { id: mac('key-id', null).slice(0, 16), mac };
}

/** Decodes a key written as hex (64+ digits) or base64/base64url (32+ bytes); undefined otherwise. */
export function parseAuditKey(text: string): Buffer | undefined {
  const value = text.trim();
  if (/^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0) return value.length >= 2 * MIN_KEY_BYTES ? Buffer.from(value, 'hex') : undefined;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length >= MIN_KEY_BYTES ? bytes : undefined;
}

const BAD_KEY_NEXT = `give at least ${MIN_KEY_BYTES} random bytes as hex or base64, e.g. the output of \`openssl rand -hex 32\`; if this key sealed existing logs, restore the original from your backup instead.`;

/** The key source for a configuration: CRDB_AUDIT_KEY when set, else the key file. */
export function auditKeySource(config: { auditKey?: string | undefined; auditKeyFile: string }): AuditKeySource {
  const file = resolve(config.auditKeyFile);
  const checkpointDir = resolve(dirname(file), 'audit-checkpoints');
  if (config.auditKey !== undefined) {
    const bytes = parseAuditKey(config.auditKey);
    return {
      description: 'CRDB_AUDIT_KEY',
      checkpointDir,
      async load() {
        if (!bytes) throw new AuditLogError('CRDB_AUDIT_KEY is not a usable audit key', BAD_KEY_NEXT);
        return auditKeyFromBytes(bytes);
      },
    };
  }
  let loaded: Promise<AuditKey> | undefined;
  return {
    description: file,
    checkpointDir,
    async load(create) {
      if (loaded) return loaded;
      const text = await readKeyFile(file);
      if (text === undefined && !create) return undefined;
      loaded = (text === undefined ? createKeyFile(file) : Promise.resolve(text)).then((content) => {
        const bytes = parseAuditKey(content);
        if (!bytes) throw new AuditLogError(`the audit key file ${file} does not hold a usable key`, BAD_KEY_NEXT);
        return auditKeyFromBytes(bytes);
      });
      loaded.catch(() => {
        loaded = undefined;
      });
      return loaded;
    },
  };
}

async function readKeyFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new AuditLogError(
      `cannot read the audit key file ${file}: ${code ?? String(error)}`,
      'let this server read its key file (it must stay mode 0600), or set CRDB_AUDIT_KEY.',
    );
  }
}

/** Writes a new key to a private temporary file, then links it into place (fails if another process won). */
async function createKeyFile(file: string): Promise<string> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${randomBytes(MIN_KEY_BYTES).toString('hex')}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  return readFile(file, 'utf8');
}
