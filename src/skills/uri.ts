/**
 * The resource URIs of skills (skills extension, SEP-2640: `skill://<name>/<path>`), shared by the
 * resources and the prompts that point at them.
 */

/** URI of one file of a skill, `path` being `/`-separated under the skill folder. */
export function skillFileUri(name: string, path: string): string {
  return `skill://${name}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** URI of a skill's SKILL.md. */
export function skillUri(name: string): string {
  return skillFileUri(name, 'SKILL.md');
}

/** URI of one reference file of a skill. */
export function referenceUri(name: string, file: string): string {
  return skillFileUri(name, `references/${file}`);
}

/** The pre-extension URI of a SKILL.md (`skill://<name>`), still readable for one release. */
export function legacySkillUri(name: string): string {
  return `skill://${name}`;
}
