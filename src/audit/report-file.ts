/**
 * Writes the report where the operator asked, inside the configured reports directory only:
 * <name>.md plus <name>.html beside it. The only local side effect of the audit, so it is fenced
 * in: the path (a file name, or an absolute path) must resolve inside the reports directory with
 * no symlink leading out of it, nothing is ever overwritten, and each file is written to a
 * temporary name and hard-linked into place (which fails if anything took the name meanwhile), so
 * a reader never sees half a report. What goes in is redacted like any answer.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { OperatorError } from '../errors.js';
import type { Redactor } from '../safety/types.js';
import { renderHtml } from './render-html.js';
import { renderFull } from './render-markdown.js';
import type { AuditReport } from './types.js';

export interface ReportFiles {
  markdown: string;
  html: string;
}

function refuse(what: string, why: string, next: string): OperatorError {
  return new OperatorError(what, why, next, { kind: 'report_path' });
}

/** Writes `text` to a temporary name beside `path`, then renames it over `path`: never half-written. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/** The .html path next to a .md path. */
export function htmlPathFor(markdownPath: string): string {
  return `${markdownPath.replace(/\.md$/i, '')}.html`;
}

function isInside(directory: string, path: string): boolean {
  const rel = relative(directory, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Where `requested` (a file name, a relative path, or an absolute path) puts the report inside
 * `reportsDir`; refuses anything outside it, a missing directory, and names already taken.
 * Creates the reports directory itself (0700) when missing. The write re-checks.
 */
export async function checkReportPath(reportsDir: string, requested: string): Promise<ReportFiles> {
  const base = resolve(reportsDir);
  const next = `pass a file name such as encryption-2026-11.md; it is written to ${base} (set --reports-dir or CRDB_REPORTS_DIR to change the directory).`;
  if (requested.includes('\0') || !/\.md$/i.test(requested) || basename(requested).startsWith('.')) {
    throw refuse(`Bad report_path ${JSON.stringify(requested)}`, 'report_path must be a file name ending in .md (not hidden).', next);
  }
  const candidate = resolve(base, requested);
  if (!isInside(base, candidate)) {
    throw refuse(`Not writing a report to ${candidate}`, `Reports are written only inside the reports directory ${base}.`, next);
  }
  await mkdir(base, { recursive: true, mode: 0o700 });
  const realBase = await realpath(base);
  const parent = await realpath(dirname(candidate)).catch(() => undefined);
  if (!parent) {
    throw refuse(`Cannot write the report to ${dirname(candidate)}`, 'That directory does not exist.', `create it inside ${base} first, or ${next}`);
  }
  if (!isInside(realBase, parent)) {
    throw refuse(`Not writing a report to ${candidate}`, `Its directory leads (through a symlink) outside the reports directory ${base}.`, next);
  }
  const files = { markdown: join(parent, basename(candidate)), html: htmlPathFor(join(parent, basename(candidate))) };
  for (const path of [files.markdown, files.html]) {
    if (await exists(path)) {
      throw refuse(
        `Not overwriting ${path}`,
        'It exists (reports are never overwritten, and a symlink is never followed).',
        'choose a new file name, then re-run.',
      );
    }
  }
  return files;
}

/** Writes `text` under a temporary name, then links it to `path`; fails if `path` exists by then. */
async function writeNew(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { flag: 'wx', mode: 0o600 });
    await link(temporary, path);
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

/** Writes the Markdown and HTML reports, redacted; throws an OperatorError the operator can act on. */
export async function writeReportFiles(reportsDir: string, requested: string, report: AuditReport, redactor: Redactor): Promise<ReportFiles> {
  const files = await checkReportPath(reportsDir, requested);
  const redacted = redactor.redact(report);
  try {
    await writeNew(files.markdown, redactor.redactText(renderFull(redacted)));
    await writeNew(files.html, redactor.redactText(renderHtml(redacted)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'write failed';
    if (code === 'EEXIST')
      throw refuse(
        `Not overwriting the report at ${files.markdown}`,
        'A file of that name appeared while the report was being written.',
        'choose a new file name, then re-run.',
      );
    throw refuse(
      `Could not write the report to ${dirname(files.markdown)}`,
      `${code}: the directory is not writable by this server.`,
      'check the permissions of the reports directory (--reports-dir).',
    );
  }
  return files;
}
