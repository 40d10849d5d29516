/**
 * The skill catalog: reads the agent skills (skills/<name>/SKILL.md, references/ and any other
 * file of the skill folder) on first request and caches their bytes, so every file served matches
 * the digest published for it. Nothing is read at start-up. Works from the sources (tests) and from the
 * bundled dist/ alike, by walking up to this package's root.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SkillError, SkillNotFoundError } from './errors.js';
import { loadMatter, parseSkillFile, type MatterParse, type SkillFrontmatter } from './frontmatter.js';

export { SkillError } from './errors.js';
export type { SkillFrontmatter } from './frontmatter.js';

/** The npm package name the skills folder ships with. */
export const PACKAGE_NAME = 'crdb-encryption-mcp';

/** One loaded skill. */
export interface Skill {
  name: string;
  frontmatter: SkillFrontmatter;
  /** SKILL.md exactly as written, frontmatter included. */
  markdown: string;
  /** SKILL.md without its frontmatter. */
  body: string;
  /** Absolute path of SKILL.md. */
  path: string;
  /** File names under references/, sorted. */
  references: string[];
  /**
   * Every file of the skill folder (hidden ones excepted), keyed by its `/`-separated path under
   * the folder (`SKILL.md`, `references/aws.md`), in path order: the bytes exactly as on disk.
   */
  files: ReadonlyMap<string, Uint8Array>;
}

/** Read access to the agent skills. Every method loads the catalog on first use. */
export interface SkillCatalog {
  /** Every skill, sorted by name. */
  list(): Promise<Skill[]>;
  /** Skill names, sorted (for completion). */
  names(): Promise<string[]>;
  /** One skill; throws SkillNotFoundError when there is none by that name. */
  get(name: string): Promise<Skill>;
  /** Text of skills/<name>/references/<file>; throws SkillNotFoundError for an unknown skill or file. */
  readReference(name: string, file: string): Promise<string>;
  /** The folder the skills are read from. */
  directory(): Promise<string>;
}

export { SkillNotFoundError } from './errors.js';

export interface SkillCatalogOptions {
  /** Read skills from here instead of the package's skills/ folder. */
  dir?: string;
  /** Where to start looking for the package root (defaults to this module's location). */
  from?: string;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Walks up from `start` to the directory whose package.json is this package's. */
export async function findPackageRoot(start: string): Promise<string | undefined> {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (await isFile(manifest)) {
      const name = await readFile(manifest, 'utf8').then(
        (text) => (JSON.parse(text) as { name?: unknown }).name,
        () => undefined,
      );
      if (name === PACKAGE_NAME) return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

async function resolveSkillsDir(options: SkillCatalogOptions): Promise<string> {
  if (options.dir) return options.dir;
  const start = options.from ?? dirname(fileURLToPath(import.meta.url));
  const root = await findPackageRoot(start);
  if (!root) {
    throw new SkillError(
      `Cannot find the skills folder: no package.json named ${PACKAGE_NAME} above ${start}. Reinstall the package, or set CRDB_SKILLS_DIR to the skills folder.`,
      start,
    );
  }
  return join(root, 'skills');
}

interface LoadedCatalog {
  dir: string;
  skills: Map<string, Skill>;
}

/** Visible sub-folders and files of a directory, sorted. */
export async function listDirectory(dir: string): Promise<{ dirs: string[]; files: string[] }> {
  const entries = await readdir(dir, { withFileTypes: true });
  const visible = entries.filter((entry) => !entry.name.startsWith('.'));
  return {
    dirs: visible
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort(),
    files: visible
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort(),
  };
}

/** Every visible file under `dir`, as `/`-separated paths relative to `under`, sorted. */
async function filesUnder(dir: string, under = ''): Promise<string[]> {
  const { dirs, files } = await listDirectory(dir);
  const paths = files.map((file) => under + file);
  for (const sub of dirs) paths.push(...(await filesUnder(join(dir, sub), `${under}${sub}/`)));
  return paths.sort();
}

/** The text of a skill file (UTF-8). */
export function fileText(skill: Skill, path: string): string | undefined {
  const bytes = skill.files.get(path);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

/** Reads and validates one skill folder. Throws SkillError naming the file and field at fault. */
export async function loadSkillFolder(dir: string, folder: string, matter: MatterParse): Promise<Skill> {
  const path = join(dir, folder, 'SKILL.md');
  if (!(await isFile(path))) throw new SkillError(`${join(dir, folder)}: skill folder has no SKILL.md`, path);
  const files = new Map<string, Uint8Array>();
  for (const file of await filesUnder(join(dir, folder))) files.set(file, await readFile(join(dir, folder, file)));
  const markdown = Buffer.from(files.get('SKILL.md')!).toString('utf8');
  const { frontmatter, body } = parseSkillFile(markdown, path, matter);
  if (frontmatter.name !== folder) {
    throw new SkillError(`${path}: frontmatter field "name": "${frontmatter.name}" must match its folder name "${folder}"`, path, 'name');
  }
  const references = [...files.keys()].filter((file) => /^references\/[^/]+$/.test(file)).map((file) => file.slice('references/'.length));
  return { name: folder, frontmatter, markdown, body, path, references, files };
}

async function loadCatalog(options: SkillCatalogOptions): Promise<LoadedCatalog> {
  const dir = await resolveSkillsDir(options);
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new SkillError(`Skills folder not found: ${dir}. Reinstall the package (it ships skills/), or set CRDB_SKILLS_DIR to a folder of skills.`, dir);
  }
  const matter = await loadMatter();
  const skills = new Map<string, Skill>();
  for (const folder of (await listDirectory(dir)).dirs) skills.set(folder, await loadSkillFolder(dir, folder, matter));
  if (skills.size === 0) throw new SkillError(`Skills folder ${dir} contains no skills (expected <name>/SKILL.md).`, dir);
  return { dir, skills };
}

/**
 * Creates a catalog. It reads nothing until first asked; a successful load is cached for the life
 * of the process, a failed one is retried on the next request (so a fixed file is picked up).
 */
export function createSkillCatalog(options: SkillCatalogOptions = {}): SkillCatalog {
  let loading: Promise<LoadedCatalog> | undefined;
  const load = () => {
    loading ??= loadCatalog(options).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
  const get = async (name: string): Promise<Skill> => {
    const { skills } = await load();
    const skill = skills.get(name);
    if (!skill) throw new SkillNotFoundError(`Unknown skill '${name}'. Available skills: ${[...skills.keys()].join(', ')}.`);
    return skill;
  };
  return {
    list: async () => [...(await load()).skills.values()],
    names: async () => [...(await load()).skills.keys()],
    get,
    async readReference(name, file) {
      const skill = await get(name);
      const text = skill.references.includes(file) ? fileText(skill, `references/${file}`) : undefined;
      if (text === undefined) {
        throw new SkillNotFoundError(`Skill '${name}' has no reference '${file}'. Available: ${skill.references.join(', ') || 'none'}.`);
      }
      return text;
    },
    directory: async () => (await load()).dir,
  };
}
