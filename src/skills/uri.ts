/** The resource URIs of skills, shared by the resources and the prompts that point at them. */

/** URI of a skill's SKILL.md. */
export function skillUri(name: string): string {
  return `skill://${name}`;
}

/** URI of one reference file of a skill. */
export function referenceUri(name: string, file: string): string {
  return `skill://${name}/references/${file}`;
}
