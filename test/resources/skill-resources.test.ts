/**
 * The skills extension (SEP-2640) through real v2 clients in both eras (legacy: initialize over
 * InMemoryTransport; modern: 2026-07-28 per request through the SDK's HTTP handler), checked
 * against the files on disk: digests and sizes computed here with node:crypto, not by the server.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ProtocolError } from '@modelcontextprotocol/client';
import { DIRECTORY_MIME_TYPE, SKILLS_EXTENSION_ID, SkillsClient } from '@modelcontextprotocol/client/ext/skills';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSkillCatalog } from '../../src/skills/catalog.js';
import { rejection, startTestServer, tempDir, type TestServer } from '../helpers/harness.js';
import { frontmatterWith, skillsFolder } from '../skills/fixtures.js';

const CMEK = 'enabling-cmek-encryption';
const CERTS = 'managing-certificates-and-encryption';
const SKILLS_DIR = join(import.meta.dirname, '..', '..', 'skills');

/** Every file of a skill folder on disk as the entry must list it: URI, sha256 digest, size. */
function filesOnDisk(name: string): Array<{ uri: string; digest: string; size: number }> {
  const root = join(SKILLS_DIR, name);
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      const bytes = readFileSync(path);
      return {
        uri: `skill://${name}/${relative(root, path).split('\\').join('/')}`,
        digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
        size: bytes.byteLength,
      };
    })
    .sort((a, b) => (a.uri < b.uri ? -1 : 1));
}

describe.each(['legacy', 'modern'] as const)('skills extension, %s era', (era) => {
  let t: TestServer;
  let skills: SkillsClient;
  beforeAll(async () => {
    t = await startTestServer({ era });
    skills = new SkillsClient(t.client);
  });
  afterAll(async () => {
    await t.close();
  });

  it('declares the extension with directory reads', () => {
    expect(t.client.getServerCapabilities()?.extensions?.[SKILLS_EXTENSION_ID]).toEqual({ directoryRead: true });
    expect(skills.supported).toBe(true);
    expect(skills.directoryRead).toBe(true);
  });

  it('skills/list: each skill with its frontmatter and every file with the digest and size of the file on disk', async () => {
    const listing = await skills.list();
    expect(listing.invalid).toEqual([]);
    expect(listing.skills.map((skill) => skill.uri)).toEqual([`skill://${CMEK}/SKILL.md`, `skill://${CERTS}/SKILL.md`]);
    const catalog = createSkillCatalog();
    for (const entry of listing.skills) {
      const name = entry.frontmatter.name;
      expect(entry.frontmatter).toEqual((await catalog.get(name)).frontmatter);
      expect(entry.resources).toEqual(filesOnDisk(name));
    }
    expect(listing.skills[0]!.resources).toEqual(expect.arrayContaining([expect.objectContaining({ uri: `skill://${CMEK}/references/aws.md` })]));
    if (era === 'modern') expect(listing).toMatchObject({ ttlMs: 3_600_000, cacheScope: 'public' });
    else expect(listing.ttlMs).toBeUndefined();
  });

  it('skills/get returns the same entry; an unknown skill is -32602', async () => {
    const { skills: listed } = await skills.list();
    for (const entry of listed) expect((await skills.get(entry.uri)).skill).toEqual(entry);
    const error = await rejection(skills.get('skill://no-such-skill/SKILL.md'));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: -32602, message: expect.stringContaining('No skill is served at skill://no-such-skill/SKILL.md') });
    await expect(skills.get(`skill://${CMEK}`)).rejects.toMatchObject({ code: -32602 });
  });

  it('reads every listed file, verified against its digest, byte for byte as on disk', async () => {
    const { skills: listed } = await skills.list();
    let files = 0;
    for (const entry of listed) {
      for (const resource of entry.resources as Array<{ uri: string }>) {
        const file = await skills.read(entry, resource.uri);
        expect(file.verified).toBe(true);
        expect(file.mimeType).toBe('text/markdown');
        const path = join(SKILLS_DIR, resource.uri.slice('skill://'.length));
        expect(file.text).toBe(readFileSync(path, 'utf8'));
        files += 1;
      }
    }
    expect(files).toBe(filesOnDisk(CMEK).length + filesOnDisk(CERTS).length);
    const manifest = await skills.read(listed[0]!);
    expect(manifest.frontmatter).toMatchObject({ name: CMEK });
    expect(manifest.body).toMatch(/## Corrections/);
  });

  it('resources/list names each SKILL.md with its frontmatter name and description', async () => {
    const { resources } = await t.client.listResources();
    const catalog = createSkillCatalog();
    expect(resources.map((resource) => resource.uri)).toEqual([`skill://${CMEK}/SKILL.md`, `skill://${CERTS}/SKILL.md`]);
    for (const resource of resources) {
      const skill = await catalog.get(resource.name);
      expect(resource).toMatchObject({ mimeType: 'text/markdown', description: skill.frontmatter.description, size: skill.files.get('SKILL.md')!.byteLength });
    }
    expect(resources[0]!.title).toBe('Enabling and operating CMEK on CockroachDB Cloud');
  });

  it('resources/directory/read lists a skill folder and its references folder; a file is not a folder (-32602)', async () => {
    const root = await skills.readDirectory(`skill://${CMEK}`);
    expect(root.resources).toEqual([
      { uri: `skill://${CMEK}/SKILL.md`, name: 'SKILL.md', mimeType: 'text/markdown', size: readFileSync(join(SKILLS_DIR, CMEK, 'SKILL.md')).byteLength },
      { uri: `skill://${CMEK}/references`, name: 'references', mimeType: DIRECTORY_MIME_TYPE },
    ]);
    const references = await skills.readDirectory(`skill://${CMEK}/references`);
    expect(references.resources.map((resource) => resource.name)).toEqual(readdirSync(join(SKILLS_DIR, CMEK, 'references')).sort());
    await expect(skills.readDirectory(`skill://${CMEK}/SKILL.md`)).rejects.toMatchObject({ code: -32602 });
  });

  it('an unknown file or skill is resource-not-found with the URI in data and what does exist', async () => {
    const file = await rejection(t.client.readResource({ uri: `skill://${CMEK}/references/nope.md` }));
    expect(file).toMatchObject({ code: -32602, data: { uri: `skill://${CMEK}/references/nope.md` } });
    expect(file.message).toMatch(/has no file 'references\/nope\.md'\. Its files: SKILL\.md, references\/aws\.md/);
    await expect(t.client.readResource({ uri: `skill://${CMEK}/references/..%2FSKILL.md` })).rejects.toMatchObject({ code: -32602 });
    const skill = await rejection(t.client.readResource({ uri: 'skill://nope/SKILL.md' }));
    expect(skill.message).toMatch(
      /Unknown skill in skill:\/\/nope\/SKILL\.md\. Available skills: enabling-cmek-encryption, managing-certificates-and-encryption/,
    );
  });

  it('still reads the deprecated skill://<name> URI (this release only), with completion by substring', async () => {
    const { contents } = await t.client.readResource({ uri: `skill://${CERTS}` });
    expect(contents[0]).toMatchObject({ uri: `skill://${CERTS}`, mimeType: 'text/markdown', text: readFileSync(join(SKILLS_DIR, CERTS, 'SKILL.md'), 'utf8') });
    await expect(t.client.readResource({ uri: 'skill://nope' })).rejects.toThrow(
      /Unknown skill 'nope'\. Available skills: enabling-cmek-encryption, managing-certificates-and-encryption/,
    );
    const { resourceTemplates } = await t.client.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(['skill://{name}', 'skill://{+path}']);
    const complete = async (value: string) =>
      (await t.client.complete({ ref: { type: 'ref/resource', uri: 'skill://{name}' }, argument: { name: 'name', value } })).completion.values;
    expect(await complete('')).toEqual([CMEK, CERTS]);
    expect(await complete('CERT')).toEqual([CERTS]);
    expect(await complete('encryption')).toEqual([CMEK, CERTS]);
    expect(await complete('zzz')).toEqual([]);
  });
});

describe('skills extension when the skills are broken', () => {
  it('a missing skills folder (CRDB_SKILLS_DIR) gives a clear error, and the server keeps answering', async () => {
    const missing = join(tempDir(), 'gone');
    const t = await startTestServer({ config: { skillsDir: missing } });
    try {
      const skills = new SkillsClient(t.client);
      await expect(skills.list()).rejects.toThrow(`Skills folder not found: ${missing}`);
      await expect(t.client.listResources()).rejects.toThrow(`Skills folder not found: ${missing}`);
      await expect(t.client.readResource({ uri: `skill://${CMEK}/SKILL.md` })).rejects.toThrow(/Skills folder not found/);
      await expect(t.client.readResource({ uri: `skill://${CMEK}` })).rejects.toThrow(/Skills folder not found/);
      expect((await t.client.listPrompts()).prompts.length).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('malformed frontmatter surfaces the file and the field', async () => {
    const dir = skillsFolder({ demo: { frontmatter: frontmatterWith('demo', 'compatibility', null) } });
    const t = await startTestServer({ deps: { skills: createSkillCatalog({ dir }) } });
    try {
      await expect(new SkillsClient(t.client).list()).rejects.toThrow(`${join(dir, 'demo', 'SKILL.md')}: frontmatter field "compatibility"`);
    } finally {
      await t.close();
    }
  });

  it('a skill with a file beside references/ lists and serves it too', async () => {
    const dir = skillsFolder({ demo: { references: { 'guide.md': '# Guide\n' } } });
    mkdirSync(join(dir, 'demo', 'scripts'));
    writeFileSync(join(dir, 'demo', 'scripts', 'check.sh'), 'echo ok\n');
    const t = await startTestServer({ deps: { skills: createSkillCatalog({ dir }) } });
    try {
      const skills = new SkillsClient(t.client);
      const [entry] = (await skills.list()).skills;
      expect((entry!.resources as Array<{ uri: string }>).map((resource) => resource.uri)).toEqual([
        'skill://demo/SKILL.md',
        'skill://demo/references/guide.md',
        'skill://demo/scripts/check.sh',
      ]);
      expect(await skills.read(entry!, 'scripts/check.sh')).toMatchObject({ text: 'echo ok\n', verified: true });
    } finally {
      await t.close();
    }
  });
});
