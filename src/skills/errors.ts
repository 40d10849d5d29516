/** Skill errors, kept apart from the loader so the resources module can name them without loading it. */

/** A problem with the skills folder or one skill's files. `field` names the frontmatter field, when one is at fault. */
export class SkillError extends Error {
  override name = 'SkillError';
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A request for a skill or reference that does not exist; the message lists what does. */
export class SkillNotFoundError extends Error {
  override name = 'SkillNotFoundError';
}
