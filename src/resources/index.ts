/**
 * The agent skills as MCP resources: `skill://{name}` (SKILL.md) and
 * `skill://{name}/references/{file}`. Both templates are listable, readable and complete their
 * variables. The skills are read on the first request, not at start-up.
 */
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, ResourceTemplate, type McpServer, type ReadResourceResult } from '@modelcontextprotocol/server';
import type { Deps } from '../deps.js';
import type { SkillCatalog } from '../skills/catalog.js';
import { SkillError, SkillNotFoundError } from '../skills/errors.js';
import { referenceUri, skillUri } from '../skills/uri.js';

/** What a resource template offers, independent of a server (also read by the README generator). */
export interface ResourceTemplateDef {
  name: string;
  uriTemplate: string;
  title: string;
  description: string;
  mimeType: string;
}

export const SKILL_TEMPLATE: ResourceTemplateDef = {
  name: 'skill',
  uriTemplate: 'skill://{name}',
  title: 'Agent skill',
  description: "A skill's SKILL.md: when to use it, how to gather context, the procedures naming this server's tools in order, and corrections to common guidance.",
  mimeType: 'text/markdown',
};

export const SKILL_REFERENCE_TEMPLATE: ResourceTemplateDef = {
  name: 'skill-reference',
  uriTemplate: 'skill://{name}/references/{file}',
  title: 'Skill reference',
  description: 'A reference file of a skill: per-provider CMEK procedures, rotation, revocation, certificate rotation (incl. Kubernetes), safety guide with risk matrix.',
  mimeType: 'text/markdown',
};

/** Every resource template this server registers, in order. */
export const RESOURCE_TEMPLATES: readonly ResourceTemplateDef[] = [SKILL_TEMPLATE, SKILL_REFERENCE_TEMPLATE];

function mimeTypeOf(file: string): string {
  return file.endsWith('.md') ? 'text/markdown' : 'text/plain';
}

/** The first Markdown H1 of a text, for a human-readable title. */
export function headingOf(markdown: string): string | undefined {
  return /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
}

function variable(value: string | string[] | undefined): string {
  const raw = (Array.isArray(value) ? value[0] : value) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function startsWith(prefix: string) {
  const wanted = prefix.toLowerCase();
  return (candidate: string) => candidate.toLowerCase().startsWith(wanted);
}

/**
 * Turns catalog failures into protocol errors the client can show; with the URI a read asked for,
 * a missing skill or file is the protocol's resource-not-found error (-32602, the URI in `data`).
 */
export function toMcpError(error: unknown, uri?: string): unknown {
  if (error instanceof SkillNotFoundError) return uri ? new ResourceNotFoundError(uri, error.message) : new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
  if (error instanceof SkillError) return new ProtocolError(ProtocolErrorCode.InternalError, error.message);
  return error;
}

async function guarded<T>(run: () => Promise<T>, uri?: string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toMcpError(error, uri);
  }
}

async function completeOrEmpty(run: () => Promise<string[]>): Promise<string[]> {
  return run().catch(() => []);
}

function metadataOf(def: ResourceTemplateDef) {
  return { title: def.title, description: def.description, mimeType: def.mimeType };
}

function textResult(uri: string, mimeType: string, text: string): ReadResourceResult {
  return { contents: [{ uri, mimeType, text }] };
}

function registerSkillTemplate(server: McpServer, skills: SkillCatalog): void {
  const template = new ResourceTemplate(SKILL_TEMPLATE.uriTemplate, {
    list: () =>
      guarded(async () => ({
        resources: (await skills.list()).map((skill) => ({
          uri: skillUri(skill.name),
          name: skill.name,
          title: headingOf(skill.body) ?? skill.name,
          description: skill.frontmatter.description,
          mimeType: SKILL_TEMPLATE.mimeType,
        })),
      })),
    complete: { name: (value) => completeOrEmpty(async () => (await skills.names()).filter(startsWith(value))) },
  });
  server.registerResource(SKILL_TEMPLATE.name, template, metadataOf(SKILL_TEMPLATE), (uri, variables) =>
    guarded(async () => {
      const skill = await skills.get(variable(variables.name));
      return textResult(uri.href, SKILL_TEMPLATE.mimeType, skill.markdown);
    }, uri.href),
  );
}

function registerReferenceTemplate(server: McpServer, skills: SkillCatalog): void {
  const template = new ResourceTemplate(SKILL_REFERENCE_TEMPLATE.uriTemplate, {
    list: () =>
      guarded(async () => {
        const resources = [];
        for (const skill of await skills.list()) {
          for (const file of skill.references) {
            const text = await skills.readReference(skill.name, file);
            resources.push({
              uri: referenceUri(skill.name, file),
              name: `${skill.name}/${file}`,
              title: headingOf(text) ?? file,
              mimeType: mimeTypeOf(file),
            });
          }
        }
        return { resources };
      }),
    complete: {
      name: (value) => completeOrEmpty(async () => (await skills.names()).filter(startsWith(value))),
      file: (value, context) =>
        completeOrEmpty(async () => {
          const skillName = context?.arguments?.name;
          const names = skillName ? [skillName] : await skills.names();
          const files = new Set<string>();
          for (const name of names) for (const file of (await skills.get(name)).references) files.add(file);
          return [...files].filter(startsWith(value)).sort();
        }),
    },
  });
  server.registerResource(SKILL_REFERENCE_TEMPLATE.name, template, metadataOf(SKILL_REFERENCE_TEMPLATE), (uri, variables) =>
    guarded(async () => {
      const file = variable(variables.file);
      return textResult(uri.href, mimeTypeOf(file), await skills.readReference(variable(variables.name), file));
    }, uri.href),
  );
}

/** Registers the skill resources on one server. */
export function registerResources(server: McpServer, deps: Deps): void {
  registerSkillTemplate(server, deps.skills);
  registerReferenceTemplate(server, deps.skills);
}
