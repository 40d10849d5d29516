/**
 * The agent skills over the official skills extension (`io.modelcontextprotocol/skills`,
 * SEP-2640), served by the SDK's `SkillsExtension` from our catalog: `skills/list`, `skills/get`,
 * `resources/directory/read`, and every file at `skill://<name>/<path>` (`SKILL.md`,
 * `references/<file>`). The pre-extension URI of a SKILL.md, `skill://<name>`, stays readable
 * (with name completion) for one release.
 */
import { ResourceTemplate, type CacheHint, type McpServer } from '@modelcontextprotocol/server';
import { SKILLS_EXTENSION_ID, SkillsExtension } from '@modelcontextprotocol/server/ext/skills';
import type { Deps } from '../deps.js';
import type { SkillCatalog } from '../skills/catalog.js';
import { toMcpError } from './errors.js';
import { createSkillSource } from './skill-source.js';

export { toMcpError } from './errors.js';
export { headingOf } from './skill-source.js';

/** What a resource template offers, independent of a server (also read by the README generator). */
export interface ResourceTemplateDef {
  name: string;
  uriTemplate: string;
  title: string;
  description: string;
  mimeType: string;
}

/** The deprecated alias `skill://<name>` of `skill://<name>/SKILL.md`. */
export const LEGACY_SKILL_TEMPLATE: ResourceTemplateDef = {
  name: 'skill',
  uriTemplate: 'skill://{name}',
  title: 'Agent skill (deprecated URI)',
  description: "A skill's SKILL.md under its pre-extension URI; read skill://{name}/SKILL.md instead. Served for one more release.",
  mimeType: 'text/markdown',
};

/** The skills extension's template: every file of every skill. */
export const SKILL_FILE_TEMPLATE: ResourceTemplateDef = {
  name: SKILLS_EXTENSION_ID,
  uriTemplate: 'skill://{+path}',
  title: 'Agent skill file',
  description:
    "A file of a skill (skills extension): skill://{name}/SKILL.md (when to use it, how to gather context, the procedures naming this server's tools in order, corrections to common guidance) and skill://{name}/references/{file} (per-provider CMEK procedures, rotation, revocation, certificate rotation incl. Kubernetes, safety guides).",
  mimeType: 'text/markdown',
};

/** Every resource template this server registers, in order. */
export const RESOURCE_TEMPLATES: readonly ResourceTemplateDef[] = [LEGACY_SKILL_TEMPLATE, SKILL_FILE_TEMPLATE];

/** Skill files change only with a release (or a restart with another CRDB_SKILLS_DIR). */
const SKILLS_CACHE_HINT: CacheHint = { ttlMs: 60 * 60_000, cacheScope: 'public' };

/** One extension per catalog, shared by every server built on the same dependencies. */
const extensions = new WeakMap<SkillCatalog, SkillsExtension>();

function extensionFor(skills: SkillCatalog): SkillsExtension {
  let extension = extensions.get(skills);
  if (!extension) {
    extension = new SkillsExtension({ source: createSkillSource(skills), cacheHint: SKILLS_CACHE_HINT });
    extensions.set(skills, extension);
  }
  return extension;
}

function nameOf(value: string | string[] | undefined): string {
  const raw = (Array.isArray(value) ? value[0] : value) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Registered before the extension, whose `skill://{+path}` would otherwise answer `skill://<name>` too. */
function registerLegacySkillTemplate(server: McpServer, skills: SkillCatalog): void {
  const template = new ResourceTemplate(LEGACY_SKILL_TEMPLATE.uriTemplate, {
    list: undefined,
    complete: {
      name: async (value) => {
        const wanted = value.toLowerCase();
        return (await skills.names().catch(() => [])).filter((name) => name.includes(wanted));
      },
    },
  });
  const { title, description, mimeType } = LEGACY_SKILL_TEMPLATE;
  server.registerResource(LEGACY_SKILL_TEMPLATE.name, template, { title, description, mimeType }, async (uri, variables) => {
    try {
      return { contents: [{ uri: uri.href, mimeType, text: (await skills.get(nameOf(variables.name))).markdown }] };
    } catch (error) {
      throw toMcpError(error, uri.href);
    }
  });
}

/** Registers the skills (extension and deprecated alias) on one server, before it connects. */
export function registerResources(server: McpServer, deps: Deps): void {
  registerLegacySkillTemplate(server, deps.skills);
  extensionFor(deps.skills).attach(server);
}
