/**
 * The keyed chain shared by every audit store: the log header, how an entry is sealed, the signed
 * head checkpoint, and how a stored log is checked, naming the first bad entry.
 *
 * Every seal is an HMAC-SHA-256 under the audit key (audit-key.ts), which is kept outside the log:
 *   header.hash = MAC('header', header without hash)         -- names the format, key id and log id
 *   entry.hash  = MAC('entry', entry without hash)           -- entry.prevHash = previous entry's hash,
 *                                                               the header's hash for entry 1
 *   head.mac    = MAC('head', {logId, seq, hash})            -- the last entry, kept beside the log
 * Without the key nobody can edit, re-seal, reorder or drop entries, or rewrite the head after
 * cutting the tail, without verification saying so. The head (and the checkpoint this machine keeps
 * under the state dir) also detects entries removed from the end, which the chain alone cannot.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AuditKey } from './audit-key.js';
import type { AuditEntry, AuditEvent, AuditVerification } from './types.js';

/** The format marker on the first line of every audit log file (and in the header row of the SQL store). */
export const AUDIT_LOG_FORMAT = 'crdb-encryption-mcp audit log';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** The first record of a log: what it is and which key sealed it. */
export const logHeaderSchema = z.object({
  format: z.literal(AUDIT_LOG_FORMAT),
  version: z.literal(2),
  algorithm: z.literal('HMAC-SHA-256'),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  logId: z.string().min(1).max(100),
  created: z.string(),
  hash: hex64,
});
export type LogHeader = z.infer<typeof logHeaderSchema>;

/** Shape of a stored entry (unknown extra members are allowed; the MAC covers them). */
export const auditEntrySchema = z.object({
  seq: z.number().int().positive(),
  time: z.string(),
  tool: z.string(),
  target: z.string(),
  params: z.record(z.string(), z.unknown()),
  outcome: z.enum(['attempted', 'refused', 'declined', 'failed', 'succeeded', 'dry_run']),
  detail: z.string().optional(),
  requestIds: z.array(z.string()).optional(),
  attemptId: z.string(),
  prevHash: hex64,
  hash: hex64,
});

/** The last entry a store recorded: seq 0 and the header's hash for an empty log. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** A head signed with the audit key, bound to one log. Stored beside the log and, as a checkpoint, under the state dir. */
export interface SignedHead extends ChainHead {
  logId: string;
  mac: string;
}

export const signedHeadSchema = z.object({ seq: z.number().int().min(0), hash: hex64, logId: z.string().min(1), mac: hex64 });

/** A head as a store found it. */
export type StoredHead = SignedHead | 'missing' | 'corrupt';

const withoutHash = ({ hash: _hash, ...rest }: Record<string, unknown>) => rest;

/** A new header for a log sealed with `key`. */
export function createHeader(key: AuditKey, created = new Date()): LogHeader {
  const unsealed: Omit<LogHeader, 'hash'> = {
    format: AUDIT_LOG_FORMAT,
    version: 2,
    algorithm: 'HMAC-SHA-256',
    keyId: key.id,
    logId: randomUUID(),
    created: created.toISOString(),
  };
  return { ...unsealed, hash: key.mac('header', unsealed) };
}

/** Parses a header record; undefined when the text does not carry the format marker and fields. */
export function parseHeader(text: string): LogHeader | undefined {
  const value = parseJson(text);
  return logHeaderSchema.safeParse(value).success ? (value as LogHeader) : undefined;
}

/** True for the first line of a log written before the keyed format (an unkeyed SHA-256 chain starting at 64 zeros). */
export function isLegacyFirstEntry(text: string): boolean {
  const value = parseJson(text) as { seq?: unknown; prevHash?: unknown } | undefined;
  return value?.seq === 1 && value.prevHash === '0'.repeat(64);
}

/**
 * What is wrong with a header under `key`; undefined when it is sound. A different key id means
 * the configured key is not the one that sealed the log.
 */
export function headerProblem(header: LogHeader, key: AuditKey): string | undefined {
  if (header.keyId !== key.id) {
    return `the log was sealed with audit key id ${header.keyId}, but the configured key has id ${key.id}: the key was replaced or lost, so nothing in this log can be vouched for`;
  }
  if (key.mac('header', withoutHash(header)) !== header.hash) return 'the log header was edited: its HMAC does not match';
  return undefined;
}

/** Numbers, chains and seals an event after `head`. */
export function sealEntry(event: AuditEvent, head: ChainHead, key: AuditKey): AuditEntry {
  const unsealed = { ...event, seq: head.seq + 1, prevHash: head.hash };
  return { ...unsealed, hash: key.mac('entry', unsealed) };
}

/** True when the entry's HMAC matches its content. */
export function entrySealValid(entry: AuditEntry, key: AuditKey): boolean {
  return key.mac('entry', withoutHash(entry as unknown as Record<string, unknown>)) === entry.hash;
}

/** Signs the head of log `logId`. */
export function signHead(head: ChainHead, logId: string, key: AuditKey): SignedHead {
  return { seq: head.seq, hash: head.hash, logId, mac: key.mac('head', { logId, seq: head.seq, hash: head.hash }) };
}

/** True when `head` was signed with `key` for log `logId`. */
export function headSignatureValid(head: SignedHead, logId: string, key: AuditKey): boolean {
  return head.logId === logId && key.mac('head', { logId, seq: head.seq, hash: head.hash }) === head.mac;
}

/** Parses a stored head. */
export function parseHead(value: unknown): SignedHead | 'corrupt' {
  const parsed = signedHeadSchema.safeParse(value);
  return parsed.success ? parsed.data : 'corrupt';
}

/** Parses one stored entry; undefined when it is not valid JSON or not an entry. */
export function parseEntry(text: string): AuditEntry | undefined {
  const value = parseJson(text);
  // The raw value, not zod's copy: members the schema does not name are sealed too.
  return auditEntrySchema.safeParse(value).success ? (value as AuditEntry) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface Failure {
  index: number;
  problem: string;
  /** A seq that was expected here; if it shows up later the entries were reordered. */
  missingSeq?: number;
}

/** A signed record of (seq, hash) that the entries must reach: the head beside the log, or this machine's checkpoint. */
interface Anchor {
  name: string;
  head: SignedHead;
  /** How many entries may follow it (an append interrupted between the entry and its head). */
  lag: number | 'any';
}

export interface ChainVerifierOptions {
  key: AuditKey;
  header: LogHeader;
  /** The head record stored beside the log. */
  head: StoredHead;
  /** What this machine last recorded for this log (under the state dir), if anything. */
  checkpoint?: SignedHead | undefined;
  store: string;
  /**
   * How many entries may follow the head: 1 for a file (an append interrupted between writing
   * the entry and replacing the head), 0 for a transactional store.
   */
  allowedHeadLag: number;
}

/**
 * Checks entries in storage order, after a sound header (see headerProblem). Feed every stored
 * entry to `push` (its text, or null when it could not even be read, plus the storage key when
 * the store has one), then call `finish`. Memory stays small: after the first failure only seq
 * numbers are remembered.
 */
export class ChainVerifier {
  private count = 0;
  private previous: ChainHead;
  private failure: Failure | undefined;
  private readonly laterSeqs = new Set<number>();
  private readonly wanted = new Map<number, string | undefined>();

  constructor(private readonly options: ChainVerifierOptions) {
    this.previous = { seq: 0, hash: options.header.hash };
    for (const anchor of this.anchors()) this.wanted.set(anchor.head.seq, undefined);
  }

  private anchors(): Anchor[] {
    const { head, checkpoint } = this.options;
    const anchors: Anchor[] = [];
    if (typeof head === 'object') anchors.push({ name: 'the head record', head, lag: this.options.allowedHeadLag });
    if (checkpoint) anchors.push({ name: "this machine's checkpoint", head: checkpoint, lag: 'any' });
    return anchors;
  }

  push(text: string | null, storedSeq?: number): void {
    this.count += 1;
    const index = this.count;
    const entry = text === null ? undefined : parseEntry(text);
    if (this.failure) {
      if (entry) this.laterSeqs.add(entry.seq);
      return;
    }
    if (!entry) {
      const problem =
        text === null
          ? `entry ${index} could not be read as an audit entry (over 1 MiB, or not text)`
          : parseJson(text) !== undefined
            ? `entry ${index} is not a well-formed audit entry (missing or mistyped fields)`
            : `entry ${index} is not valid JSON (unparsable line)`;
      this.failure = { index, problem };
      return;
    }
    this.failure = this.check(entry, index, storedSeq);
    if (!this.failure) {
      this.previous = { seq: entry.seq, hash: entry.hash };
      if (this.wanted.has(entry.seq)) this.wanted.set(entry.seq, entry.hash);
    }
  }

  private check(entry: AuditEntry, index: number, storedSeq: number | undefined): Failure | undefined {
    if (!entrySealValid(entry, this.options.key)) {
      return { index, problem: `entry ${index} does not match its HMAC: it was edited, or rewritten and re-hashed without the audit key` };
    }
    const expected = this.previous.seq + 1;
    if (entry.seq > expected) {
      return { index, missingSeq: expected, problem: `entry ${index} has seq ${entry.seq} where seq ${expected} was expected` };
    }
    if (entry.seq < expected) {
      return { index, problem: `entries were reordered or duplicated: entry ${index} has seq ${entry.seq}, which already appeared (expected ${expected})` };
    }
    if (entry.prevHash !== this.previous.hash) {
      return index === 1
        ? { index, problem: 'entry 1 does not follow the log header: it was copied from another log sealed with the same key' }
        : {
            index: index - 1,
            problem: `entry ${index - 1} was replaced by a validly sealed entry from elsewhere: entry ${index} records a different prevHash`,
          };
    }
    if (storedSeq !== undefined && storedSeq !== entry.seq) {
      return { index, problem: `entry ${index} was moved: it is stored under seq ${storedSeq} but says seq ${entry.seq}` };
    }
    return undefined;
  }

  /** The verdict, after the last entry. */
  finish(): AuditVerification {
    const base = { entries: this.count, store: this.options.store };
    if (this.failure) {
      const { index, missingSeq } = this.failure;
      let problem = this.failure.problem;
      if (missingSeq !== undefined) {
        problem = this.laterSeqs.has(missingSeq)
          ? `entries were reordered: ${problem}, and seq ${missingSeq} appears later`
          : `entries were deleted: ${problem}, and seq ${missingSeq} is missing`;
      }
      return { ...base, ok: false, firstBadEntry: index, problem };
    }
    const { head, key, header, allowedHeadLag } = this.options;
    const cannotRuleOut = `so removal of entries after entry ${this.count} cannot be ruled out`;
    if (head === 'corrupt') return { ...base, ok: false, problem: `the head record (last seq, hash and signature) is unreadable, ${cannotRuleOut}` };
    if (head === 'missing' && this.count > allowedHeadLag)
      return { ...base, ok: false, problem: `the head record (last seq, hash and signature) is missing, ${cannotRuleOut}` };
    for (const anchor of this.anchors()) {
      const problem = this.anchorProblem(anchor, key, header);
      if (problem) return { ...base, ok: false, ...problem };
    }
    return { ...base, ok: true };
  }

  private anchorProblem({ name, head, lag }: Anchor, key: AuditKey, header: LogHeader): { problem: string; firstBadEntry?: number } | undefined {
    if (!headSignatureValid(head, header.logId, key)) {
      return head.logId === header.logId
        ? {
            problem: `${name} does not carry a valid signature: it was rewritten without the audit key (as after entries are cut from the end), so removal of entries after entry ${this.count} cannot be ruled out`,
          }
        : { problem: `${name} belongs to another log (id ${head.logId}; this log is ${header.logId}): the log was replaced` };
    }
    if (head.seq > this.count) {
      return {
        firstBadEntry: this.count + 1,
        problem: `the log was truncated: ${name} records ${head.seq} entries but the log ends after ${this.count}; entries ${this.count + 1}-${head.seq} were removed`,
      };
    }
    if (lag !== 'any' && this.count - head.seq > lag) {
      return {
        firstBadEntry: head.seq + 1,
        problem: `${name} records ${head.seq} entries but the log holds ${this.count}: entries from ${head.seq + 1} on are not vouched for`,
      };
    }
    const reached = head.seq === 0 ? header.hash : this.wanted.get(head.seq);
    if (reached !== head.hash) {
      return {
        firstBadEntry: Math.max(head.seq, 1),
        problem: `entry ${head.seq} is not the one ${name} signed: the log was rolled back or rewritten from there on`,
      };
    }
    return undefined;
  }
}
