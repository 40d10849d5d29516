/**
 * The state behind the GCP Cloud KMS emulator: key rings, crypto keys, versions and IAM policies
 * of one project, with Cloud KMS's validation rules and state machine. Requests and results are
 * the camelCase objects @grpc/proto-loader produces; failures throw `GrpcFailure` with the status
 * code and the kind of message Cloud KMS gives.
 */
import { randomBytes } from 'node:crypto';
import { Code, GrpcFailure, duration, millis, seconds, snake, timestamp, type Wire } from './gcp-kms-wire.js';

const DAY_SECONDS = 86_400;
const MIN_ROTATION_SECONDS = DAY_SECONDS;
const MAX_ROTATION_SECONDS = 876_000 * 3600;
const DEFAULT_DESTROY_SECONDS = 30 * DAY_SECONDS;
const MAX_DESTROY_SECONDS = 120 * DAY_SECONDS;
const ID = /^[a-zA-Z0-9_-]{1,63}$/;
const LOCATION = /^[a-z][a-z0-9-]{0,62}$/;
const MEMBER =
  /^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet|deleted:serviceAccount|deleted:user|deleted:group):.+)$/;
const SYMMETRIC_ALGORITHMS = new Set(['GOOGLE_SYMMETRIC_ENCRYPTION', 'EXTERNAL_SYMMETRIC_ENCRYPTION']);

/** One IAM binding: a role granted to members, optionally under a condition. */
export interface Binding {
  role: string;
  members: string[];
  condition?: Wire;
}

/** The IAM policy of a key ring or key; `etag` changes on every write. */
export interface Policy {
  version: number;
  bindings: Binding[];
  etag: Buffer;
}

/** A CryptoKeyVersion; times in ms since the epoch. */
export interface VersionState {
  name: string;
  id: number;
  state: string;
  algorithm: string;
  protectionLevel: string;
  createTime: number;
  destroyTime?: number;
  destroyEventTime?: number;
}

/** A CryptoKey with its versions; `primaryId` names the primary version (ENCRYPT_DECRYPT only). */
export interface KeyState {
  name: string;
  purpose: string;
  createTime: number;
  rotationPeriodSeconds?: number;
  nextRotationTime?: number;
  algorithm: string;
  protectionLevel: string;
  labels: Record<string, string>;
  destroyScheduledSeconds: number;
  primaryId?: number;
  versions: VersionState[];
}

const invalid = (message: string) => new GrpcFailure(Code.INVALID_ARGUMENT, message);
const notFound = (kind: string, name: string) => new GrpcFailure(Code.NOT_FOUND, `${kind} ${name} not found.`);

/** One project's Cloud KMS resources. */
export class GcpKmsStore {
  private readonly keyRings = new Map<string, number>();
  private readonly keys = new Map<string, KeyState>();
  private readonly policies = new Map<string, Policy>();

  constructor(
    readonly project: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  // ---- names -------------------------------------------------------------------------------

  private checkProject(name: string, permission: string): void {
    const project = name.split('/')[1];
    if (project !== this.project) {
      throw new GrpcFailure(Code.PERMISSION_DENIED, `Permission '${permission}' denied on resource '${name}' (or it may not exist).`);
    }
  }

  private parseLocation(parent: string, permission: string): string {
    const parts = parent.split('/');
    if (parts.length !== 4 || parts[0] !== 'projects' || parts[2] !== 'locations') {
      throw invalid(`Resource name [${parent}] does not match the pattern projects/{project}/locations/{location}.`);
    }
    this.checkProject(parent, permission);
    if (!LOCATION.test(parts[3]!)) throw invalid(`Location [${parts[3]}] is not a valid Cloud KMS location.`);
    return parent;
  }

  private parseName(name: string, depth: 6 | 8 | 10, permission: string): string {
    const parts = String(name ?? '').split('/');
    const literals = ['projects', 'locations', 'keyRings', 'cryptoKeys', 'cryptoKeyVersions'];
    const pattern = literals
      .slice(0, depth / 2)
      .map((l) => `${l}/{${l.slice(0, -1)}}`)
      .join('/');
    const ok = parts.length === depth && literals.slice(0, depth / 2).every((literal, i) => parts[2 * i] === literal && parts[2 * i + 1]);
    if (!ok) throw invalid(`Resource name [${name}] does not match the pattern ${pattern}.`);
    this.checkProject(name, permission);
    return name;
  }

  private keyRing(name: string, permission = 'cloudkms.keyRings.get'): string {
    this.parseName(name, 6, permission);
    if (!this.keyRings.has(name)) throw notFound('KeyRing', name);
    return name;
  }

  /** The crypto key named `name`, or NOT_FOUND. */
  key(name: string, permission = 'cloudkms.cryptoKeys.get'): KeyState {
    this.parseName(name, 8, permission);
    const key = this.keys.get(name);
    if (!key) throw notFound('CryptoKey', name);
    this.settle(key);
    return key;
  }

  private version(name: string, permission: string): { key: KeyState; version: VersionState } {
    this.parseName(name, 10, permission);
    const key = this.key(name.split('/').slice(0, 8).join('/'), permission);
    const version = key.versions.find((v) => v.name === name);
    if (!version) throw notFound('CryptoKeyVersion', name);
    return { key, version };
  }

  /** Moves DESTROY_SCHEDULED versions past their destroy time to DESTROYED. */
  private settle(key: KeyState): void {
    const now = this.now();
    for (const version of key.versions) {
      if (version.state === 'DESTROY_SCHEDULED' && version.destroyTime !== undefined && version.destroyTime <= now) {
        version.state = 'DESTROYED';
        version.destroyEventTime = version.destroyTime;
      }
    }
  }

  // ---- wire forms ---------------------------------------------------------------------------

  private versionWire(version: VersionState): Wire {
    return {
      name: version.name,
      state: version.state,
      protectionLevel: version.protectionLevel,
      algorithm: version.algorithm,
      createTime: timestamp(version.createTime),
      generateTime: timestamp(version.createTime),
      destroyTime: timestamp(version.destroyTime),
      destroyEventTime: timestamp(version.destroyEventTime),
    };
  }

  private keyWire(key: KeyState): Wire {
    const primary = key.versions.find((v) => v.id === key.primaryId);
    return {
      name: key.name,
      primary: primary ? this.versionWire(primary) : undefined,
      purpose: key.purpose,
      createTime: timestamp(key.createTime),
      nextRotationTime: timestamp(key.nextRotationTime),
      rotationPeriod: duration(key.rotationPeriodSeconds),
      versionTemplate: { algorithm: key.algorithm, protectionLevel: key.protectionLevel },
      labels: key.labels,
      destroyScheduledDuration: duration(key.destroyScheduledSeconds),
    };
  }

  private page<T>(items: T[], request: Wire, field: string): Wire {
    if (request.filter) throw invalid('The sandbox emulator does not support list filters; omit filter.');
    const size = Math.min(request.pageSize > 0 ? request.pageSize : 1000, 1000);
    const start = request.pageToken ? Number(Buffer.from(String(request.pageToken), 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0 || start > items.length) throw invalid(`Invalid page_token [${request.pageToken}].`);
    const end = start + size;
    return {
      [field]: items.slice(start, end),
      nextPageToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : '',
      totalSize: items.length,
    };
  }

  // ---- key rings ------------------------------------------------------------------------------

  getKeyRing(request: Wire): Wire {
    const name = this.keyRing(request.name);
    return { name, createTime: timestamp(this.keyRings.get(name)) };
  }

  createKeyRing(request: Wire): Wire {
    const parent = this.parseLocation(request.parent, 'cloudkms.keyRings.create');
    if (!ID.test(request.keyRingId ?? '')) throw invalid(`key_ring_id [${request.keyRingId ?? ''}] must match [a-zA-Z0-9_-]{1,63}.`);
    const name = `${parent}/keyRings/${request.keyRingId}`;
    if (this.keyRings.has(name)) throw new GrpcFailure(Code.ALREADY_EXISTS, `KeyRing ${name} already exists.`);
    this.keyRings.set(name, this.now());
    return this.getKeyRing({ name });
  }

  listKeyRings(request: Wire): Wire {
    const parent = this.parseLocation(request.parent, 'cloudkms.keyRings.list');
    const rings = [...this.keyRings.keys()].filter((name) => name.startsWith(`${parent}/keyRings/`)).sort();
    return this.page(
      rings.map((name) => this.getKeyRing({ name })),
      request,
      'keyRings',
    );
  }

  // ---- crypto keys ----------------------------------------------------------------------------

  private rotation(key: Wire, purpose: string): { period?: number; next?: number } {
    const period = seconds(key.rotationPeriod);
    const next = millis(key.nextRotationTime);
    if (period === undefined) return next === undefined ? {} : { next };
    if (purpose !== 'ENCRYPT_DECRYPT') throw invalid('Automatic rotation (rotation_period) is only supported for ENCRYPT_DECRYPT keys.');
    if (period < MIN_ROTATION_SECONDS || period > MAX_ROTATION_SECONDS) {
      throw invalid(`rotation_period must be between 24 hours and 876000 hours; got ${period}s.`);
    }
    if (next === undefined) throw invalid('next_rotation_time must be set when rotation_period is set.');
    return { period, next };
  }

  private addVersion(key: KeyState): VersionState {
    const id = key.versions.reduce((max, v) => Math.max(max, v.id), 0) + 1;
    const version: VersionState = {
      name: `${key.name}/cryptoKeyVersions/${id}`,
      id,
      state: 'ENABLED',
      algorithm: key.algorithm,
      protectionLevel: key.protectionLevel,
      createTime: this.now(),
    };
    key.versions.push(version);
    return version;
  }

  getCryptoKey(request: Wire): Wire {
    return this.keyWire(this.key(request.name));
  }

  createCryptoKey(request: Wire): Wire {
    const parent = this.keyRing(request.parent, 'cloudkms.cryptoKeys.create');
    if (!ID.test(request.cryptoKeyId ?? '')) throw invalid(`crypto_key_id [${request.cryptoKeyId ?? ''}] must match [a-zA-Z0-9_-]{1,63}.`);
    const input: Wire = request.cryptoKey ?? {};
    const purpose = String(input.purpose ?? 'CRYPTO_KEY_PURPOSE_UNSPECIFIED');
    if (purpose === 'CRYPTO_KEY_PURPOSE_UNSPECIFIED') throw invalid('crypto_key.purpose must be specified.');
    const template: Wire = input.versionTemplate ?? {};
    let algorithm = template.algorithm && template.algorithm !== 'CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED' ? String(template.algorithm) : undefined;
    if (purpose === 'ENCRYPT_DECRYPT') {
      algorithm ??= 'GOOGLE_SYMMETRIC_ENCRYPTION';
      if (!SYMMETRIC_ALGORITHMS.has(algorithm)) throw invalid(`Algorithm ${algorithm} is not compatible with purpose ENCRYPT_DECRYPT.`);
    } else if (!algorithm) {
      throw invalid(`crypto_key.version_template.algorithm must be specified for purpose ${purpose}.`);
    }
    const { period, next } = this.rotation(input, purpose);
    const destroy = seconds(input.destroyScheduledDuration) ?? DEFAULT_DESTROY_SECONDS;
    if (destroy < DAY_SECONDS || destroy > MAX_DESTROY_SECONDS) {
      throw invalid(`destroy_scheduled_duration must be between 24 hours and 120 days; got ${destroy}s.`);
    }
    const name = `${parent}/cryptoKeys/${request.cryptoKeyId}`;
    if (this.keys.has(name)) throw new GrpcFailure(Code.ALREADY_EXISTS, `CryptoKey ${name} already exists.`);
    const protection = template.protectionLevel && template.protectionLevel !== 'PROTECTION_LEVEL_UNSPECIFIED' ? String(template.protectionLevel) : 'SOFTWARE';
    const key: KeyState = {
      name,
      purpose,
      createTime: this.now(),
      algorithm: algorithm!,
      protectionLevel: protection,
      labels: { ...(input.labels ?? {}) },
      destroyScheduledSeconds: destroy,
      versions: [],
      ...(period !== undefined ? { rotationPeriodSeconds: period } : {}),
      ...(next !== undefined ? { nextRotationTime: next } : {}),
    };
    this.keys.set(name, key);
    this.policies.set(name, { version: 1, bindings: [], etag: randomBytes(8) });
    if (!request.skipInitialVersionCreation) {
      const version = this.addVersion(key);
      if (purpose === 'ENCRYPT_DECRYPT') key.primaryId = version.id;
    }
    return this.keyWire(key);
  }

  listCryptoKeys(request: Wire): Wire {
    const parent = this.keyRing(request.parent, 'cloudkms.cryptoKeys.list');
    const keys = [...this.keys.keys()].filter((name) => name.startsWith(`${parent}/cryptoKeys/`)).sort();
    return this.page(
      keys.map((name) => this.keyWire(this.key(name))),
      request,
      'cryptoKeys',
    );
  }

  updateCryptoKey(request: Wire): Wire {
    const input: Wire = request.cryptoKey ?? {};
    const key = this.key(input.name, 'cloudkms.cryptoKeys.update');
    const paths: string[] = (request.updateMask?.paths ?? []).map(snake);
    if (paths.length === 0) throw invalid('update_mask must name at least one field.');
    const allowed = new Set([
      'rotation_period',
      'next_rotation_time',
      'labels',
      'version_template',
      'version_template.algorithm',
      'version_template.protection_level',
    ]);
    const bad = paths.find((path) => !allowed.has(path));
    if (bad)
      throw invalid(
        `update_mask path [${bad}] cannot be updated${bad === 'destroy_scheduled_duration' || bad === 'purpose' ? ': the field is immutable' : ''}.`,
      );
    if (paths.includes('rotation_period') || paths.includes('next_rotation_time')) {
      const merged = {
        rotationPeriod: paths.includes('rotation_period') ? input.rotationPeriod : duration(key.rotationPeriodSeconds),
        nextRotationTime: paths.includes('next_rotation_time') ? input.nextRotationTime : timestamp(key.nextRotationTime),
      };
      const { period, next } = this.rotation(merged, key.purpose);
      key.rotationPeriodSeconds = period;
      key.nextRotationTime = next;
    }
    if (paths.includes('labels')) key.labels = { ...(input.labels ?? {}) };
    if (paths.some((path) => path.startsWith('version_template'))) {
      const algorithm = String(input.versionTemplate?.algorithm ?? key.algorithm);
      if (key.purpose === 'ENCRYPT_DECRYPT' && !SYMMETRIC_ALGORITHMS.has(algorithm))
        throw invalid(`Algorithm ${algorithm} is not compatible with purpose ENCRYPT_DECRYPT.`);
      key.algorithm = algorithm;
    }
    return this.keyWire(key);
  }

  updateCryptoKeyPrimaryVersion(request: Wire): Wire {
    const key = this.key(request.name, 'cloudkms.cryptoKeys.update');
    if (key.purpose !== 'ENCRYPT_DECRYPT')
      throw new GrpcFailure(Code.FAILED_PRECONDITION, `CryptoKey ${key.name} has purpose ${key.purpose}; only ENCRYPT_DECRYPT keys have a primary version.`);
    const id = String(request.cryptoKeyVersionId ?? '');
    const version = key.versions.find((v) => String(v.id) === id);
    if (!version) throw notFound('CryptoKeyVersion', `${key.name}/cryptoKeyVersions/${id}`);
    if (version.state !== 'ENABLED') {
      throw new GrpcFailure(
        Code.FAILED_PRECONDITION,
        `${version.name} is not in the correct state: ${version.state}. Only an ENABLED version can become primary.`,
      );
    }
    key.primaryId = version.id;
    return this.keyWire(key);
  }

  // ---- versions -------------------------------------------------------------------------------

  getCryptoKeyVersion(request: Wire): Wire {
    return this.versionWire(this.version(request.name, 'cloudkms.cryptoKeyVersions.get').version);
  }

  listCryptoKeyVersions(request: Wire): Wire {
    const key = this.key(request.parent, 'cloudkms.cryptoKeyVersions.list');
    return this.page(
      key.versions.map((v) => this.versionWire(v)),
      request,
      'cryptoKeyVersions',
    );
  }

  createCryptoKeyVersion(request: Wire): Wire {
    const key = this.key(request.parent, 'cloudkms.cryptoKeyVersions.create');
    return this.versionWire(this.addVersion(key));
  }

  updateCryptoKeyVersion(request: Wire): Wire {
    const input: Wire = request.cryptoKeyVersion ?? {};
    const { version } = this.version(input.name, 'cloudkms.cryptoKeyVersions.update');
    const paths: string[] = (request.updateMask?.paths ?? []).map(snake);
    if (paths.length !== 1 || paths[0] !== 'state') throw invalid('update_mask must be exactly [state] for a CryptoKeyVersion.');
    const target = String(input.state ?? '');
    if (target !== 'ENABLED' && target !== 'DISABLED') throw invalid(`crypto_key_version.state must be ENABLED or DISABLED; got ${target || 'unset'}.`);
    if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
      throw new GrpcFailure(Code.FAILED_PRECONDITION, `${version.name} is not in the correct state: ${version.state}.`);
    }
    version.state = target;
    return this.versionWire(version);
  }

  destroyCryptoKeyVersion(request: Wire): Wire {
    const { key, version } = this.version(request.name, 'cloudkms.cryptoKeyVersions.destroy');
    if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
      throw new GrpcFailure(Code.FAILED_PRECONDITION, `${version.name} is not in the correct state: ${version.state}.`);
    }
    version.state = 'DESTROY_SCHEDULED';
    version.destroyTime = this.now() + key.destroyScheduledSeconds * 1000;
    return this.versionWire(version);
  }

  restoreCryptoKeyVersion(request: Wire): Wire {
    const { version } = this.version(request.name, 'cloudkms.cryptoKeyVersions.restore');
    if (version.state !== 'DESTROY_SCHEDULED') {
      throw new GrpcFailure(
        Code.FAILED_PRECONDITION,
        `${version.name} is not in the correct state: ${version.state}. Only a DESTROY_SCHEDULED version can be restored.`,
      );
    }
    version.state = 'DISABLED';
    delete version.destroyTime;
    return this.versionWire(version);
  }

  // ---- IAM ------------------------------------------------------------------------------------

  /** The IAM policy of a key ring or crypto key. */
  policy(resource: string, action: 'getIamPolicy' | 'setIamPolicy' = 'getIamPolicy'): Policy {
    const depth = String(resource ?? '').split('/').length;
    if (depth === 8) this.key(resource, `cloudkms.cryptoKeys.${action}`);
    else if (depth === 6) this.keyRing(resource, `cloudkms.keyRings.${action}`);
    else throw invalid(`Resource name [${resource}] is not a key ring or crypto key.`);
    let policy = this.policies.get(resource);
    if (!policy) {
      policy = { version: 1, bindings: [], etag: randomBytes(8) };
      this.policies.set(resource, policy);
    }
    return policy;
  }

  private policyWire(policy: Policy): Wire {
    return { version: policy.version, bindings: policy.bindings.map((b) => ({ ...b, members: [...b.members] })), etag: policy.etag };
  }

  getIamPolicy(request: Wire): Wire {
    return this.policyWire(this.policy(request.resource));
  }

  setIamPolicy(request: Wire): Wire {
    const current = this.policy(request.resource, 'setIamPolicy');
    const input: Wire = request.policy ?? {};
    const etag = input.etag ? Buffer.from(input.etag) : Buffer.alloc(0);
    if (etag.length > 0 && !etag.equals(current.etag)) {
      throw new GrpcFailure(Code.ABORTED, 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
    }
    const bindings: Binding[] = [];
    for (const binding of (input.bindings ?? []) as Wire[]) {
      const role = String(binding.role ?? '');
      if (!/^(roles|projects\/[^/]+\/roles|organizations\/[^/]+\/roles)\/[A-Za-z0-9_.]+$/.test(role))
        throw invalid(`Role ${role || '(empty)'} is not a valid role name.`);
      const members = [...new Set((binding.members ?? []) as string[])];
      const bad = members.find((member) => !MEMBER.test(member));
      if (bad !== undefined) throw invalid(`Invalid argument: member ${bad} is of an unknown type. Use a prefix such as serviceAccount:, user:, group:.`);
      if (members.length > 0) bindings.push({ role, members, ...(binding.condition ? { condition: binding.condition } : {}) });
    }
    current.bindings = bindings;
    current.version = Number(input.version) || 1;
    current.etag = randomBytes(8);
    return this.policyWire(current);
  }

  testIamPermissions(request: Wire): Wire {
    this.policy(request.resource);
    return { permissions: ((request.permissions ?? []) as string[]).filter((p) => p.startsWith('cloudkms.')) };
  }
}
