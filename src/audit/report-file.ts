/**
 * Writes the report where the operator asked: <path>.md plus <path>.html beside it. The only local
 * side effect of the audit, so it is fenced in: absolute .md paths only, into an existing
 * directory, never through a symlink, and never over a file that is not an earlier audit report.
 * Each file is written to a temporary name and renamed, so a reader never sees half a report.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { OperatorError } from '../errors.js';
import { renderHtml } from './render-html.js';
import { REPORT_HEADING, renderFull } from './render-markdown.js';
import type { AuditReport } from './types.js';

export interface ReportFiles {
  markdown: string;
  html: string;
}

const HTML_MARKER = `<title>${REPORT_HEADING.slice(2)}</title>`;

function refuse(what: string, why: string, next: string): OperatorError {
  return new OperatorError(what, why, next, { kind: 'report_path' });
}

async function head(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Refuses a path that exists and is not an earlier report of ours (or is a symlink). */
async function checkReplaceable(path: string, isOurs: (text: string) => boolean): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (info.isSymbolicLink() || !info.isFile() || !isOurs(await head(path))) {
    throw refuse(`Not overwriting ${path}`, 'It exists and is not an earlier audit report written by this tool (or it is a symlink).', 'choose a new file name (or delete that file yourself), then re-run.');
  }
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

/** Checks, before any work, that the report can go to `path` (the write re-checks). */
export async function checkReportPath(path: string): Promise<ReportFiles> {
  if (!isAbsolute(path) || !/\.md$/i.test(path)) {
    throw refuse(`Bad report_path ${path}`, 'report_path must be an absolute path ending in .md.', 'pass e.g. /home/you/audits/encryption-2026-11.md.');
  }
  const directory = dirname(path);
  const dir = await stat(directory).catch(() => undefined);
  if (!dir?.isDirectory()) {
    throw refuse(`Cannot write the report to ${directory}`, 'The directory does not exist.', 'create the directory first, or choose an existing one.');
  }
  const files = { markdown: path, html: htmlPathFor(path) };
  await checkReplaceable(files.markdown, (text) => text.startsWith(REPORT_HEADING));
  await checkReplaceable(files.html, (text) => text.includes(HTML_MARKER));
  return files;
}

/** Writes the Markdown and HTML reports; throws an OperatorError the operator can act on. */
export async function writeReportFiles(path: string, report: AuditReport): Promise<ReportFiles> {
  const files = await checkReportPath(path);
  const directory = dirname(path);
  try {
    await writeAtomically(files.markdown, renderFull(report));
    await writeAtomically(files.html, renderHtml(report));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'write failed';
    throw refuse(`Could not write the report to ${directory}`, `${code}: the directory is not writable by this server.`, 'choose a directory this server can write to.');
  }
  return files;
}
