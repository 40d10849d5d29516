/**
 * The hash chain shared by every audit store: how an entry is sealed, and how a sequence of
 * stored entries plus the recorded head is checked, naming the first bad entry.
 *
 * entry.hash = SHA-256(canonicalJson(entry without `hash`)), prevHash = previous entry's hash,
 * 64 zeros for the first entry. The head (seq and hash of the last entry, kept beside the log)
 * detects entries removed from the end, which the chain alone cannot.
 */
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { AuditEntry, AuditEvent, AuditVerification } from './types.js';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The last entry a store recorded: seq 0 and GENESIS_HASH for an empty log. */
export interface ChainHead {
  seq: number;
  hash: string;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** Shape of a stored entry (unknown extra members are allowed; the hash covers them). */
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

/** Shape of a stored head record. */
export const chainHeadSchema = z.object({ seq: z.number().int().min(0), hash: hex64 });

/** SHA-256 over the canonical JSON of the entry without its own `hash`. */
export function entryHash(entry: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = entry;
  return sha256Hex(canonicalJson(rest));
}

/** Numbers and chains an event after `head`. */
export function sealEntry(event: AuditEvent, head: ChainHead): AuditEntry {
  const unsealed = { ...event, seq: head.seq + 1, prevHash: head.hash };
  return { ...unsealed, hash: entryHash(unsealed) };
}

/** Parses one stored entry; undefined when it is not valid JSON or not an entry. */
export function parseEntry(text: string): AuditEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return auditEntrySchema.safeParse(value).success ? (value as AuditEntry) : undefined;
}

interface Failure {
  index: number;
  problem: string;
  /** A seq that was expected here; if it shows up later the entries were reordered. */
  missingSeq?: number;
}

/**
 * Checks entries in storage order. Feed every stored entry to `push` (its text, or null when it
 * could not even be read as a line, plus the storage key when the store has one), then `finish`.
 * Memory stays small: after the first failure only seq numbers are remembered.
 */
export class ChainVerifier {
  private count = 0;
  private previous: ChainHead = { seq: 0, hash: GENESIS_HASH };
  private failure: Failure | undefined;
  private readonly laterSeqs = new Set<number>();
  private hashAtHead: string | undefined;

  constructor(
    /** The recorded head: 'missing' when none was found, 'corrupt' when it could not be read. */
    private readonly head: ChainHead | 'missing' | 'corrupt',
    private readonly store: string,
    /**
     * How many entries may follow the head: 1 for a file (an append interrupted between writing
     * the entry and replacing the head), 0 for a transactional store.
     */
    private readonly allowedHeadLag: number,
  ) {}

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
          : isJson(text)
            ? `entry ${index} is not a well-formed audit entry (missing or mistyped fields)`
            : `entry ${index} is not valid JSON (unparsable line)`;
      this.failure = { index, problem };
      return;
    }
    this.failure = this.check(entry, index, storedSeq);
    if (!this.failure) {
      this.previous = { seq: entry.seq, hash: entry.hash };
      if (typeof this.head === 'object' && entry.seq === this.head.seq) this.hashAtHead = entry.hash;
    }
  }

  private check(entry: AuditEntry, index: number, storedSeq: number | undefined): Failure | undefined {
    if (entryHash(entry as unknown as Record<string, unknown>) !== entry.hash) {
      return { index, problem: `entry ${index} was edited: its content no longer matches its hash` };
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
        ? { index, problem: 'entry 1 does not start the chain (prevHash is not the genesis hash): earlier entries were removed' }
        : { index: index - 1, problem: `entry ${index - 1} was edited and re-hashed, or replaced: entry ${index} records a different prevHash` };
    }
    if (storedSeq !== undefined && storedSeq !== entry.seq) {
      return { index, problem: `entry ${index} was edited: it is stored under seq ${storedSeq} but says seq ${entry.seq}` };
    }
    return undefined;
  }

  /** The verdict, after the last entry. */
  finish(): AuditVerification {
    const base = { entries: this.count, store: this.store };
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
    const head = this.head;
    if (head === 'corrupt') {
      return { ...base, ok: false, problem: 'the head record (last seq and hash) is unreadable, so removal of the last entries cannot be ruled out' };
    }
    if (head === 'missing') {
      return this.count === 0
        ? { ...base, ok: true }
        : { ...base, ok: false, problem: 'the head record (last seq and hash) is missing, so removal of the last entries cannot be ruled out' };
    }
    if (head.seq > this.count) {
      return {
        ...base,
        ok: false,
        firstBadEntry: this.count + 1,
        problem: `the log was truncated: the head records ${head.seq} entries but the log ends after ${this.count}; entries ${this.count + 1}-${head.seq} were removed`,
      };
    }
    if (this.count - head.seq > this.allowedHeadLag) {
      return {
        ...base,
        ok: false,
        firstBadEntry: head.seq + 1,
        problem: `the head records ${head.seq} entries but the log holds ${this.count}: the head was reset or replaced, so entries from ${head.seq + 1} on are not vouched for`,
      };
    }
    const expected = head.seq === 0 ? GENESIS_HASH : this.hashAtHead;
    if (expected !== head.hash) {
      return head.seq === 0
        ? { ...base, ok: false, problem: 'the head record is corrupt (seq 0 with a non-genesis hash)' }
        : { ...base, ok: false, firstBadEntry: head.seq, problem: `entry ${head.seq} was edited and re-hashed: it does not match the hash recorded in the head` };
    }
    return { ...base, ok: true };
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

