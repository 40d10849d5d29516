/**
 * What a prompt produces before it becomes MCP messages: the instruction text and the skill
 * files to embed next to it. No MCP types here.
 */
import { referenceUri, skillUri } from '../skills/uri.js';

export const CMEK_SKILL = 'enabling-cmek-encryption';
export const CERTS_SKILL = 'managing-certificates-and-encryption';

/** A skill (its SKILL.md) or one of its reference files. */
export interface SkillRef {
  skill: string;
  file?: string;
}

export interface PromptPlan {
  text: string;
  /** Skill files embedded as resources after the text, in order. */
  embed: SkillRef[];
}

/** The resource URI of a skill or one of its references. */
export function refUri(ref: SkillRef): string {
  return ref.file ? referenceUri(ref.skill, ref.file) : skillUri(ref.skill);
}

/** A tool call as guidance writes it, on one line: `tool_name {json arguments}` (a test validates each). */
export function call(tool: string, args: Record<string, unknown> = {}): string {
  return `\`${tool} ${JSON.stringify(args)}\``;
}

/** Numbered Markdown steps. */
export function steps(items: string[]): string {
  return items.map((item, index) => `${index + 1}. ${item}`).join('\n');
}

/** A bulleted list. */
export function bullets(items: string[]): string {
  return items.map((item) => `- ${item}`).join('\n');
}

/** Joins non-empty sections with blank lines. */
export function sections(...parts: Array<string | undefined | false>): string {
  return parts.filter((part): part is string => Boolean(part)).join('\n\n');
}
