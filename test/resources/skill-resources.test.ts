import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSkillCatalog } from '../../src/skills/catalog.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/harness.js';
import { frontmatterWith, skillsFolder } from '../skills/fixtures.js';

const CMEK = 'enabling-cmek-encryption';
const CERTS = 'managing-certificates-and-encryption';

describe('skill resources', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists both templates', async () => {
    const { resourceTemplates } = await t.client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(['skill://{name}', 'skill://{name}/references/{file}']);
    expect(resourceTemplates.every((template) => template.mimeType === 'text/markdown' && template.description)).toBe(true);
  });

  it('lists every skill and every reference with a title and MIME type', async () => {
    const { resources } = await t.client.listResources();
    const uris = resources.map((resource) => resource.uri);
    expect(uris).toEqual(expect.arrayContaining([`skill://${CMEK}`, `skill://${CERTS}`, `skill://${CMEK}/references/aws.md`, `skill://${CERTS}/references/kubernetes.md`]));
    const skill = resources.find((resource) => resource.uri === `skill://${CMEK}`)!;
    expect(skill).toMatchObject({ name: CMEK, title: 'Enabling and operating CMEK on CockroachDB Cloud', mimeType: 'text/markdown' });
    expect(skill.description).toMatch(/^Put CockroachDB Cloud data at rest under the customer's own key/);
    expect(resources.find((resource) => resource.uri.endsWith('/references/gcp.md'))).toMatchObject({ name: `${CMEK}/gcp.md`, title: 'CMEK with GCP Cloud KMS' });
    const catalog = createSkillCatalog();
    const expected = (await catalog.list()).reduce((count, s) => count + 1 + s.references.length, 0);
    expect(resources).toHaveLength(expected);
  });

  it('reads every listed resource, byte for byte', async () => {
    const catalog = createSkillCatalog();
    const { resources } = await t.client.listResources();
    for (const resource of resources) {
      const { contents } = await t.client.readResource({ uri: resource.uri });
      expect(contents).toHaveLength(1);
      expect(contents[0]).toMatchObject({ uri: resource.uri, mimeType: 'text/markdown' });
      const [, name, file] = /^skill:\/\/([^/]+)(?:\/references\/(.+))?$/.exec(resource.uri)!;
      const expected = file ? await catalog.readReference(name!, file) : (await catalog.get(name!)).markdown;
      expect((contents[0] as { text: string }).text).toBe(expected);
    }
  });

  it('completes skill names by case-insensitive prefix', async () => {
    const complete = (uri: string, name: string, value: string, context?: Record<string, string>) =>
      t.client.complete({ ref: { type: 'ref/resource', uri }, argument: { name, value }, ...(context ? { context: { arguments: context } } : {}) });
    expect((await complete('skill://{name}', 'name', '')).completion.values).toEqual([CMEK, CERTS]);
    expect((await complete('skill://{name}', 'name', 'EN')).completion.values).toEqual([CMEK]);
    expect((await complete('skill://{name}/references/{file}', 'name', 'man')).completion.values).toEqual([CERTS]);
    expect((await complete('skill://{name}', 'name', 'zzz')).completion.values).toEqual([]);
  });

  it('completes reference files of the chosen skill', async () => {
    const complete = (value: string, name?: string) =>
      t.client.complete({
        ref: { type: 'ref/resource', uri: 'skill://{name}/references/{file}' },
        argument: { name: 'file', value },
        ...(name ? { context: { arguments: { name } } } : {}),
      });
    expect((await complete('a', CMEK)).completion.values).toEqual(['aws.md', 'azure.md']);
    expect((await complete('', CERTS)).completion.values).toContain('kubernetes.md');
    expect((await complete('', CERTS)).completion.values).not.toContain('aws.md');
    expect((await complete('safety')).completion.values).toEqual(['safety-guide.md']);
    expect((await complete('', 'unknown-skill')).completion.values).toEqual([]);
  });

  it('refuses unknown skills and references with what exists', async () => {
    await expect(t.client.readResource({ uri: 'skill://nope' })).rejects.toThrow(/Unknown skill 'nope'\. Available skills: enabling-cmek-encryption, managing-certificates-and-encryption/);
    await expect(t.client.readResource({ uri: `skill://${CMEK}/references/nope.md` })).rejects.toThrow(/has no reference 'nope\.md'\. Available: aws\.md/);
    await expect(t.client.readResource({ uri: `skill://${CMEK}/references/..%2FSKILL.md` })).rejects.toThrow(/has no reference '\.\.\/SKILL\.md'/);
  });
});

describe('skill resources when the skills are broken', () => {
  it('a missing skills folder (CRDB_SKILLS_DIR) gives a clear error, and the server keeps answering', async () => {
    const missing = join(tempDir(), 'gone');
    const t = await startTestServer({ config: { skillsDir: missing } });
    try {
      await expect(t.client.listResources()).rejects.toThrow(`Skills folder not found: ${missing}`);
      await expect(t.client.readResource({ uri: `skill://${CMEK}` })).rejects.toThrow(/Skills folder not found/);
      expect((await t.client.listResourceTemplates()).resourceTemplates).toHaveLength(2);
      expect((await t.client.listPrompts()).prompts.length).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('malformed frontmatter surfaces the file and the field', async () => {
    const dir = skillsFolder({ demo: { frontmatter: frontmatterWith('demo', 'compatibility', null) } });
    const t = await startTestServer({ deps: { skills: createSkillCatalog({ dir }) } });
    try {
      await expect(t.client.listResources()).rejects.toThrow(`${join(dir, 'demo', 'SKILL.md')}: frontmatter field "compatibility"`);
    } finally {
      await t.close();
    }
  });
});
