import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relativeLinks, validateSkills } from '../../src/skills/validate.js';
import { tempDir } from '../helpers/harness.js';
import { frontmatterWith, skillsFolder } from './fixtures.js';

const GOOD_BODY = '# Demo\n\n## Gather context\n\nAsk.\n\n## Corrections\n\nNone.\n\n- [Guide](references/guide.md)\n';

describe('validateSkills', () => {
  it('accepts the packaged skills', async () => {
    expect(await validateSkills(join(process.cwd(), 'skills'))).toEqual([]);
  });

  it('accepts a minimal valid skill', async () => {
    const dir = skillsFolder({ demo: { body: GOOD_BODY, references: { 'guide.md': '# Guide\n\nBack to [the skill](../SKILL.md).\n' } } });
    expect(await validateSkills(dir)).toEqual([]);
  });

  it('reports broken links, unlinked references and missing sections, all at once', async () => {
    const dir = skillsFolder({
      demo: {
        body: '# Demo\n\nSee [missing](references/missing.md) and [web](https://example.com) and [here](#demo).\n',
        references: { 'orphan.md': '# Orphan\n\n[up](../NOPE.md)\n' },
      },
    });
    const problems = await validateSkills(dir);
    const messages = problems.map((problem) => `${problem.file}: ${problem.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/demo\/SKILL\.md: missing a "Gather context" section heading/),
        expect.stringMatching(/demo\/SKILL\.md: missing a "Corrections" section heading/),
        expect.stringMatching(/demo\/SKILL\.md: broken link: references\/missing\.md/),
        expect.stringMatching(/orphan\.md: reference is not linked from/),
        expect.stringMatching(/orphan\.md: broken link: \.\.\/NOPE\.md/),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('reports frontmatter problems per skill with file and field, and keeps checking the others', async () => {
    const dir = skillsFolder({
      alpha: { frontmatter: frontmatterWith('alpha', 'metadata', 'metadata:\n  author: x\n  version: 2') },
      beta: { frontmatter: frontmatterWith('beta', 'name', 'name: gamma') },
    });
    const problems = await validateSkills(dir);
    expect(problems).toEqual([
      expect.objectContaining({ file: join(dir, 'alpha', 'SKILL.md'), field: 'metadata.version' }),
      expect.objectContaining({ file: join(dir, 'beta', 'SKILL.md'), field: 'name' }),
    ]);
  });

  it('reports a missing folder', async () => {
    expect(await validateSkills(join(tempDir(), 'nope'))).toEqual([expect.objectContaining({ message: 'skills folder not found' })]);
  });

  it('ignores links inside code', () => {
    expect(relativeLinks('`[a](b.md)`\n```\n[c](d.md)\n```\n[e](f.md#x) [g](mailto:x@y) [h](skill://s)')).toEqual(['f.md']);
  });
});

describe('tools/validate-skills.ts', () => {
  const run = (dir?: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'tools/validate-skills.ts', ...(dir ? [dir] : [])], { cwd: process.cwd(), encoding: 'utf8' });

  it('exits 0 on the packaged skills', () => {
    const result = run();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exits 1 naming file and field on a malformed skill', () => {
    const dir = skillsFolder({ demo: { frontmatter: frontmatterWith('demo', 'description', `description: ${'x'.repeat(1100)}`) } });
    const result = run(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/demo\/SKILL\.md \[description\]: frontmatter field "description": at most 1024 characters/);
  });
});
