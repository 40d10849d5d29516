/**
 * Parsers for CockroachDB's HTTP status endpoints, the supported alternative to crdb_internal:
 * Prometheus `/_status/vars`, `/_status/certificates/local` (CertificatesResponse) and
 * `/_status/stores/local` (StoresResponse, whose encryption_status is a serialized
 * EncryptionStatus protobuf). JSON field names are accepted in snake_case and camelCase, enums
 * as names or numbers, int64 as strings or numbers.
 */

/** One certificate expiry read from a status endpoint. */
export interface StatusCertExpiry {
  nodeId: string;
  type: string;
  /** UNIX seconds; null when the metric is 0 (certificate missing). */
  expiresAt: number | null;
  /** The SQL user of a client certificate (the metric's sql_user label). */
  user?: string;
  subject?: string;
  error?: string;
}

/** `security_certificate_expiration_<type>{labels} value`, or the labelled name `security_certificate_expiration{certificate_type="<type>",...}`. */
const PROM_CERT_LINE = /^security_certificate_expiration(?:_([a-z_]+?))?(\{[^}]*\})?\s+(\S+)/;

/**
 * The client certificate metric is an aggregate labelled per SQL user (sql_user); its top-level
 * value sums every user's minimum expiry and means nothing (cockroach pkg/security/cert_metrics.go).
 */
export const PER_USER_CERT_TYPE = 'client';

function labelValue(labels: string | undefined, name: string): string | undefined {
  return labels ? new RegExp(`${name}="([^"]*)"`).exec(labels)?.[1] : undefined;
}

function seconds(value: unknown): number | null {
  const number = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN;
  return Number.isFinite(number) && number > 0 ? Math.floor(number) : null;
}

/**
 * Certificate expirations from Prometheus text (`security_certificate_expiration_*`): client
 * certificates per SQL user; their meaningless top-level aggregate is dropped.
 */
export function parsePrometheusCertExpirations(text: string, defaultNode = 'local'): StatusCertExpiry[] {
  const out: StatusCertExpiry[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const match = PROM_CERT_LINE.exec(line.trim());
    if (!match) continue;
    const type = (match[1] ?? labelValue(match[2], 'certificate_type'))?.replace(/_/g, '-');
    if (!type) continue;
    const user = labelValue(match[2], 'sql_user');
    if (type === PER_USER_CERT_TYPE && user === undefined) continue;
    // Newer releases may print both the per-type name and the labelled name for one value.
    const key = JSON.stringify([labelValue(match[2], 'node_id'), type, user, match[3]]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ nodeId: labelValue(match[2], 'node_id') ?? defaultNode, type, expiresAt: seconds(match[3]), ...(user === undefined ? {} : { user }) });
  }
  return out;
}

/** CertificateDetails.CertificateType, in enum order. */
const CERT_TYPE_NAMES = ['ca', 'node', 'client-ca', 'client', 'ui-ca', 'ui'];

function field(record: Record<string, unknown>, snake: string): unknown {
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return record[snake] ?? record[camel];
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function certType(value: unknown): string {
  if (typeof value === 'number') return CERT_TYPE_NAMES[value] ?? `type-${value}`;
  if (typeof value === 'string') return /^\d+$/.test(value) ? (CERT_TYPE_NAMES[Number(value)] ?? `type-${value}`) : value.toLowerCase().replace(/_/g, '-');
  return 'ca'; // proto3 JSON omits the zero value
}

/** Certificate expirations from a CertificatesResponse (each certificate of a combined file separately). */
export function parseCertificatesResponse(json: unknown, nodeId = 'local'): StatusCertExpiry[] {
  const certificates = field(asRecord(json) ?? {}, 'certificates');
  if (!Array.isArray(certificates)) throw new Error('not a CertificatesResponse (no "certificates" array)');
  const out: StatusCertExpiry[] = [];
  for (const entry of certificates) {
    const record = asRecord(entry) ?? {};
    const type = certType(field(record, 'type'));
    const error = field(record, 'error_message');
    const fields = field(record, 'fields');
    const list = Array.isArray(fields) ? fields.map((f) => asRecord(f) ?? {}) : [];
    if (list.length === 0) {
      out.push({ nodeId, type, expiresAt: null, ...(typeof error === 'string' && error ? { error } : {}) });
      continue;
    }
    for (const details of list) {
      const subject = field(details, 'subject');
      out.push({ nodeId, type, expiresAt: seconds(field(details, 'valid_until')), ...(typeof subject === 'string' ? { subject } : {}) });
    }
  }
  return out;
}

/** KeyInfo from enginepb (key_registry.proto); only what we report. */
export interface EncryptionKeyInfo {
  encryptionType: number;
  keyId?: string;
  source?: string;
}

export interface StatusStore {
  storeId: number;
  /** rocksdb.encryption.algorithm equivalent: 0 plaintext, 1-3 AES-128/192/256-CTR, 4-6 their v2 variants. */
  algorithm: number;
  storeKey?: EncryptionKeyInfo;
  dataKey?: EncryptionKeyInfo;
  totalFiles?: number;
  activeKeyFiles?: number;
}

class ProtoReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  done(): boolean {
    return this.offset >= this.bytes.length;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.bytes.length) throw new Error('truncated varint');
      const byte = this.bytes[this.offset++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }
  bytesField(): Uint8Array {
    const length = this.varint();
    if (this.offset + length > this.bytes.length) throw new Error('truncated field');
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.bytesField();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 5) this.offset += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function decodeKeyInfo(bytes: Uint8Array): EncryptionKeyInfo {
  const reader = new ProtoReader(bytes);
  const info: EncryptionKeyInfo = { encryptionType: 0 };
  while (!reader.done()) {
    const tag = reader.varint();
    const [number, wire] = [Math.floor(tag / 8), tag & 7];
    if (number === 1 && wire === 0) info.encryptionType = reader.varint();
    else if (number === 2 && wire === 2) info.keyId = Buffer.from(reader.bytesField()).toString('utf8');
    else if (number === 4 && wire === 2) info.source = Buffer.from(reader.bytesField()).toString('utf8');
    else reader.skip(wire);
  }
  return info;
}

/** Decodes a serialized EncryptionStatus {active_store_key = 1, active_data_key = 2}. */
export function decodeEncryptionStatus(bytes: Uint8Array): { storeKey?: EncryptionKeyInfo; dataKey?: EncryptionKeyInfo } {
  const reader = new ProtoReader(bytes);
  const out: { storeKey?: EncryptionKeyInfo; dataKey?: EncryptionKeyInfo } = {};
  while (!reader.done()) {
    const tag = reader.varint();
    const [number, wire] = [Math.floor(tag / 8), tag & 7];
    if (number === 1 && wire === 2) out.storeKey = decodeKeyInfo(reader.bytesField());
    else if (number === 2 && wire === 2) out.dataKey = decodeKeyInfo(reader.bytesField());
    else reader.skip(wire);
  }
  return out;
}

function count(value: unknown): number | undefined {
  const number = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
}

/** Stores from a StoresResponse. An empty encryption_status means the store is plaintext. */
export function parseStoresResponse(json: unknown): StatusStore[] {
  const stores = field(asRecord(json) ?? {}, 'stores');
  if (!Array.isArray(stores)) throw new Error('not a StoresResponse (no "stores" array)');
  return stores.map((entry) => {
    const record = asRecord(entry) ?? {};
    const raw = field(record, 'encryption_status');
    const status = typeof raw === 'string' && raw ? decodeEncryptionStatus(Buffer.from(raw, 'base64')) : {};
    const totalFiles = count(field(record, 'total_files'));
    const activeKeyFiles = count(field(record, 'active_key_files'));
    return {
      storeId: count(field(record, 'store_id')) ?? 0,
      algorithm: status.dataKey?.encryptionType ?? status.storeKey?.encryptionType ?? 0,
      ...status,
      ...(totalFiles === undefined ? {} : { totalFiles }),
      ...(activeKeyFiles === undefined ? {} : { activeKeyFiles }),
    };
  });
}
