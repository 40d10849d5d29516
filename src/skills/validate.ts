/**
 * Validation of a skills folder for CI (tools/validate-skills.ts): frontmatter of every skill,
 * name == folder, required sections, every relative link resolves, every reference is linked from
 * its SKILL.md. Reports every problem, not just the first.
 */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SkillError, fileText, listDirectory, loadSkillFolder, type Skill } from './catalog.js';
import { loadMatter } from './frontmatter.js';

/** One problem, located by file and (for frontmatter) field. */
export interface SkillProblem {
  file: string;
  field?: string;
  message: string;
}

/** Headings every SKILL.md must have (matched case-insensitively, anywhere in the heading). */
export const REQUIRED_SECTIONS = ['Gather context', 'Corrections'] as const;

const LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

/** Relative link targets in a Markdown text (external URLs, anchors and skill:// URIs excluded). */
export function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const targets: string[] = [];
  for (const match of withoutCode.matchAll(LINK)) {
    const target = match[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    targets.push(target.split('#')[0]!);
  }
  return targets;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function checkLinks(file: string, markdown: string, problems: SkillProblem[]): Promise<string[]> {
  const resolved: string[] = [];
  for (const target of relativeLinks(markdown)) {
    const path = resolve(dirname(file), decodeURI(target));
    resolved.push(path);
    if (!(await exists(path))) problems.push({ file, message: `broken link: ${target} (no file at ${path})` });
  }
  return resolved;
}

async function checkSkill(dir: string, skill: Skill, problems: SkillProblem[]): Promise<void> {
  const headings = [...skill.body.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => match[1]!.toLowerCase());
  for (const section of REQUIRED_SECTIONS) {
    if (!headings.some((heading) => heading.includes(section.toLowerCase()))) {
      problems.push({ file: skill.path, message: `missing a "${section}" section heading` });
    }
  }
  for (const file of skill.files.keys()) {
    if (file.endsWith('/SKILL.md'))
      problems.push({ file: join(dir, skill.name, file), message: 'a skill must not contain another SKILL.md (skills do not nest)' });
  }
  const linked = new Set(await checkLinks(skill.path, skill.body, problems));
  for (const file of skill.references) {
    const path = join(dir, skill.name, 'references', file);
    if (!linked.has(path)) problems.push({ file: path, message: `reference is not linked from ${skill.path}` });
    if (file.endsWith('.md')) await checkLinks(path, fileText(skill, `references/${file}`) ?? '', problems);
  }
}

/** Validates every skill under `dir`; an empty list means the folder is valid. */
export async function validateSkills(dir: string): Promise<SkillProblem[]> {
  const problems: SkillProblem[] = [];
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return [{ file: dir, message: 'skills folder not found' }];
  const matter = await loadMatter();
  const folders = (await listDirectory(dir)).dirs;
  if (folders.length === 0) problems.push({ file: dir, message: 'no skills (expected <name>/SKILL.md)' });
  for (const folder of folders) {
    try {
      const skill = await loadSkillFolder(dir, folder, matter);
      await checkSkill(dir, skill, problems);
    } catch (error) {
      if (!(error instanceof SkillError)) throw error;
      problems.push({ file: error.file, ...(error.field ? { field: error.field } : {}), message: error.message });
    }
  }
  return problems;
}
