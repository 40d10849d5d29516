/**
 * One emulated Key Vault: keys with versions, rotation policies and soft delete, answering in the
 * Key Vault REST shapes (KeyBundle, KeyItem, DeletedKeyBundle, KeyRotationPolicy; times in Unix
 * seconds). Protection shows the way real Key Vault shows it on the data plane: every key's
 * attributes carry `recoveryLevel` and `recoverableDays` derived from the vault's soft-delete
 * retention and purge protection. No key material exists: `n`/`x`/`y` are random bytes and no
 * cryptographic operation is emulated.
 */
import { randomBytes } from 'node:crypto';
import { isoDurationDays } from '../kms/providers/azure/iso-duration.js';
import {
  badParameter,
  CURVES,
  DAY_SECONDS,
  notFound,
  optionalSeconds,
  parseKeyOps,
  parseRotationPolicy,
  parseTags,
  RSA_SIZES,
  VaultError,
  type Json,
  type LifetimeAction,
} from './azure-vault-rules.js';

export type KeyType = 'RSA' | 'RSA-HSM' | 'EC' | 'EC-HSM';

/** A key to seed, with fixed version ids so documentation and tests can name them. */
export interface KeySeed {
  name: string;
  kty: KeyType;
  keySize?: number;
  curve?: string;
  keyOps?: string[];
  versions: Array<{ version: string; created: string; enabled?: boolean }>;
}

/** A vault to seed. */
export interface VaultSeed {
  name: string;
  location: string;
  tenantId: string;
  /** 7-90 days. */
  softDeleteRetentionDays: number;
  purgeProtection: boolean;
  keys?: KeySeed[];
}

interface KeyVersion {
  version: string;
  kty: KeyType;
  keySize?: number;
  crv?: string;
  keyOps: string[];
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  material: Record<string, string>;
}

interface RotationPolicy {
  lifetimeActions: LifetimeAction[];
  expiryTime?: string;
  created: number;
  updated: number;
}

interface StoredKey {
  name: string;
  versions: KeyVersion[];
  tags?: Record<string, string>;
  policy?: RotationPolicy;
}

interface DeletedKey {
  key: StoredKey;
  deletedDate: number;
  scheduledPurgeDate: number;
}

function keyMaterial(kty: KeyType, keySize: number | undefined, crv: string | undefined): Record<string, string> {
  if (kty === 'RSA' || kty === 'RSA-HSM') {
    const modulus = randomBytes((keySize ?? 2048) / 8);
    modulus[0]! |= 0x80;
    return { n: modulus.toString('base64url'), e: 'AQAB' };
  }
  const size = CURVES[crv ?? 'P-256'] ?? 32;
  return { crv: crv ?? 'P-256', x: randomBytes(size).toString('base64url'), y: randomBytes(size).toString('base64url') };
}

/** One vault's keys and settings. */
export class Vault {
  readonly name: string;
  readonly host: string;
  readonly location: string;
  readonly tenantId: string;
  readonly softDeleteRetentionDays: number;
  readonly purgeProtection: boolean;
  private readonly keys = new Map<string, StoredKey>();
  private readonly deleted = new Map<string, DeletedKey>();

  constructor(
    seed: VaultSeed,
    private readonly now: () => number,
  ) {
    if (seed.softDeleteRetentionDays < 7 || seed.softDeleteRetentionDays > 90) throw new Error('soft delete retention must be 7-90 days');
    this.name = seed.name;
    this.host = `${seed.name}.vault.azure.net`.toLowerCase();
    this.location = seed.location;
    this.tenantId = seed.tenantId;
    this.softDeleteRetentionDays = seed.softDeleteRetentionDays;
    this.purgeProtection = seed.purgeProtection;
    for (const key of seed.keys ?? []) {
      const stored: StoredKey = { name: key.name, versions: [] };
      for (const version of key.versions) {
        const created = Math.floor(Date.parse(version.created) / 1000);
        stored.versions.push({
          version: version.version,
          kty: key.kty,
          ...(key.keySize ? { keySize: key.keySize } : {}),
          ...(key.curve ? { crv: key.curve } : {}),
          keyOps: key.keyOps ?? ['wrapKey', 'unwrapKey', 'encrypt', 'decrypt'],
          enabled: version.enabled ?? true,
          created,
          updated: created,
          material: keyMaterial(key.kty, key.keySize, key.curve),
        });
      }
      this.keys.set(key.name, stored);
    }
  }

  /** The deletion recovery level real Key Vault reports for this vault's settings. */
  get recoveryLevel(): string {
    const base = this.softDeleteRetentionDays < 90 ? 'CustomizedRecoverable' : 'Recoverable';
    return this.purgeProtection ? base : `${base}+Purgeable`;
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Purges soft-deleted keys whose retention has run out, as the service does. */
  private sweep(): void {
    const now = this.seconds();
    for (const [name, entry] of this.deleted) if (entry.scheduledPurgeDate <= now) this.deleted.delete(name);
  }

  private live(name: string): StoredKey {
    this.sweep();
    const key = this.keys.get(name);
    if (!key) throw notFound(name);
    return key;
  }

  private versionOf(key: StoredKey, version: string | undefined): KeyVersion {
    if (!version) return key.versions[key.versions.length - 1]!;
    const found = key.versions.find((v) => v.version === version);
    if (!found) throw notFound(`${key.name}/${version}`);
    return found;
  }

  private kid(name: string, version?: string): string {
    return `https://${this.host}/keys/${name}${version ? `/${version}` : ''}`;
  }

  private attributes(version: KeyVersion): Json {
    return {
      enabled: version.enabled,
      ...(version.nbf !== undefined ? { nbf: version.nbf } : {}),
      ...(version.exp !== undefined ? { exp: version.exp } : {}),
      created: version.created,
      updated: version.updated,
      recoveryLevel: this.recoveryLevel,
      recoverableDays: this.softDeleteRetentionDays,
      exportable: false,
    };
  }

  private bundle(key: StoredKey, version: KeyVersion): Json {
    return {
      key: { kid: this.kid(key.name, version.version), kty: version.kty, key_ops: version.keyOps, ...version.material },
      attributes: this.attributes(version),
      ...(key.tags ? { tags: key.tags } : {}),
    };
  }

  private deletedBundle(entry: DeletedKey): Json {
    const latest = entry.key.versions[entry.key.versions.length - 1]!;
    return { ...this.bundle(entry.key, latest), ...this.deletedFields(entry) };
  }

  private deletedFields(entry: DeletedKey): Json {
    return { recoveryId: `https://${this.host}/deletedkeys/${entry.key.name}`, deletedDate: entry.deletedDate, scheduledPurgeDate: entry.scheduledPurgeDate };
  }

  private newVersion(body: Json, inherit?: KeyVersion): KeyVersion {
    const kty = (inherit?.kty ?? body.kty) as KeyType;
    if (!['RSA', 'RSA-HSM', 'EC', 'EC-HSM'].includes(kty)) {
      throw badParameter(`The key type "${String(body.kty)}" is not supported; use RSA, RSA-HSM, EC or EC-HSM`);
    }
    const rsa = kty === 'RSA' || kty === 'RSA-HSM';
    const keySize = inherit ? inherit.keySize : rsa ? ((body.key_size as number | undefined) ?? 2048) : undefined;
    if (rsa && !RSA_SIZES.includes(keySize ?? 0)) throw badParameter(`RSA key size ${String(body.key_size)} is not supported; use 2048, 3072 or 4096`);
    const crv = inherit ? inherit.crv : rsa ? undefined : ((body.crv as string | undefined) ?? 'P-256');
    if (!rsa && !(crv! in CURVES)) throw badParameter(`Curve ${String(body.crv)} is not supported; use P-256, P-384, P-521 or P-256K`);
    const attributes = (body.attributes ?? {}) as Json;
    if (typeof attributes !== 'object' || attributes === null) throw badParameter('attributes must be an object');
    if (attributes.enabled !== undefined && typeof attributes.enabled !== 'boolean') throw badParameter('attributes.enabled must be a boolean');
    const now = this.seconds();
    const nbf = optionalSeconds(attributes.nbf, 'nbf');
    const exp = optionalSeconds(attributes.exp, 'exp');
    const defaultOps = rsa ? ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'] : ['sign', 'verify'];
    return {
      version: randomBytes(16).toString('hex'),
      kty,
      ...(keySize ? { keySize } : {}),
      ...(crv ? { crv } : {}),
      keyOps: inherit?.keyOps ?? parseKeyOps(body.key_ops) ?? defaultOps,
      enabled: (attributes.enabled as boolean | undefined) ?? true,
      ...(nbf !== undefined ? { nbf } : {}),
      ...(exp !== undefined ? { exp } : {}),
      created: now,
      updated: now,
      material: keyMaterial(kty, keySize, crv),
    };
  }

  /** POST /keys/{name}/create: a new key, or a new version of an existing one. */
  createKey(name: string, body: Json): Json {
    this.sweep();
    if (this.deleted.has(name)) {
      throw new VaultError(
        409,
        'Conflict',
        `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
      );
    }
    const version = this.newVersion(body);
    const tags = parseTags(body.tags);
    const key = this.keys.get(name) ?? { name, versions: [] };
    key.versions.push(version);
    if (tags) key.tags = tags;
    this.keys.set(name, key);
    return this.bundle(key, version);
  }

  /** GET /keys/{name}[/{version}]. */
  getKey(name: string, version?: string): Json {
    const key = this.live(name);
    return this.bundle(key, this.versionOf(key, version));
  }

  /** GET /keys: the latest version of each key, unversioned ids. */
  listKeys(): Json[] {
    this.sweep();
    return [...this.keys.values()].map((key) => {
      const latest = key.versions[key.versions.length - 1]!;
      return { kid: this.kid(key.name), attributes: this.attributes(latest), ...(key.tags ? { tags: key.tags } : {}) };
    });
  }

  /** GET /keys/{name}/versions. */
  listVersions(name: string): Json[] {
    const key = this.live(name);
    return key.versions.map((version) => ({
      kid: this.kid(name, version.version),
      attributes: this.attributes(version),
      ...(key.tags ? { tags: key.tags } : {}),
    }));
  }

  /** PATCH /keys/{name}/{version}: enable/disable, nbf/exp, key_ops, tags. */
  updateKey(name: string, version: string | undefined, body: Json): Json {
    const key = this.live(name);
    const target = this.versionOf(key, version);
    const attributes = (body.attributes ?? {}) as Json;
    if (attributes.enabled !== undefined && typeof attributes.enabled !== 'boolean') throw badParameter('attributes.enabled must be a boolean');
    const nbf = optionalSeconds(attributes.nbf, 'nbf');
    const exp = optionalSeconds(attributes.exp, 'exp');
    const keyOps = parseKeyOps(body.key_ops);
    const tags = parseTags(body.tags);
    if (typeof attributes.enabled === 'boolean') target.enabled = attributes.enabled;
    if (nbf !== undefined) target.nbf = nbf;
    if (exp !== undefined) target.exp = exp;
    if (keyOps) target.keyOps = keyOps;
    if (tags) key.tags = tags;
    target.updated = this.seconds();
    return this.bundle(key, target);
  }

  /** POST /keys/{name}/rotate: a new version like the latest; expiry from the rotation policy. */
  rotateKey(name: string): Json {
    const key = this.live(name);
    const version = this.newVersion({}, key.versions[key.versions.length - 1]);
    const expiryDays = key.policy?.expiryTime ? isoDurationDays(key.policy.expiryTime) : undefined;
    if (expiryDays !== undefined) version.exp = version.created + expiryDays * DAY_SECONDS;
    key.versions.push(version);
    return this.bundle(key, version);
  }

  private policyJson(key: StoredKey): Json {
    const id = `${this.kid(key.name)}/rotationpolicy`;
    if (!key.policy) return { id, lifetimeActions: [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Notify' } }], attributes: {} };
    const { lifetimeActions, expiryTime, created, updated } = key.policy;
    return { id, lifetimeActions, attributes: { ...(expiryTime ? { expiryTime } : {}), created, updated } };
  }

  /** GET /keys/{name}/rotationpolicy (the default Notify policy when none was set). */
  getRotationPolicy(name: string): Json {
    return this.policyJson(this.live(name));
  }

  /** PUT /keys/{name}/rotationpolicy, validated as Key Vault does. */
  setRotationPolicy(name: string, body: Json): Json {
    const key = this.live(name);
    const { lifetimeActions, expiryTime } = parseRotationPolicy(body);
    const now = this.seconds();
    key.policy = { lifetimeActions, ...(expiryTime ? { expiryTime } : {}), created: key.policy?.created ?? now, updated: now };
    return this.policyJson(key);
  }

  /** DELETE /keys/{name}: soft delete of every version. */
  deleteKey(name: string): Json {
    const key = this.live(name);
    const deletedDate = this.seconds();
    const entry = { key, deletedDate, scheduledPurgeDate: deletedDate + this.softDeleteRetentionDays * DAY_SECONDS };
    this.keys.delete(name);
    this.deleted.set(name, entry);
    return this.deletedBundle(entry);
  }

  private deletedEntry(name: string): DeletedKey {
    this.sweep();
    const entry = this.deleted.get(name);
    if (!entry) throw new VaultError(404, 'KeyNotFound', `Deleted Key not found: ${name}`);
    return entry;
  }

  /** GET /deletedkeys/{name}. */
  getDeletedKey(name: string): Json {
    return this.deletedBundle(this.deletedEntry(name));
  }

  /** GET /deletedkeys. */
  listDeletedKeys(): Json[] {
    this.sweep();
    return [...this.deleted.values()].map((entry) => ({
      kid: this.kid(entry.key.name),
      attributes: this.attributes(entry.key.versions[entry.key.versions.length - 1]!),
      ...this.deletedFields(entry),
    }));
  }

  /** POST /deletedkeys/{name}/recover. */
  recoverDeletedKey(name: string): Json {
    const entry = this.deletedEntry(name);
    this.deleted.delete(name);
    this.keys.set(name, entry.key);
    return this.bundle(entry.key, entry.key.versions[entry.key.versions.length - 1]!);
  }

  /** DELETE /deletedkeys/{name}: refused under purge protection. */
  purgeDeletedKey(name: string): void {
    this.deletedEntry(name);
    if (this.purgeProtection) {
      throw new VaultError(
        403,
        'Forbidden',
        'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.',
        'PurgeProtectionEnabled',
      );
    }
    this.deleted.delete(name);
  }

  /** A key version as CockroachDB would use it, or why it cannot (for checkCmekAccess). */
  cmekProblem(name: string, version: string): string | undefined {
    this.sweep();
    if (this.deleted.has(name)) return `key ${name} in vault ${this.name} is deleted (soft-deleted, recoverable until its scheduled purge date)`;
    const key = this.keys.get(name);
    if (!key) return `key ${name} was not found in vault ${this.name} (KeyNotFound)`;
    const found = key.versions.find((v) => v.version === version);
    if (!found) return `version ${version} of key ${name} was not found in vault ${this.name} (KeyNotFound)`;
    if (found.kty !== 'RSA' && found.kty !== 'RSA-HSM') return `key ${name} is of type ${found.kty}; CMEK needs an RSA or RSA-HSM key`;
    if (!found.enabled) return `key ${name} version ${version} is disabled (Forbidden: operation wrapKey is not allowed on a disabled key)`;
    const now = this.seconds();
    if (found.exp !== undefined && found.exp <= now) return `key ${name} version ${version} expired on ${new Date(found.exp * 1000).toISOString()}`;
    if (found.nbf !== undefined && found.nbf > now) return `key ${name} version ${version} is not valid before ${new Date(found.nbf * 1000).toISOString()}`;
    const ops = new Set(found.keyOps);
    if (!(ops.has('wrapKey') && ops.has('unwrapKey')) && !(ops.has('encrypt') && ops.has('decrypt'))) {
      return `key ${name} does not permit wrapKey/unwrapKey (key_ops: ${found.keyOps.join(', ') || 'none'})`;
    }
    return undefined;
  }
}
