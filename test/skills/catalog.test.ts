import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/config.js';
import { SkillError, SkillNotFoundError, createSkillCatalog, findPackageRoot } from '../../src/skills/catalog.js';
import { tempDir } from '../helpers/harness.js';
import { frontmatterWith, skillsFolder, writeSkill } from './fixtures.js';

const SKILLS = ['enabling-cmek-encryption', 'managing-certificates-and-encryption'];

describe('skill catalog (packaged skills)', () => {
  const catalog = createSkillCatalog();

  it('finds the package skills folder and loads both skills', async () => {
    expect(await catalog.names()).toEqual(SKILLS);
    expect(await catalog.directory()).toMatch(/skills$/);
    for (const skill of await catalog.list()) {
      expect(skill.frontmatter.name).toBe(skill.name);
      expect(skill.frontmatter.description.length).toBeLessThanOrEqual(1024);
      expect(skill.frontmatter.metadata).toMatchObject({ author: expect.any(String), version: expect.any(String) });
      expect(skill.markdown.startsWith('---\n')).toBe(true);
      expect(skill.body).toMatch(/## Step 1: Gather context/);
      expect(skill.body).toMatch(/## Corrections/);
      expect(skill.references.length).toBeGreaterThanOrEqual(5);
    }
  });

  it('has the per-provider, rotation, revocation, Kubernetes and safety references', async () => {
    expect((await catalog.get('enabling-cmek-encryption')).references).toEqual(
      expect.arrayContaining(['aws.md', 'gcp.md', 'azure.md', 'rotation.md', 'revocation.md', 'safety-guide.md']),
    );
    expect((await catalog.get('managing-certificates-and-encryption')).references).toEqual(
      expect.arrayContaining(['certificate-rotation.md', 'ca-rotation.md', 'kubernetes.md', 'expiry-monitoring.md', 'safety-guide.md']),
    );
    expect(await catalog.readReference('enabling-cmek-encryption', 'safety-guide.md')).toMatch(
      /\| Operation \| What can go wrong \| Likelihood \| Impact \| Mitigation \| Reversibility \|/,
    );
  });

  it('states the corrected domain facts', async () => {
    const cmek = await catalog.get('enabling-cmek-encryption');
    expect(cmek.body).toMatch(/does\s+\*\*not\*\*\s+notice a new KMS version/);
    expect(cmek.body).toMatch(/enterprise\.encryption\.type`\."\*\*\s+That setting does not\s+exist/);
    const gcp = await catalog.readReference('enabling-cmek-encryption', 'gcp.md');
    expect(gcp).toMatch(/crl-kms-user-<last 12 characters of the cluster id>@<account_id>\.iam\.gserviceaccount\.com/);
    expect(gcp).toMatch(/\*\*without a version\*\*/);
    const azure = await catalog.readReference('enabling-cmek-encryption', 'azure.md');
    expect(azure).toMatch(/\*\*tenant id\*\*/);
    expect(azure).toMatch(/Key Vault Crypto Officer/);
    expect(azure).toMatch(/adminconsent\?client_id=<azure_cluster_identity_client_id>/);
    const aws = await catalog.readReference('enabling-cmek-encryption', 'aws.md');
    expect(aws).toMatch(/sts:ExternalId` = your CockroachDB Cloud \*\*organization id\*\*/);
    const certs = await catalog.get('managing-certificates-and-encryption');
    expect(certs.body).toMatch(/SET allow_unsafe_internals = true/);
    expect(certs.body).toMatch(/SIGHUP/);
    expect(await catalog.readReference('managing-certificates-and-encryption', 'ca-rotation.md')).toMatch(/combined/);
  });

  it('names what exists when a skill or reference is unknown', async () => {
    await expect(catalog.get('nope')).rejects.toThrow(SkillNotFoundError);
    await expect(catalog.get('nope')).rejects.toThrow(/Available skills: enabling-cmek-encryption, managing-certificates-and-encryption/);
    await expect(catalog.readReference('enabling-cmek-encryption', '../SKILL.md')).rejects.toThrow(/has no reference '\.\.\/SKILL\.md'\. Available: aws\.md/);
  });
});

describe('skill catalog (errors)', () => {
  it('takes its folder from CRDB_SKILLS_DIR when set', () => {
    expect(parseCommand([], { HOME: '/home/op', CRDB_SKILLS_DIR: '/opt/skills' })).toMatchObject({ config: { skillsDir: '/opt/skills' } });
    expect(parseCommand([], { HOME: '/home/op' })).toMatchObject({ config: { skillsDir: undefined } });
  });

  it('reads nothing until asked, then reports a missing folder clearly', async () => {
    const missing = join(tempDir(), 'no-such-skills');
    const catalog = createSkillCatalog({ dir: missing });
    await expect(catalog.list()).rejects.toThrow(`Skills folder not found: ${missing}`);
    await expect(catalog.names()).rejects.toThrow(/CRDB_SKILLS_DIR/);
  });

  it('reports a folder with no package root above it', async () => {
    const start = tempDir();
    await expect(createSkillCatalog({ from: start }).list()).rejects.toThrow(/Cannot find the skills folder: no package\.json named crdb-encryption-mcp above/);
  });

  it('finds skills from a bundled location (dist/chunks) by walking up to the package root', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'crdb-encryption-mcp' }));
    mkdirSync(join(root, 'dist', 'chunks'), { recursive: true });
    cpSync(join(process.cwd(), 'skills'), join(root, 'skills'), { recursive: true });
    const nested = join(root, 'dist', 'chunks');
    mkdirSync(join(nested, 'inner'), { recursive: true });
    writeFileSync(join(nested, 'package.json'), JSON.stringify({ name: 'something-else' }));
    expect(await findPackageRoot(join(nested, 'inner'))).toBe(root);
    expect(await createSkillCatalog({ from: nested }).names()).toEqual(SKILLS);
  });

  it('rejects an empty skills folder', async () => {
    const dir = skillsFolder({});
    await expect(createSkillCatalog({ dir }).list()).rejects.toThrow(/contains no skills/);
  });

  it('rejects a skill folder without SKILL.md', async () => {
    const dir = skillsFolder({ good: {} });
    mkdirSync(join(dir, 'empty-skill'));
    await expect(createSkillCatalog({ dir }).list()).rejects.toThrow(/empty-skill: skill folder has no SKILL\.md/);
  });

  const cases: Array<[string, string | { raw: string }, string, RegExp]> = [
    ['missing name', frontmatterWith('demo', 'name', null), 'name', /Invalid input: expected string/],
    ['name not matching its folder', frontmatterWith('demo', 'name', 'name: other-name'), 'name', /must match its folder name "demo"/],
    ['upper-case name', frontmatterWith('demo', 'name', 'name: Demo'), 'name', /lowercase letters/],
    ['name over 64 characters', frontmatterWith('demo', 'name', `name: ${'a'.repeat(65)}`), 'name', /at most 64/],
    ['missing description', frontmatterWith('demo', 'description', null), 'description', /expected string/],
    ['description over 1024 characters', frontmatterWith('demo', 'description', `description: ${'x'.repeat(1025)}`), 'description', /at most 1024/],
    ['missing compatibility', frontmatterWith('demo', 'compatibility', null), 'compatibility', /expected string/],
    [
      'numeric metadata.version',
      frontmatterWith('demo', 'metadata', 'metadata:\n  author: tests\n  version: 1.0'),
      'metadata.version',
      /expected string, received number/,
    ],
    ['missing metadata.author', frontmatterWith('demo', 'metadata', 'metadata:\n  version: 1.0.0'), 'metadata.author', /expected string/],
    ['unknown field', `${frontmatterWith('demo', 'name', 'name: demo')}\ntags: [a]`, 'tags', /unknown field/],
    ['invalid YAML', 'name: demo\ndescription: [unclosed', '(frontmatter)', /not valid YAML/],
    ['no frontmatter', { raw: '# Demo\n\nNo frontmatter here.\n' }, '(frontmatter)', /missing YAML frontmatter/],
  ];

  it.each(cases)('fails loudly on %s, naming the file and the field', async (_label, frontmatter, field, message) => {
    const dir = skillsFolder({ fine: {} });
    const file = writeSkill(dir, 'demo', typeof frontmatter === 'string' ? { frontmatter } : frontmatter);
    const error = await createSkillCatalog({ dir })
      .list()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SkillError);
    expect((error as SkillError).file).toBe(file);
    expect((error as SkillError).field).toBe(field);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain(field === '(frontmatter)' ? 'frontmatter' : `"${field}"`);
    expect((error as Error).message).toMatch(message);
  });

  it('retries after a failed load, so a fixed file is picked up', async () => {
    const dir = skillsFolder({});
    writeSkill(dir, 'demo', { frontmatter: frontmatterWith('demo', 'name', null) });
    const catalog = createSkillCatalog({ dir });
    await expect(catalog.list()).rejects.toThrow(SkillError);
    writeSkill(dir, 'demo');
    expect(await catalog.names()).toEqual(['demo']);
  });
});
