/**
 * The default audit store: an append-only JSON Lines file (mode 0600) with a sidecar head file
 * `<log>.head` ({"seq","hash"} of the last entry, replaced atomically by rename after each
 * append) so that removing entries from the end is detected.
 *
 * Appends are serialised within the process (a promise queue per path) and across processes on
 * the machine (a `<log>.lock` file), and each append re-reads the tail, so several servers can
 * share one log. Before appending, the tail is checked against the head; if they disagree the
 * append is refused (and so is the mutation that wanted it) until an operator looks at the log.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AuditLogError } from './audit-log-error.js';
import { ChainVerifier, GENESIS_HASH, chainHeadSchema, entryHash, parseEntry, sealEntry, type ChainHead } from './audit-chain.js';
import { canonicalJson } from './canonical.js';
import { withFileLock } from './file-lock.js';
import type { AuditEvent, AuditLog, AuditVerification, Redactor } from './types.js';

/** Longest line accepted as an entry; longer lines are reported as unparsable. */
const MAX_LINE_BYTES = 1 << 20;

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

/** Opens (lazily: nothing is touched until the first append) the JSONL audit log at `path`. */
export function openFileAuditLog(path: string, redactor: Redactor): AuditLog {
  const file = resolve(path);
  return {
    append: (event) =>
      serialise(file, async () => {
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        await withFileLock(`${file}.lock`, () => appendLocked(file, redactor.redact(event)));
      }),
    verify: () => verifyAuditFile(file, { allowMissing: true, lock: true }),
    close: async () => {
      await queues.get(file);
    },
  };
}

function recoveryStep(file: string): string {
  return `run \`crdb-encryption-mcp verify-audit-log --audit-log ${file}\`, keep ${file} and ${file}.head unchanged as evidence, investigate, then move both aside so a new log starts.`;
}

async function appendLocked(file: string, event: AuditEvent): Promise<void> {
  const head = await continueFrom(file);
  const entry = sealEntry(event, head);
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.write(`${canonicalJson(entry)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const temp = `${file}.head.${process.pid}.tmp`;
  const headHandle = await open(temp, 'w', 0o600);
  try {
    await headHandle.writeFile(JSON.stringify({ seq: entry.seq, hash: entry.hash }));
    await headHandle.datasync();
  } finally {
    await headHandle.close();
  }
  await rename(temp, `${file}.head`);
}

/** The head a new entry chains to, after checking the log's tail against the head file. */
async function continueFrom(file: string): Promise<ChainHead> {
  const inconsistent = (problem: string) => new AuditLogError(`the audit log ${file} is inconsistent: ${problem}`, recoveryStep(file));
  const head = await readHead(file);
  if (head === 'corrupt') throw inconsistent('its head file is unreadable');
  const tail = await readTail(file);
  if (tail === undefined) {
    if (head !== 'missing' && head.seq > 0) throw inconsistent(`the log is empty or missing but its head records ${head.seq} entries`);
    return { seq: 0, hash: GENESIS_HASH };
  }
  if (!tail.complete) throw inconsistent('its last line is incomplete (an interrupted write, or an edit)');
  const last = parseEntry(tail.line);
  if (!last || entryHash(last as unknown as Record<string, unknown>) !== last.hash) throw inconsistent('its last entry is unparsable or was edited');
  if (head === 'missing') throw inconsistent('its head file is missing');
  if (head.seq === last.seq && head.hash === last.hash) return last;
  // The previous append stored its entry but was interrupted before updating the head.
  if (head.seq === last.seq - 1 && head.hash === last.prevHash) return last;
  throw inconsistent(`its last entry (seq ${last.seq}) does not match its head (seq ${head.seq}): entries were removed or edited`);
}

async function readHead(file: string): Promise<ChainHead | 'missing' | 'corrupt'> {
  let text: string;
  try {
    text = await readFile(`${file}.head`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = chainHeadSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'corrupt';
  } catch {
    return 'corrupt';
  }
}

/** The last line of the file (without its newline); undefined when the file is empty or absent. */
async function readTail(file: string): Promise<{ line: string; complete: boolean } | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
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
 * Recomputes the chain of the log at `path` and checks it against its head file.
 * Throws AuditLogError when the path is not a readable regular file (a missing file counts as an
 * empty log when `allowMissing`). With `lock` (the live log), the head and the file size are read
 * under the append lock, so appends made while the check runs are not mistaken for tampering.
 */
export async function verifyAuditFile(path: string, options: { allowMissing: boolean; lock?: boolean }): Promise<AuditVerification> {
  const file = resolve(path);
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
  });
  try {
    const { head, size } = info && options.lock ? await lockedSnapshot(file, snapshot) : await snapshot();
    const verifier = new ChainVerifier(head, `file:${file}`, 1);
    for await (const line of lines(file, size)) verifier.push(line);
    return verifier.finish();
  } catch (error) {
    throw error instanceof AuditLogError ? error : unreadable(error as NodeJS.ErrnoException);
  }
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
