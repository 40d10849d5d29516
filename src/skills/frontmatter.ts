/**
 * The SKILL.md frontmatter contract (Agent Skills format) and its parser: gray-matter reads the
 * YAML, zod checks it, and any problem names the file and the field.
 */
import { z } from 'zod';
import { SkillError } from './errors.js';

export { SkillError } from './errors.js';

const NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Frontmatter every SKILL.md must carry. Unknown top-level keys are rejected, so typos fail loudly. */
export const skillFrontmatterSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(64, 'at most 64 characters')
      .regex(NAME_PATTERN, 'lowercase letters, digits and single hyphens only, e.g. enabling-cmek-encryption'),
    description: z.string().trim().min(1, 'must say what the skill does and when to use it').max(1024, 'at most 1024 characters'),
    compatibility: z.string().trim().min(1).max(500, 'at most 500 characters'),
    metadata: z.object({ author: z.string().min(1), version: z.string().min(1) }).catchall(z.string()),
    license: z.string().min(1).optional(),
    'allowed-tools': z.string().min(1).optional(),
  })
  .strict();

export type SkillFrontmatter = z.infer<typeof skillFrontmatterSchema>;

/** gray-matter's parse function (imported lazily: nothing is read at start-up). */
export type MatterParse = (text: string) => { data: Record<string, unknown>; content: string };

/** Loads gray-matter on first use. */
export async function loadMatter(): Promise<MatterParse> {
  const { default: matter } = await import('gray-matter');
  // An options object disables gray-matter's content-keyed cache, which would share parsed objects.
  return (text) => {
    const parsed = matter(text, {});
    return { data: parsed.data as Record<string, unknown>, content: parsed.content };
  };
}

function fieldOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return issue.keys.join(', ');
  return issue.path.length ? issue.path.join('.') : '(frontmatter)';
}

/** Parses and validates one SKILL.md. Throws SkillError naming the file and the first bad field. */
export function parseSkillFile(text: string, file: string, matter: MatterParse): { frontmatter: SkillFrontmatter; body: string } {
  if (!/^---\r?\n/.test(text)) {
    throw new SkillError(`${file}: missing YAML frontmatter (the file must start with a '---' line)`, file, '(frontmatter)');
  }
  let parsed: ReturnType<MatterParse>;
  try {
    parsed = matter(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new SkillError(`${file}: frontmatter is not valid YAML: ${reason}`, file, '(frontmatter)');
  }
  const result = skillFrontmatterSchema.safeParse(parsed.data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = fieldOf(issue);
    const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
    throw new SkillError(`${file}: frontmatter field "${field}": ${message}`, file, field);
  }
  return { frontmatter: result.data, body: parsed.content };
}
