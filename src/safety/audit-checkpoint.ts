/**
 * This machine's signed checkpoint of each audit log it appended to, kept under the state dir
 * (beside the key, away from the log): `audit-checkpoints/<sha256(store)>.json`, holding the store
 * and the signed head after the last append. It is what tells "this log was deleted" (or rolled
 * back to an older copy, log and head together) from "no log was ever written here".
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseHead, type SignedHead } from './audit-chain.js';
import { sha256Hex } from './canonical.js';

/** The checkpoint file of `store` (e.g. `file:/path` or `postgres://host/db table t`). */
export function checkpointPath(dir: string, store: string): string {
  return join(dir, `${sha256Hex(store).slice(0, 32)}.json`);
}

/** The recorded checkpoint; undefined when none; 'corrupt' when unreadable. */
export async function readCheckpoint(dir: string, store: string): Promise<SignedHead | 'corrupt' | undefined> {
  let text: string;
  try {
    text = await readFile(checkpointPath(dir, store), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { head } = JSON.parse(text) as { head?: unknown };
    return parseHead(head);
  } catch {
    return 'corrupt';
  }
}

/** Replaces the checkpoint atomically (temp file, fsync, rename); the directory is created 0700. */
export async function writeCheckpoint(dir: string, store: string, head: SignedHead): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = checkpointPath(dir, store);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ store, head })}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
