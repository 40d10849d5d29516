/** Writes skill folders into temporary directories, valid or deliberately broken. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/harness.js';

/** Frontmatter lines of a valid skill; override or drop lines to break one field. */
export function frontmatterLines(name: string): Record<string, string> {
  return {
    name: `name: ${name}`,
    description: 'description: Use when testing the loader.',
    compatibility: 'compatibility: tests only',
    metadata: 'metadata:\n  author: tests\n  version: 1.0.0',
  };
}

export interface SkillFixture {
  /** Frontmatter YAML (without the --- lines); defaults to a valid one for the folder name. */
  frontmatter?: string;
  /** Write SKILL.md verbatim instead (for "no frontmatter" cases). */
  raw?: string;
  body?: string;
  references?: Record<string, string>;
}

const DEFAULT_BODY = '# Test skill\n\n## Gather context\n\nAsk.\n\n## Corrections\n\nNone.\n';

/** Writes skills/<folder>/SKILL.md (+ references) under `root`; returns the SKILL.md path. */
export function writeSkill(root: string, folder: string, fixture: SkillFixture = {}): string {
  const dir = join(root, folder);
  mkdirSync(join(dir, 'references'), { recursive: true });
  const frontmatter = fixture.frontmatter ?? Object.values(frontmatterLines(folder)).join('\n');
  const path = join(dir, 'SKILL.md');
  writeFileSync(path, fixture.raw ?? `---\n${frontmatter}\n---\n${fixture.body ?? DEFAULT_BODY}`);
  for (const [file, text] of Object.entries(fixture.references ?? {})) writeFileSync(join(dir, 'references', file), text);
  return path;
}

/** A fresh skills folder holding the given skills. */
export function skillsFolder(skills: Record<string, SkillFixture>): string {
  const root = join(tempDir('crdb-skills-'), 'skills');
  mkdirSync(root, { recursive: true });
  for (const [folder, fixture] of Object.entries(skills)) writeSkill(root, folder, fixture);
  return root;
}

/** Frontmatter of a valid skill with one field replaced (or removed with `null`). */
export function frontmatterWith(name: string, field: string, line: string | null): string {
  const lines = frontmatterLines(name);
  if (line === null) delete lines[field];
  else lines[field] = line;
  return Object.values(lines).join('\n');
}
