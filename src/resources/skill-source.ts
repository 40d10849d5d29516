/**
 * Our skill catalog as a source for the SDK's skills extension (SEP-2640): entries with the SDK's
 * `skillEntry` (frontmatter verbatim, every file with its sha256 digest and size), file reads and
 * directory reads answered from the same bytes the digests were computed over. Nothing is read
 * until a client asks.
 */
import { DIRECTORY_MIME_TYPE, skillEntry, type Skill as SkillEntry, type SkillSource } from '@modelcontextprotocol/server/ext/skills';
import { ResourceNotFoundError } from '@modelcontextprotocol/server';
import type { Skill, SkillCatalog } from '../skills/catalog.js';
import { SkillNotFoundError } from '../skills/errors.js';
import { skillFileUri, skillUri } from '../skills/uri.js';
import { toMcpError } from './errors.js';

/** MIME type of a skill file, by extension. */
export function mimeTypeOf(path: string): string {
  if (path.endsWith('.md')) return 'text/markdown';
  if (path.endsWith('.json')) return 'application/json';
  return 'text/plain';
}

/** The text of UTF-8 bytes, or undefined when they are not valid UTF-8 (then they are sent as a blob). */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The first Markdown H1 of a text, for a human-readable title. */
export function headingOf(markdown: string): string | undefined {
  return /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
}

/** A `skill://` URI split into the skill name and the `/`-separated path under its folder (`''` for the folder itself). */
export function parseSkillUri(uri: string): { name: string; path: string } | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'skill:' || !url.host || url.search || url.hash) return undefined;
  try {
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    return { name: decodeURIComponent(url.host), path: segments.join('/') };
  } catch {
    return undefined;
  }
}

/** URI order as the SDK sorts entries: by code unit, not by locale. */
function byUri(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What the source holds once the catalog is loaded: entries in URI order, and skills by name. */
interface Loaded {
  entries: SkillEntry[];
  skills: Map<string, Skill>;
}

async function loadEntries(catalog: SkillCatalog): Promise<Loaded> {
  const skills = await catalog.list();
  const entries = await Promise.all(skills.map((skill) => skillEntry(skill.name, Object.fromEntries(skill.files))));
  return { entries: entries.sort((a, b) => byUri(a.uri, b.uri)), skills: new Map(skills.map((skill) => [skill.name, skill])) };
}

/** Direct children of a folder of a skill: files with their size, sub-folders as directory resources. */
function childrenOf(skill: Skill, folder: string) {
  const prefix = folder ? `${folder}/` : '';
  const files = [...skill.files.entries()].filter(([path]) => path.startsWith(prefix));
  if (folder && files.length === 0) return undefined;
  const children = new Map<string, { uri: string; name: string; mimeType: string; size?: number }>();
  for (const [path, bytes] of files) {
    const [child, ...rest] = path.slice(prefix.length).split('/');
    const childPath = `${prefix}${child}`;
    if (rest.length) children.set(childPath, { uri: skillFileUri(skill.name, childPath), name: child!, mimeType: DIRECTORY_MIME_TYPE });
    else children.set(childPath, { uri: skillFileUri(skill.name, childPath), name: child!, mimeType: mimeTypeOf(path), size: bytes.byteLength });
  }
  return [...children.values()].sort((a, b) => byUri(a.uri, b.uri));
}

/**
 * The source the skills extension serves. Unknown skills and files are the protocol's
 * resource-not-found error with what does exist; a broken skills folder an internal error naming
 * the file and field.
 */
export function createSkillSource(catalog: SkillCatalog): SkillSource {
  let loading: Promise<Loaded> | undefined;
  const load = async (): Promise<Loaded> => {
    loading ??= loadEntries(catalog).catch((error: unknown) => {
      loading = undefined;
      throw toMcpError(error);
    });
    return loading;
  };
  return {
    list: async () => ({ skills: (await load()).entries }),
    async get(uri) {
      const parsed = parseSkillUri(uri);
      return (await load()).entries.find((entry) => parsed && entry.uri === skillUri(parsed.name) && parsed.path === 'SKILL.md');
    },
    async read(uri) {
      const parsed = parseSkillUri(uri);
      const { skills } = await load();
      const skill = parsed && skills.get(parsed.name);
      if (!parsed || !skill) {
        throw toMcpError(new SkillNotFoundError(`Unknown skill in ${uri}. Available skills: ${[...skills.keys()].join(', ')}.`), uri);
      }
      const bytes = skill.files.get(parsed.path);
      if (bytes === undefined) {
        if (childrenOf(skill, parsed.path))
          throw new ResourceNotFoundError(uri, `${uri} is a folder of skill '${skill.name}': read it with resources/directory/read.`);
        throw toMcpError(new SkillNotFoundError(`Skill '${skill.name}' has no file '${parsed.path}'. Its files: ${[...skill.files.keys()].join(', ')}.`), uri);
      }
      const mimeType = mimeTypeOf(parsed.path);
      const text = utf8(bytes);
      return text === undefined ? { bytes, mimeType: 'application/octet-stream' } : { text, mimeType };
    },
    async readDirectory(uri) {
      const parsed = parseSkillUri(uri);
      const skill = parsed && (await load()).skills.get(parsed.name);
      const resources = skill && childrenOf(skill, parsed.path);
      return resources && { resources };
    },
    async listResources() {
      return [...(await load()).skills.values()].map((skill) => ({
        uri: skillUri(skill.name),
        name: skill.frontmatter.name,
        title: headingOf(skill.body) ?? skill.name,
        description: skill.frontmatter.description,
        mimeType: 'text/markdown',
        size: skill.files.get('SKILL.md')!.byteLength,
      }));
    },
  };
}
