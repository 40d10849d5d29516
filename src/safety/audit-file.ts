/**
 * The default audit store: an append-only JSON Lines file (mode 0600). Line 1 is the header
 * (format marker, key id, log id; audit-chain.ts), then one sealed entry per line. Beside it,
 * `<log>.head` holds the signed head (seq, hash and MAC of the last entry), replaced atomically by
 * rename after each append, so that removing entries from the end is detected; this machine's
 * checkpoint of the log (audit-checkpoint.ts) also tells a deleted log from one never written.
 *
 * Appends are serialised within the process (a promise queue per path) and across processes on
 * the machine (a `<log>.lock` file), and each append re-reads the header and the tail, so several
 * servers can share one log. Before appending, the tail is checked against the signed head; if
 * they disagree the append is refused (and so is the mutation that wanted it) until an operator
 * looks at the log. A log written before the keyed format is refused likewise: it is kept as it
 * is, and a new keyed log starts once the operator moves it aside.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AuditLogError } from './audit-log-error.js';
import {
  ChainVerifier,
  createHeader,
  entrySealValid,
  headSignatureValid,
  headerProblem,
  isLegacyFirstEntry,
  parseEntry,
  parseHead,
  parseHeader,
  sealEntry,
  signHead,
  type ChainHead,
  type LogHeader,
  type StoredHead,
} from './audit-chain.js';
import { readCheckpoint, writeCheckpoint, checkpointPath } from './audit-checkpoint.js';
import type { AuditKey, AuditKeySource } from './audit-key.js';
import { canonicalJson } from './canonical.js';
import { withFileLock } from './file-lock.js';
import type { AuditEvent, AuditLog, AuditVerification, Redactor } from './types.js';

/** Longest line accepted as an entry; longer lines are reported as unparsable. */
const MAX_LINE_BYTES = 1 << 20;
/** The header is a few hundred bytes; a first line longer than this is not one. */
const MAX_HEADER_BYTES = 4096;

const queues = new Map<string, Promise<unknown>>();

/** Runs `work` after every earlier task queued for the same key (in this process). */
function serialise<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.then(
    () => {},
    () => {},
  );
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}

/** Opens (lazily: nothing is touched until the first append) the JSONL audit log at `path`, sealed with the key from `keys`. */
export function openFileAuditLog(path: string, redactor: Redactor, keys: AuditKeySource): AuditLog {
  const file = resolve(path);
  return {
    append: (event) =>
      serialise(file, async () => {
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        await withFileLock(`${file}.lock`, () => appendLocked(file, keys, redactor.redact(event)));
      }),
    verify: () => verifyAuditFile(file, { allowMissing: true, lock: true, keys }),
    close: async () => {
      await queues.get(file);
    },
  };
}

function recoveryStep(file: string): string {
  return `run \`crdb-encryption-mcp verify-audit-log --audit-log ${file}\`, keep ${file} and ${file}.head unchanged as evidence, investigate, then move both aside so a new log starts.`;
}

function legacyError(file: string): AuditLogError {
  return new AuditLogError(
    `the audit log ${file} was written by an earlier version without a key (an unkeyed SHA-256 chain that anyone able to write it can re-hash), so it is not extended`,
    `keep it as a record: move ${file} and ${file}.head aside (for example to ${file}.v1 and ${file}.v1.head); the next audited call then starts a new keyed log at ${file}.`,
  );
}

function notAnAuditLog(file: string): AuditLogError {
  return new AuditLogError(
    `${file} is not an audit log of this server (its first line is not the audit-log header)`,
    'give the path of a crdb-encryption-mcp audit log (.jsonl), or omit the path to check the configured log.',
  );
}

async function appendLocked(file: string, keys: AuditKeySource, event: AuditEvent): Promise<void> {
  const key = (await keys.load(true))!;
  const store = `file:${file}`;
  const { header, head, fresh } = await continueFrom(file, key, keys.checkpointDir, store);
  const entry = sealEntry(event, head, key);
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.write(`${fresh ? `${canonicalJson(header)}\n` : ''}${canonicalJson(entry)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const signed = signHead(entry, header.logId, key);
  const temp = `${file}.head.${process.pid}.tmp`;
  const headHandle = await open(temp, 'w', 0o600);
  try {
    await headHandle.writeFile(JSON.stringify(signed));
    await headHandle.datasync();
  } finally {
    await headHandle.close();
  }
  await rename(temp, `${file}.head`);
  await writeCheckpoint(keys.checkpointDir, store, signed);
}

/** The header and head a new entry chains to (a new header for a new log), after checking the log's tail against its signed head. */
async function continueFrom(
  file: string,
  key: AuditKey,
  checkpointDir: string,
  store: string,
): Promise<{ header: LogHeader; head: ChainHead; fresh: boolean }> {
  const inconsistent = (problem: string, next = recoveryStep(file)) => new AuditLogError(`the audit log ${file} is inconsistent: ${problem}`, next);
  const head = await readHead(file);
  const checkpoint = await readCheckpoint(checkpointDir, store);
  const first = await readFirstLine(file);
  if (first === undefined) {
    if (head !== 'missing') throw inconsistent('the log is empty or missing but its head file exists');
    if (checkpoint !== undefined) {
      const recorded = checkpoint === 'corrupt' ? 'an unreadable checkpoint' : `a checkpoint of ${checkpoint.seq} entries (log id ${checkpoint.logId})`;
      throw inconsistent(
        `the log is missing or empty, but this machine holds ${recorded} at ${checkpointPath(checkpointDir, store)}: it was deleted or moved`,
        `if it was deleted, investigate (compare with the upstream audit logs); if you moved it aside on purpose and kept it as evidence, delete ${checkpointPath(checkpointDir, store)} too, and a new log starts.`,
      );
    }
    const header = createHeader(key);
    return { header, head: { seq: 0, hash: header.hash }, fresh: true };
  }
  const header = parseHeader(first);
  if (!header) throw isLegacyFirstEntry(first) ? legacyError(file) : notAnAuditLog(file);
  const headerIssue = headerProblem(header, key);
  if (headerIssue) throw inconsistent(headerIssue);
  const tail = await readTail(file);
  if (!tail!.complete) throw inconsistent('its last line is incomplete (an interrupted write, or an edit)');
  const last = tail!.line === first ? { seq: 0, hash: header.hash, prevHash: undefined } : parseEntry(tail!.line);
  if (!last || (last.seq > 0 && !entrySealValid(last as never, key))) throw inconsistent('its last entry is unparsable or does not match its HMAC');
  if (checkpoint === 'corrupt') throw inconsistent(`this machine's checkpoint ${checkpointPath(checkpointDir, store)} is unreadable`);
  if (checkpoint && (!headSignatureValid(checkpoint, header.logId, key) || checkpoint.seq > last.seq)) {
    throw inconsistent(
      `this machine's checkpoint records ${checkpoint.seq} entries of log ${checkpoint.logId}, but the log (id ${header.logId}) ends at seq ${last.seq}: it was replaced, truncated or rolled back`,
    );
  }
  if (head === 'missing') {
    // Only the very first append can have stored its entry without its head.
    if (last.seq <= 1) return { header, head: last, fresh: false };
    throw inconsistent('its head file is missing');
  }
  if (head === 'corrupt' || !headSignatureValid(head, header.logId, key)) throw inconsistent('its head file is unreadable or does not carry a valid signature');
  if (head.seq === last.seq && head.hash === last.hash) return { header, head: last, fresh: false };
  // The previous append stored its entry but was interrupted before updating the head.
  if (head.seq === last.seq - 1 && head.hash === last.prevHash) return { header, head: last, fresh: false };
  throw inconsistent(`its last entry (seq ${last.seq}) does not match its head (seq ${head.seq}): entries were removed or edited`);
}

async function readHead(file: string): Promise<StoredHead> {
  let text: string;
  try {
    text = await readFile(`${file}.head`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    return parseHead(JSON.parse(text));
  } catch {
    return 'corrupt';
  }
}

/** The file opened for reading, or undefined when it does not exist. */
async function openIfPresent(file: string) {
  try {
    return await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The first line of the file (at most MAX_HEADER_BYTES); undefined when the file is empty or absent. */
async function readFirstLine(file: string): Promise<string | undefined> {
  const handle = await openIfPresent(file);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, MAX_HEADER_BYTES, 0);
    if (bytesRead === 0) return undefined;
    const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
    return buffer.subarray(0, newline >= 0 ? newline : bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Whether `path` is an audit log of this server, told from its first line alone (nothing else is
 * read): 'keyed' for the current format, 'legacy' for an unkeyed log of an earlier version,
 * 'other' for any other file, 'missing' when there is no such file or it is empty.
 */
export async function auditFileKind(path: string): Promise<'keyed' | 'legacy' | 'other' | 'missing'> {
  const first = await readFirstLine(resolve(path));
  if (first === undefined) return 'missing';
  if (parseHeader(first)) return 'keyed';
  return isLegacyFirstEntry(first) ? 'legacy' : 'other';
}

/** True when `path` starts with this server's audit-log header (or is an unkeyed log of an earlier version). */
export async function isAuditLogFile(path: string): Promise<boolean> {
  const kind = await auditFileKind(path).catch(() => 'other' as const);
  return kind === 'keyed' || kind === 'legacy';
}

/** The last line of the file (without its newline); undefined when the file is empty or absent. */
async function readTail(file: string): Promise<{ line: string; complete: boolean } | undefined> {
  const handle = await openIfPresent(file);
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    if (size === 0) return undefined;
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const complete = buffer[buffer.length - 1] === 0x0a;
      const body = complete ? buffer.subarray(0, buffer.length - 1) : buffer;
      const newline = body.lastIndexOf(0x0a);
      if (newline >= 0 || start === 0) return { line: body.subarray(newline + 1).toString('utf8'), complete };
      chunk *= 4;
    }
  } finally {
    await handle.close();
  }
}

/** Lines of the first `size` bytes of a file as strings; `null` for a line longer than MAX_LINE_BYTES. */
async function* lines(file: string, size: number): AsyncGenerator<string | null> {
  if (size === 0) return;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let oversized = false;
  for await (const chunk of createReadStream(file, { start: 0, end: size - 1 }) as AsyncIterable<Buffer>) {
    let offset = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, offset)) {
      const piece = chunk.subarray(offset, newline);
      yield oversized || pendingBytes + piece.length > MAX_LINE_BYTES ? null : Buffer.concat([...pending, piece]).toString('utf8');
      pending = [];
      pendingBytes = 0;
      oversized = false;
      offset = newline + 1;
    }
    const rest = chunk.subarray(offset);
    if (oversized || pendingBytes + rest.length > MAX_LINE_BYTES) {
      oversized = true;
      pending = [];
      pendingBytes = 0;
    } else if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (oversized) yield null;
  else if (pendingBytes > 0) yield Buffer.concat(pending).toString('utf8');
}

/**
 * Checks the log at `path`: its header, the HMAC chain, and the signed head beside it and this
 * machine's checkpoint. Throws AuditLogError when the path is not a readable regular file or not
 * an audit log (a missing file counts as a log never written when `allowMissing`, unless its head
 * or checkpoint shows it existed). With `lock` (the live log), the head and the file size are read
 * under the append lock, so appends made while the check runs are not mistaken for tampering.
 */
export async function verifyAuditFile(path: string, options: { allowMissing: boolean; lock?: boolean; keys: AuditKeySource }): Promise<AuditVerification> {
  const file = resolve(path);
  const store = `file:${file}`;
  const unreadable = (error: NodeJS.ErrnoException) =>
    new AuditLogError(`cannot read the audit log ${file}: ${error.code ?? error.message}`, 'check the path and the file permissions.');
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw unreadable(error);
  });
  if (!info && !options.allowMissing) {
    throw new AuditLogError(`no audit log at ${file}`, 'check the path; without one, the configured log is checked.');
  }
  if (info && !info.isFile()) throw new AuditLogError(`${file} is not a regular file`, 'give the path of the JSONL audit log file.');
  const snapshot = async () => ({
    head: await readHead(file).catch(() => 'corrupt' as const),
    size: info ? (await stat(file)).size : 0,
    checkpoint: await readCheckpoint(options.keys.checkpointDir, store).catch(() => 'corrupt' as const),
  });
  try {
    const { head, size, checkpoint } = info && options.lock ? await lockedSnapshot(file, snapshot) : await snapshot();
    const first = size === 0 ? undefined : await readFirstLine(file);
    if (first === undefined) {
      if (!options.allowMissing) throw notAnAuditLog(file);
      return missingLogVerdict(file, store, head, checkpoint, options.keys.checkpointDir);
    }
    const header = parseHeader(first);
    if (!header) {
      if (!isLegacyFirstEntry(first)) throw notAnAuditLog(file);
      return { ok: false, entries: await countLines(file, size), store, problem: `${legacyError(file).message}; ${legacyError(file).next}` };
    }
    const entries = async () => (await countLines(file, size)) - 1;
    const key = await options.keys.load(false);
    if (!key) {
      return {
        ok: false,
        entries: await entries(),
        store,
        problem: `the audit key (${options.keys.description}) is missing, and this log was sealed with key id ${header.keyId}: it cannot be checked until the key is restored from your backup`,
      };
    }
    const problem = headerProblem(header, key);
    if (problem) return { ok: false, entries: await entries(), store, problem };
    if (checkpoint === 'corrupt')
      return {
        ok: false,
        entries: await entries(),
        store,
        problem: `this machine's checkpoint of the log (${checkpointPath(options.keys.checkpointDir, store)}) is unreadable`,
      };
    const verifier = new ChainVerifier({ key, header, head, checkpoint, store, allowedHeadLag: 1 });
    let isHeader = true;
    for await (const line of lines(file, size)) {
      if (isHeader) isHeader = false;
      else verifier.push(line);
    }
    return verifier.finish();
  } catch (error) {
    throw error instanceof AuditLogError ? error : unreadable(error as NodeJS.ErrnoException);
  }
}

/** The verdict on a configured log that is absent or empty: never written, unless its head or this machine's checkpoint says it existed. */
function missingLogVerdict(
  file: string,
  store: string,
  head: StoredHead,
  checkpoint: Awaited<ReturnType<typeof readCheckpoint>> | 'corrupt',
  checkpointDir: string,
): AuditVerification {
  if (head !== 'missing') {
    const recorded = head === 'corrupt' ? 'an unreadable head' : `a head of ${head.seq} entries`;
    return {
      ok: false,
      entries: 0,
      store,
      ...(head === 'corrupt' ? {} : { firstBadEntry: 1 }),
      problem: `the log is missing or empty but ${file}.head holds ${recorded}: the log was deleted or truncated`,
    };
  }
  if (checkpoint !== undefined) {
    const recorded = checkpoint === 'corrupt' ? 'an unreadable checkpoint' : `a checkpoint of ${checkpoint.seq} entries (log id ${checkpoint.logId})`;
    return {
      ok: false,
      entries: 0,
      store,
      firstBadEntry: 1,
      problem: `the log and its head are missing, but this machine holds ${recorded} at ${checkpointPath(checkpointDir, store)}: the log was deleted`,
    };
  }
  return { ok: true, entries: 0, store };
}

async function countLines(file: string, size: number): Promise<number> {
  let count = 0;
  for await (const _line of lines(file, size)) count += 1;
  return count;
}

/** Takes the snapshot under the append lock, or without it where the lock file cannot be created (read-only directory). */
async function lockedSnapshot<T>(file: string, snapshot: () => Promise<T>): Promise<T> {
  try {
    return await serialise(file, () => withFileLock(`${file}.lock`, snapshot));
  } catch (error) {
    if (['EACCES', 'EPERM', 'EROFS'].includes((error as NodeJS.ErrnoException).code ?? '')) return snapshot();
    throw error;
  }
}
